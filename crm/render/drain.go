package render

import (
	"fmt"
	"path"
	"strings"
	"time"
)

// Drain before stop: each API agent that can (its service has oslo's
// healthcheck with a disable file) drains its service before it stops it;
// haproxy checks those services at /healthcheck, which answers 503 while
// the agent's disable file exists, so every node's haproxy takes the
// server out before the service stops.
const (
	paramDrainTimeout = "drain_timeout"
	paramDrainFile    = "drain_file"
	paramDrainChecks  = "drain_checks"
	// paramDrainAgentPort: a service without the healthcheck is drained
	// through haproxy's agent-check instead, which asks its agent's drain
	// agent on this port of each node.
	paramDrainAgentPort = "drain_agent_port"
	// defaultDrain is how long a stop waits for the requests a service
	// holds after haproxy took it out: the API's ordinary calls finish in
	// seconds; a longer one (an image upload) is cut.
	defaultDrain = Duration(20 * time.Second)
	maxDrain     = Duration(10 * time.Minute) // the agents' range
	// stopBeyondDrain is what the stop operation's timeout keeps beyond
	// the drain: the agent leaves 10s of it for the stop itself, which the
	// unit's own stop may need more of.
	stopBeyondDrain = 40 * time.Second
	// drainDropIn is render's file in a service's .conf.d directory.
	drainDropIn = "50-stackha-drain.conf"
)

// drain resolves a service's drain_timeout (f is its place in the file).
func (x *resolver) drain(f string, s Service, rs *resolvedService) {
	if rs.service.DrainFile == "" {
		rs.agentPort = rs.service.DrainAgentPort
		if s.DrainAgentPort != 0 {
			rs.agentPort = s.DrainAgentPort
			x.between(f+".drain_agent_port", s.DrainAgentPort, 1, 65535)
		}
	} else if s.DrainAgentPort != 0 {
		x.bad.add(f+".drain_agent_port", "%s has oslo's healthcheck: it is drained through it (leave drain_agent_port out)", rs.name)
	}
	can := rs.service.DrainFile != "" || rs.agentPort != 0
	switch {
	case s.DrainTimeout == nil && can:
		rs.drain = defaultDrain
	case s.DrainTimeout == nil:
	case *s.DrainTimeout != 0 && !can:
		x.bad.add(f+".drain_timeout", "%s has no healthcheck haproxy could be told with: it cannot be drained (set 0 or leave it out)", rs.name)
	default:
		rs.drain = *s.DrainTimeout
		x.span(f+".drain_timeout", rs.drain, 0, maxDrain)
	}
}

// drainParams are the drain's parameters of a service's primitive.
func (r *resolved) drainParams(s resolvedService) [][2]string {
	if s.drain == 0 {
		return nil
	}
	p := [][2]string{{paramDrainTimeout, s.drain.String()}, {paramDrainChecks, r.drainChecks().String()}}
	if s.service.DrainFile == "" {
		p = append(p, [2]string{paramDrainAgentPort, fmt.Sprint(s.agentPort)})
	}
	return p
}

// agentCheck is what a backend server line of a service drained through
// its drain agent adds: haproxy asks the agent on the node's address at
// every check interval, and its "drain" takes the server out.
func (r *resolved) agentCheck(s resolvedService) string {
	if s.drain == 0 || s.service.DrainFile != "" {
		return ""
	}
	return fmt.Sprintf(" agent-check agent-port %d agent-inter %s", s.agentPort, r.t.HAProxy.Check.Inter)
}

// drainChecks is how long every haproxy takes to take a drained server
// out: the next check (inter), the further failed ones at fastinter, each
// within timeout check, rounded up to a second.
func (r *resolved) drainChecks() Duration {
	h := r.t.HAProxy
	c := h.Check
	d := time.Duration(c.Inter) + time.Duration(c.Fall-1)*time.Duration(c.FastInter) + time.Duration(c.Fall)*time.Duration(h.Timeouts.Check)
	return Duration(d.Truncate(time.Second) + time.Second)
}

// stopTimeout is the stop operation's timeout of a service: room for its
// drain.
func (s resolvedService) stopTimeout() string {
	if s.drain == 0 {
		return apiStopTimeout
	}
	return max(Duration(time.Duration(s.drain)+stopBeyondDrain), Duration(60*time.Second)).String()
}

// checkPath is the path haproxy checks a listener at: /healthcheck when
// the service is drained, so that the disable file takes it out.
func (s resolvedService) checkPath(l listener) string {
	if s.drain != 0 && l.check != "" && s.service.DrainFile != "" {
		return s.service.HealthcheckPath
	}
	return l.check
}

// drainNodeFiles writes, for a drained service whose healthcheck reads
// its options from the service's configuration (keystone, heat-api), the
// drop-in that names the disable file, and says so in the node's README.
func (r *resolved) drainNodeFiles(f Files, dir string, readme *strings.Builder) {
	for _, s := range r.services {
		c := s.service
		if s.drain == 0 || c.DrainConfDir == "" {
			continue
		}
		file := path.Join(c.DrainConfDir, drainDropIn)
		if _, done := f[path.Join(dir, file)]; done {
			continue // nova-api's and nova-metadata's: one nova.conf.d
		}
		var b strings.Builder
		header(&b, "#", s.name+": its healthcheck at "+c.HealthcheckPath+" answers 503 while "+c.DrainFile+" exists")
		fmt.Fprintf(&b, `#
# The %s agent creates that file before it stops the service
# (drain_timeout) and removes it when it starts it; haproxy checks the
# service at %s and takes it out. oslo.config reads this directory after
# %s; no package owns this file, so upgrades keep it.
[healthcheck]
%s
`, s.name, c.HealthcheckPath, c.Config, strings.Join(c.DrainSettings, "\n"))
		f[path.Join(dir, file)] = []byte(b.String())
		fmt.Fprintf(readme, "#\n# %s drains before it stops (drain_timeout): install\n#   %s as\n#   %s (mode 0644, its directory 0755).\n",
			s.name, strings.TrimPrefix(file, "/"), file)
	}
}
