package render

import (
	"fmt"
	"net/netip"
	"strings"
)

// What an operator watches haproxy with: its log lines, sent to the
// node's syslog, and on each node's management address (never a VIP) a
// statistics page and the Prometheus exporter of haproxy 2.6, open to an
// allow-list.
const (
	defaultStatsPort = 8404
	defaultLog       = "/dev/log"
	noLog            = "none"
	// statsEnv is the environment variable the file sets, per node, to the
	// address the statistics frontend binds.
	statsEnv = "STACKHA_STATS_BIND"
)

type resolvedStats struct {
	port  int      // 0: no statistics frontend
	allow []string // prefixes and addresses, loopback and the nodes first
}

// observe resolves haproxy.log, haproxy.stats and the nodes' management
// addresses; the services, the stateful tier and the nodes are resolved
// before.
func (x *resolver) observe() {
	h := &x.t.HAProxy
	switch {
	case h.Log == "":
		h.Log = defaultLog
		x.r.logTarget = defaultLog
	case h.Log == noLog:
	case strings.HasPrefix(h.Log, "/"):
		if !pathPattern.re().MatchString(h.Log) {
			x.bad.add("haproxy.log", "%q: want %s (a syslog socket), host:port (UDP syslog) or %q", h.Log, plainPath, noLog)
		}
		x.r.logTarget = h.Log
	default:
		ap, err := netip.ParseAddrPort(h.Log)
		if err != nil || ap.Port() == 0 || ap.Addr().Zone() != "" {
			x.bad.add("haproxy.log", "%q: want a syslog socket's absolute path, address:port (UDP syslog) or %q", h.Log, noLog)
		}
		x.r.logTarget = h.Log
	}

	for i, n := range x.t.Nodes {
		if n.ManagementAddress == "" || i >= len(x.r.nodes) || x.r.nodes[i].name != n.Name {
			continue
		}
		f := fmt.Sprintf("nodes[%d].management_address", i)
		a, err := netip.ParseAddr(n.ManagementAddress)
		switch {
		case err != nil || a.Zone() != "":
			x.bad.add(f, "%q is not an IP address", n.ManagementAddress)
		case !a.Unmap().IsGlobalUnicast() && !a.Unmap().IsLoopback():
			x.bad.add(f, "%s is not a unicast address", a)
		case x.r.isVIP(a.Unmap()):
			x.bad.add(f, "%s is a VIP: statistics are served on each node's own address", a)
		default:
			x.r.nodes[i].mgmt = a.Unmap()
		}
	}

	port := defaultStatsPort
	if p := h.Stats.Port; p != nil {
		port = *p
	} else {
		h.Stats.Port = &port
	}
	if port == 0 {
		if len(h.Stats.Allow) > 0 {
			x.bad.add("haproxy.stats.allow", "set, but haproxy.stats.port is 0 (no statistics frontend)")
		}
		return
	}
	taken := map[int]string{}
	for _, s := range x.r.services {
		for _, l := range s.listeners() {
			taken[l.port] = s.name
		}
	}
	if x.r.db != nil {
		taken[x.r.db.port], taken[x.r.db.checkPort] = "the database", "the database's sync check"
	}
	if x.r.mq != nil {
		taken[x.r.mq.port] = "the message queue"
	}
	x.port("haproxy.stats.port", &port, defaultStatsPort, taken, "haproxy's statistics")
	st := resolvedStats{port: port, allow: []string{"127.0.0.0/8", "::1"}}
	for _, n := range x.r.nodes {
		st.allow = append(st.allow, n.mgmt.String())
	}
	for i, s := range h.Stats.Allow {
		f := fmt.Sprintf("haproxy.stats.allow[%d]", i)
		if p, err := netip.ParsePrefix(s); err == nil && p.Addr().Zone() == "" {
			if p != p.Masked() {
				x.bad.add(f, "%s has host bits set (the network is %s)", p, p.Masked())
				continue
			}
			st.allow = append(st.allow, p.String())
		} else if a, err := netip.ParseAddr(s); err == nil && a.Zone() == "" {
			st.allow = append(st.allow, a.Unmap().String())
		} else {
			x.bad.add(f, "%q is not an address or a prefix (address/length)", s)
		}
	}
	x.r.stats = st
}

// logGlobal is the global section's log line and its comment.
func (r *resolved) logGlobal(b *strings.Builder) {
	if r.logTarget == "" {
		b.WriteString("    # No log (haproxy.log: none).\n")
		return
	}
	indented(b, "    ", []string{
		"One line per request (option httplog in defaults; tcplog for TCP",
		"listeners) to " + r.logTarget + ", facility local0, where the node's syslog takes it",
		"(journald's /dev/log on Debian 12).",
	})
	fmt.Fprintf(b, "    log %s local0\n", r.logTarget)
}

// statsEnvironment sets statsEnv, in the global section, to this node's
// management address: the file is the same on every node, and haproxy's
// conditional blocks pick the node by HAPROXY_LOCALPEER (its host name,
// or the haproxy agent's extra_args=-L <name>).
func (r *resolved) statsEnvironment(b *strings.Builder) {
	if r.stats.port == 0 {
		return
	}
	indented(b, "    ", []string{
		"Each node serves statistics on its own management address: haproxy",
		"knows the node by HAPROXY_LOCALPEER, its host name (or the agent's",
		"extra_args=-L <name>), which must be the node's name in the topology.",
	})
	for i, n := range r.nodes {
		kw := ".elif"
		if i == 0 {
			kw = ".if"
		}
		fmt.Fprintf(b, "%s streq(\"${HAPROXY_LOCALPEER}\",\"%s\")\n    setenv %s %s\n", kw, n.name, statsEnv, hostPort(n.mgmt.String(), r.stats.port))
	}
	b.WriteString(".endif\n")
}

// statsFrontend is the statistics and metrics frontend.
func (r *resolved) statsFrontend(b *strings.Builder) {
	if r.stats.port == 0 {
		return
	}
	fmt.Fprintf(b, "\n# Statistics (/stats) and Prometheus metrics (/metrics) of this node's haproxy,\n"+
		"# on its management address, port %d: never on a VIP. Open to loopback,\n"+
		"# the nodes and haproxy.stats.allow only; not logged (scrapes).\n", r.stats.port)
	fmt.Fprintf(b, ".if defined(%s)\nfrontend stats\n    bind \"${%s}\"\n    no log\n", statsEnv, statsEnv)
	fmt.Fprintf(b, "    acl stats-allowed src %s\n", strings.Join(r.stats.allow, " "))
	b.WriteString("    http-request deny unless stats-allowed\n")
	b.WriteString("    http-request use-service prometheus-exporter if { path /metrics }\n")
	b.WriteString("    stats enable\n    stats uri /stats\n    stats refresh 10s\n")
	b.WriteString(".else\n")
	b.WriteString(".notice \"no statistics frontend: ${HAPROXY_LOCALPEER} is not the name of a node in the topology\"\n")
	b.WriteString(".endif\n")
}
