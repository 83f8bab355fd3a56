package steady

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// Check keys of the agents stackha replaces.
const (
	OldIPaddr2    = "IPaddr2"     // ocf:heartbeat:IPaddr2 monitor
	OldInitStatus = "init-status" // haproxy's init script status: kill -0 $(cat pidfile) in sh
	OldTokenIssue = "token-issue" // the old openstack-resource-agents' monitor: openstack token issue
	StandIn       = "keystone"    // measures an API agent that has no local service
	agentVIP      = "vip"
	agentHAProxy  = "haproxy"
)

// Row is one monitor of the node and the checks that measure it: Ours is
// the stackha check's key, Old the replaced agent's, StoodIn the service
// that stood in for one that cannot run here ("" when none). When Ours
// names the row's own agent, that agent's code ran against StoodIn's
// service; else StandIn's whole monitor was measured in its place.
type Row struct {
	Monitor
	Ours, Old string
	StoodIn   string
}

// Plan maps every monitor to the checks that measure it. host says which
// service an API agent's own monitor runs against here: "" or the agent's
// name for its own service, another name for a service standing in; ok
// false when the agent cannot run here, and StandIn's monitor is measured
// instead.
func Plan(ms []Monitor, host func(agent string) (service string, ok bool)) []Row {
	var rows []Row
	for _, m := range ms {
		r := Row{Monitor: m}
		switch m.Agent {
		case agentVIP:
			r.Ours, r.Old = m.Key(), OldIPaddr2
		case agentHAProxy:
			r.Ours, r.Old = m.Key(), OldInitStatus
		default:
			r.Old = OldTokenIssue
			sub := m
			if svc, ok := host(m.Agent); !ok {
				sub.Agent, r.StoodIn = StandIn, StandIn
			} else if svc != m.Agent {
				r.StoodIn = svc
			}
			r.Ours = "api:" + sub.Key()
		}
		rows = append(rows, r)
	}
	return rows
}

// Checks lists the distinct checks the rows need, sorted.
func Checks(rows []Row) []string {
	seen := map[string]bool{}
	var out []string
	for _, r := range rows {
		for _, k := range []string{r.Ours, r.Old} {
			if !seen[k] {
				seen[k] = true
				out = append(out, k)
			}
		}
	}
	sort.Strings(out)
	return out
}

// APIAgents lists the API agents the monitors name (neither vip nor
// haproxy), without repeats, in order.
func APIAgents(ms []Monitor) []string {
	seen := map[string]bool{}
	var out []string
	for _, m := range ms {
		if m.Agent == agentVIP || m.Agent == agentHAProxy || seen[m.Agent] {
			continue
		}
		seen[m.Agent] = true
		out = append(out, m.Agent)
	}
	return out
}

// Interval of the first row whose check is key (the interval the check is
// run with), or an error when no row needs it.
func Interval(rows []Row, key string) (Monitor, error) {
	for _, r := range rows {
		if r.Ours == key || r.Old == key {
			return r.Monitor, nil
		}
	}
	return Monitor{}, fmt.Errorf("no monitor needs the check %s", key)
}

// splitKey reads a check key "agent" or "agent/depth".
func splitKey(key string) (string, int) {
	a, d, ok := strings.Cut(key, "/")
	if !ok {
		return a, 0
	}
	n, _ := strconv.Atoi(d)
	return a, n
}
