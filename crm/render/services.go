package render

import (
	"fmt"
	"strings"
)

type resolvedService struct {
	profile
	port        int
	legacyPort  int // 0: no legacy listener
	mode        string
	depth       int
	every       Duration
	deepEvery   Duration // with depth > 0
	credentials string
	extra       [][2]string
	// timeoutServer is haproxy's timeout server for its backends.
	timeoutServer Duration
	// drain is the agent's drain_timeout (0: no drain).
	drain Duration
	// agentPort is the drain agent's port, for a service without the
	// healthcheck (0: none).
	agentPort int
	// vips are the indices in resolved.vips of the VIPs it is served on.
	vips []int
}

func (s resolvedService) listeners() []listener {
	l := []listener{{name: s.main.name, port: s.port, check: s.main.check}}
	if s.legacyPort != 0 {
		l = append(l, listener{name: s.legacy.name, port: s.legacyPort, check: s.legacy.check})
	}
	return l
}

func (x *resolver) services() {
	t := x.t
	if t.Services == nil {
		for _, s := range defaultServices {
			t.Services = append(t.Services, Service{Name: s})
		}
	}
	if len(t.Services) == 0 {
		x.bad.add("services", "empty: name at least one service, or leave the key out for the default set")
	}
	seen := map[string]int{}
	ports := map[int]string{}
	for i, s := range t.Services {
		f := fmt.Sprintf("services[%d]", i)
		name := alias(s.Name)
		p, ok := catalog()[name]
		switch {
		case !ok && s.Name == "":
			x.bad.add(f+".name", "required (one of %s)", strings.Join(serviceNames(), ", "))
			continue
		case !ok:
			x.bad.add(f+".name", "unknown service %q (known: %s)", s.Name, strings.Join(serviceNames(), ", "))
			continue
		}
		if j, dup := seen[name]; dup {
			x.bad.add(f+".name", "service %q listed twice (also services[%d])", name, j)
			continue
		}
		seen[name] = i
		rs := x.service(f, s, p)
		rs.vips = x.serviceVIPs(f, s.VIPs)
		for _, l := range []struct {
			field string
			port  int
		}{{f + ".port", rs.port}, {f + ".legacy_port", rs.legacyPort}, {f + ".drain_agent_port", rs.agentPort}} {
			if l.port == 0 {
				continue
			}
			if other, clash := ports[l.port]; clash {
				x.bad.add(l.field, "port %d clashes with %s", l.port, other)
			} else {
				ports[l.port] = fmt.Sprintf("%s (%s)", l.field, p.name)
			}
		}
		x.r.services = append(x.r.services, rs)
	}
}

// service resolves one known service (f is its place in the file).
func (x *resolver) service(f string, s Service, p profile) resolvedService {
	rs := resolvedService{profile: p, port: p.main.port, mode: defaultMode, every: defaultAPIInterval, credentials: s.Credentials,
		timeoutServer: s.TimeoutServer}
	if s.Port != 0 {
		if s.Port < 1 || s.Port > 65535 {
			x.bad.add(f+".port", "%d is out of range 1-65535", s.Port)
		}
		rs.port = s.Port
	}
	legacy := s.Legacy != nil && *s.Legacy
	if legacy {
		if p.legacy == nil {
			x.bad.add(f+".legacy", "%s has no legacy listener", p.name)
		} else {
			rs.legacyPort = p.legacy.port
		}
	}
	if s.LegacyPort != 0 {
		switch {
		case p.legacy == nil:
			x.bad.add(f+".legacy_port", "%s has no legacy listener", p.name)
		case !legacy:
			x.bad.add(f+".legacy_port", "set, but legacy is not true")
		case s.LegacyPort < 1 || s.LegacyPort > 65535:
			x.bad.add(f+".legacy_port", "%d is out of range 1-65535", s.LegacyPort)
		default:
			rs.legacyPort = s.LegacyPort
		}
	}
	if s.RunMode != "" {
		if !oneOf(s.RunMode, modes) {
			x.bad.add(f+".run_mode", "%q: want systemd or process", s.RunMode)
		}
		rs.mode = s.RunMode
	}
	if s.MonitorDepth != nil {
		if *s.MonitorDepth != 0 && *s.MonitorDepth != 20 {
			x.bad.add(f+".monitor_depth", "%d: want 0 or 20", *s.MonitorDepth)
		}
		rs.depth = *s.MonitorDepth
	}
	if s.MonitorInterval != 0 {
		rs.every = s.MonitorInterval
	}
	x.span(f+".monitor_interval", rs.every, minMonitor, maxMonitor)
	rs.deepEvery = x.deepInterval(f, rs.depth, rs.every, s.DeepMonitorInterval, defaultAPIDeepInterval)
	if s.TimeoutServer != 0 {
		x.span(f+".timeout_server", s.TimeoutServer, minLongTimeout, maxLongTimeout)
	}
	switch {
	case s.Credentials != "" && !pathPattern.re().MatchString(s.Credentials):
		x.bad.add(f+".credentials", "%q is not "+plainPath, s.Credentials)
	case s.Credentials == "" && rs.depth == 20:
		x.bad.add(f+".credentials", "required with monitor_depth 20 (the file holding the keystone credentials)")
	}
	x.drain(f, s, &rs)
	rs.extra = extraParams(&x.bad, f+".params", s.Params, serviceFix(f), paramMode, paramPort, paramURL, paramCredentials,
		paramDrainTimeout, paramDrainChecks, paramDrainAgentPort)
	return rs
}

func (x *resolver) haproxy() {
	h := &x.t.HAProxy
	x.text("haproxy.config", &h.Config, defaultHAProxyConfig, pathPattern, plainPath)
	if h.Balance == "" {
		h.Balance = defaultBalance
	} else if !oneOf(h.Balance, balances) {
		x.bad.add("haproxy.balance", "%q: want one of %s", h.Balance, strings.Join(balances, ", "))
	}
	if h.MaxConn == 0 {
		h.MaxConn = defaultMaxConn
	}
	x.between("haproxy.maxconn", h.MaxConn, minMaxConn, maxMaxConn)
	x.count("haproxy.check.rise", &h.Check.Rise, defaultRise)
	x.count("haproxy.check.fall", &h.Check.Fall, defaultFall)
	if h.Timeouts.Server != 0 {
		x.span("haproxy.timeouts.server", h.Timeouts.Server, minLongTimeout, maxLongTimeout)
	}
	// A service's own timeout server unless the topology sets one for all
	// (timeouts.server stays 0 otherwise: resolving again gives the same).
	for i := range x.r.services {
		s := &x.r.services[i]
		switch {
		case s.timeoutServer != 0:
		case h.Timeouts.Server != 0:
			s.timeoutServer = h.Timeouts.Server
		case s.slowServer != 0:
			s.timeoutServer = s.slowServer
		default:
			s.timeoutServer = defaultServerTimeout
		}
	}
	for _, d := range []struct {
		field  string
		v      *Duration
		def    Duration
		lo, hi Duration
	}{
		{"check.inter", &h.Check.Inter, defaultCheck.Inter, minCheckInter, maxCheckInter},
		{"check.fastinter", &h.Check.FastInter, defaultCheck.FastInter, minCheckInter, maxCheckInter},
		{"check.downinter", &h.Check.DownInter, defaultCheck.DownInter, minCheckInter, maxCheckInter},
		{"timeouts.connect", &h.Timeouts.Connect, defaultTimeouts.Connect, minShortTimeout, maxShortTimeout},
		{"timeouts.client", &h.Timeouts.Client, defaultTimeouts.Client, minLongTimeout, maxLongTimeout},
		{"timeouts.check", &h.Timeouts.Check, defaultTimeouts.Check, minShortTimeout, maxShortTimeout},
		{"monitor_interval", &h.MonitorInterval, defaultHAProxyInterval, minMonitor, maxMonitor},
	} {
		if *d.v == 0 {
			*d.v = d.def
		}
		x.span("haproxy."+d.field, *d.v, d.lo, d.hi)
	}
	x.r.haproxyExtra = extraParams(&x.bad, "haproxy.params", h.Params, noSecretFix, paramHAProxyConfig, paramListenAttr)
	if h.MonitorDepth == nil {
		z := 0
		h.MonitorDepth = &z
	} else if *h.MonitorDepth != 0 && *h.MonitorDepth != 10 {
		x.bad.add("haproxy.monitor_depth", "%d: want 0 or 10", *h.MonitorDepth)
	}
	x.r.haproxyDeepEvery = x.deepInterval("haproxy", *h.MonitorDepth, h.MonitorInterval, h.DeepMonitorInterval, defaultHAProxyDeepInterval)
	x.backendTLS()
}

// count fills a count's default (when 0) and checks its range.
func (x *resolver) count(field string, v *int, def int) {
	if *v == 0 {
		*v = def
	}
	x.between(field, *v, minChecks, maxChecks)
}

// deepInterval checks the interval of a deeper second monitor: set only
// with a depth, in the monitors' range, and not the first monitor's
// (Pacemaker tells a resource's monitors apart by their interval).
func (x *resolver) deepInterval(f string, depth int, every, set, def Duration) Duration {
	switch {
	case depth == 0 && set != 0:
		x.bad.add(f+".deep_monitor_interval", "set, but monitor_depth is 0")
		return 0
	case depth == 0:
		return 0
	case set == 0:
		set = def
	}
	x.span(f+".deep_monitor_interval", set, minMonitor, maxMonitor)
	if set == every {
		x.bad.add(f+".deep_monitor_interval", "%s is also monitor_interval; Pacemaker needs two different intervals", set)
	}
	return set
}
