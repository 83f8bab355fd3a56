// Package steady measures what watching one node costs: the CPU per hour
// of every recurring monitor of one node of a rendered cluster (the VIP's
// node), for stackha's agents and for the agents they replace, at the same
// intervals. The monitors and their intervals come from the rendered
// cluster.crm; each monitor's CPU per call is measured by exec'ing the
// check as Pacemaker does, a process per call. `make bench-steady` runs it.
package steady

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Monitor is one recurring `op monitor` of a primitive in a cluster.crm.
type Monitor struct {
	Primitive string        // the primitive's id, e.g. api-vip
	Agent     string        // the agent's type, e.g. vip (from ocf:stackha:vip)
	Interval  time.Duration // how often Pacemaker runs it
	Timeout   time.Duration // 0 when not given
	Depth     int           // OCF_CHECK_LEVEL, 0 when not given
	DepthSet  bool          // OCF_CHECK_LEVEL given (Pacemaker passes it on)
}

// Key names the check a monitor runs: the agent, and its depth when not 0.
func (m Monitor) Key() string {
	if m.Depth == 0 {
		return m.Agent
	}
	return fmt.Sprintf("%s/%d", m.Agent, m.Depth)
}

// statements joins crmsh's backslash-continued lines and drops comments
// and blank lines.
func statements(text string) []string {
	var out []string
	var cur strings.Builder
	for _, line := range strings.Split(text, "\n") {
		t := strings.TrimSpace(line)
		if cur.Len() == 0 && (t == "" || strings.HasPrefix(t, "#")) {
			continue
		}
		cont := strings.HasSuffix(t, "\\")
		t = strings.TrimSpace(strings.TrimSuffix(t, "\\"))
		if cur.Len() > 0 && t != "" {
			cur.WriteByte(' ')
		}
		cur.WriteString(t)
		if !cont {
			out = append(out, cur.String())
			cur.Reset()
		}
	}
	if cur.Len() > 0 {
		out = append(out, cur.String())
	}
	return out
}

// ParseCRM lists the recurring monitors (interval above 0) of every
// primitive of the given provider (e.g. "stackha") in a crmsh
// configuration, in the file's order.
func ParseCRM(text, provider string) ([]Monitor, error) {
	var out []Monitor
	for _, st := range statements(text) {
		f := strings.Fields(st)
		if len(f) < 3 || f[0] != "primitive" {
			continue
		}
		class := strings.Split(f[2], ":")
		if len(class) != 3 || class[0] != "ocf" || class[1] != provider {
			continue
		}
		for i := 3; i < len(f); i++ {
			if f[i] != "op" || i+1 >= len(f) || f[i+1] != "monitor" {
				continue
			}
			m := Monitor{Primitive: f[1], Agent: class[2]}
			for j := i + 2; j < len(f) && f[j] != "op" && f[j] != "params" && f[j] != "meta"; j++ {
				k, v, ok := strings.Cut(f[j], "=")
				if !ok {
					continue
				}
				var err error
				switch k {
				case "interval":
					m.Interval, err = ParseInterval(v)
				case "timeout":
					m.Timeout, err = ParseInterval(v)
				case "OCF_CHECK_LEVEL":
					m.Depth, err = strconv.Atoi(v)
					m.DepthSet = true
					if err == nil && (m.Depth < 0 || m.Depth > 100) {
						err = fmt.Errorf("out of range")
					}
				}
				if err != nil {
					return nil, fmt.Errorf("primitive %s: op monitor %s: %w", m.Primitive, f[j], err)
				}
			}
			if m.Interval > 0 {
				out = append(out, m)
			}
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no recurring monitor of an ocf:%s agent found", provider)
	}
	return out, nil
}

// ParseInterval reads a Pacemaker interval: a whole number with an optional
// unit (ms, msec, s, sec, m, min, h, hr); no unit means seconds. It is
// bounded to a day.
func ParseInterval(v string) (time.Duration, error) {
	i := strings.IndexFunc(v, func(r rune) bool { return r < '0' || r > '9' })
	num, unit := v, ""
	if i >= 0 {
		num, unit = v[:i], v[i:]
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || num == "" {
		return 0, fmt.Errorf("interval %q: not a whole number with a unit", v)
	}
	units := map[string]time.Duration{"": time.Second, "s": time.Second, "sec": time.Second,
		"ms": time.Millisecond, "msec": time.Millisecond, "m": time.Minute, "min": time.Minute,
		"h": time.Hour, "hr": time.Hour}
	u, ok := units[unit]
	if !ok {
		return 0, fmt.Errorf("interval %q: unknown unit %q", v, unit)
	}
	if n > int64(24*time.Hour/u) {
		return 0, fmt.Errorf("interval %q: more than a day", v)
	}
	return time.Duration(n) * u, nil
}
