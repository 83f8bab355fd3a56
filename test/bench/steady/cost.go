package steady

import (
	"fmt"
	"strings"
	"time"
)

// Result is what one check costs per call: the median CPU (user+system) of
// its process and children, and the mean CPU the service it asked used
// per call (0 when nothing is asked or nothing is measured).
type Result struct {
	CPU, Service time.Duration
	Runs         int
}

// Total is the CPU a call costs the node: the check's and the service's.
func (r Result) Total() time.Duration { return r.CPU + r.Service }

// PerHour is what a cost per call comes to in an hour of calls every
// interval.
func PerHour(perCall, interval time.Duration) time.Duration {
	if interval <= 0 {
		return 0
	}
	return time.Duration(float64(perCall) * float64(time.Hour) / float64(interval))
}

// Sum is an agent set's CPU per hour: of its checks, and of the services
// they asked.
type Sum struct{ Checks, Services time.Duration }

// Total is checks and services together.
func (s Sum) Total() time.Duration { return s.Checks + s.Services }

// Totals adds up each set's CPU per hour over the rows.
func Totals(rows []Row, res map[string]Result) (ours, old Sum, err error) {
	for _, r := range rows {
		o, ok1 := res[r.Ours]
		p, ok2 := res[r.Old]
		if !ok1 || !ok2 {
			return Sum{}, Sum{}, fmt.Errorf("%s: no result for %s or %s", r.Primitive, r.Ours, r.Old)
		}
		ours.Checks += PerHour(o.CPU, r.Interval)
		ours.Services += PerHour(o.Service, r.Interval)
		old.Checks += PerHour(p.CPU, r.Interval)
		old.Services += PerHour(p.Service, r.Interval)
	}
	return ours, old, nil
}

// Ratio is how many times a costs b, as text ("-" when b is 0).
func Ratio(a, b time.Duration) string {
	if b <= 0 {
		return "-"
	}
	return fmt.Sprintf("%.1fx", float64(a)/float64(b))
}

func msCell(d time.Duration) string {
	return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond))
}

func perHourCell(d time.Duration) string { return fmt.Sprintf("%.2f s", d.Seconds()) }

// callCell is a check's CPU per call, with the service's when it has one.
func callCell(r Result, asks bool) string {
	if !asks {
		return msCell(r.CPU)
	}
	return msCell(r.CPU) + " + " + msCell(r.Service)
}

// Labels describe the checks in the table.
var Labels = map[string]string{
	OldIPaddr2:    "IPaddr2 monitor",
	OldInitStatus: "init script status (`kill -0 $(cat pidfile)` in sh)",
	OldTokenIssue: "`openstack token issue`",
}

// label describes the check key measures for row r.
func label(key string, r Row) string {
	if l, ok := Labels[key]; ok {
		return l
	}
	agent, depth := splitKey(strings.TrimPrefix(key, "api:"))
	l := "stackha " + agent + " monitor"
	if depth != 0 {
		l += fmt.Sprintf(", depth %d", depth)
	}
	switch {
	case r.StoodIn == "":
	case agent == r.Agent:
		l += ", on a " + r.StoodIn + " service (no " + r.Agent + " here)"
	default:
		l += " in its place (no " + r.Agent + " here)"
	}
	return l
}

// asksService tells the checks that talk to a service whose CPU is counted.
func asksService(key string) bool {
	return key == OldTokenIssue || strings.HasPrefix(key, "api:")
}

// Table writes the markdown table: a row per monitor, then each set's
// total per hour, agents alone and with the services they asked.
func Table(rows []Row, res map[string]Result) (string, error) {
	ours, old, err := Totals(rows, res)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	b.WriteString("| monitor | every | stackha check | CPU/call (check + service) | replaced check | CPU/call (check + service) | stackha CPU/hour | replaced CPU/hour | replaced / stackha |\n")
	b.WriteString("|---|---:|---|---:|---|---:|---:|---:|---:|\n")
	for _, r := range rows {
		o, p := res[r.Ours], res[r.Old]
		name := r.Primitive
		if r.Depth != 0 {
			name += fmt.Sprintf(" (depth %d)", r.Depth)
		}
		oh, ph := PerHour(o.Total(), r.Interval), PerHour(p.Total(), r.Interval)
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", name, r.Interval,
			label(r.Ours, r), callCell(o, asksService(r.Ours)), label(r.Old, r), callCell(p, asksService(r.Old)),
			perHourCell(oh), perHourCell(ph), Ratio(ph, oh))
	}
	fmt.Fprintf(&b, "| **total, checks only** | | | | | | **%s** | **%s** | **%s** |\n",
		perHourCell(ours.Checks), perHourCell(old.Checks), Ratio(old.Checks, ours.Checks))
	fmt.Fprintf(&b, "| **total, checks + services** | | | | | | **%s** | **%s** | **%s** |\n",
		perHourCell(ours.Total()), perHourCell(old.Total()), Ratio(old.Total(), ours.Total()))
	fmt.Fprintf(&b, "\nOne core for an hour is 3600 s: stackha's monitors take %.3f%% of a core, the replaced agents' %.3f%% (checks + services).\n",
		100*ours.Total().Seconds()/3600, 100*old.Total().Seconds()/3600)
	return b.String(), nil
}
