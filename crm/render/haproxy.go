package render

import (
	"fmt"
	"strings"
	"time"
)

// HAProxy renders haproxy.cfg: a frontend per listener on the VIP, a
// backend per listener over every node.
func (r *resolved) HAProxy() string {
	h := r.t.HAProxy
	var b strings.Builder
	header(&b, "#", "haproxy's configuration for the API services")
	fmt.Fprintf(&b, `# The same file on every node: haproxy runs on each of them (a clone) and binds
# %s, which needs
# net.ipv4.ip_nonlocal_bind=1 (net.ipv6.ip_nonlocal_bind=1 for IPv6) there.
# Pacemaker's haproxy agent runs it in master-worker mode and checks this file
# before start and reload.

global
    # No global maxconn: haproxy sizes it from the file descriptors it may
    # open (ulimit -n), so it cannot ask for more than the node allows.
`, r.vipList())
	r.logGlobal(&b)
	r.tlsGlobal(&b)
	r.statsEnvironment(&b)
	fmt.Fprintf(&b, "\ndefaults\n    mode http\n    maxconn %d\n", h.MaxConn)
	if r.logTarget != "" {
		b.WriteString("    log global\n    option httplog\n    option dontlognull\n")
	}
	indented(&b, "    ", r.checkComment())
	c := h.Check
	fmt.Fprintf(&b, "    default-server check inter %s fastinter %s downinter %s rise %d fall %d observe layer4 error-limit 1 on-error fastinter\n",
		c.Inter, c.FastInter, c.DownInter, c.Rise, c.Fall)
	fmt.Fprintf(&b, "    timeout check %s\n    option redispatch 1\n    retries 3\n    retry-on conn-failure empty-response\n", h.Timeouts.Check)
	indented(&b, "    ", []string{
		"timeout connect: a connect on the LAN takes well under a millisecond; an",
		"attempt with no answer after " + h.Timeouts.Connect.String() + " is retried on another server. haproxy",
		"waits min(timeout connect, 1s) before a retry: a request that meets a",
		"vanished node is answered by another about half a second later.",
	})
	fmt.Fprintf(&b, "    timeout connect %s\n    timeout client %s\n", h.Timeouts.Connect, h.Timeouts.Client)
	indented(&b, "    ", []string{
		"timeout server: how long a request may wait for its answer. It is not how",
		"a failed server is found (the checks above do that), so it is set for the",
		"slowest call an API legitimately makes; a backend that needs longer says so.",
	})
	fmt.Fprintf(&b, "    timeout server %s\n", r.serverTimeout())
	for _, s := range r.services {
		for _, l := range s.listeners() {
			fmt.Fprintf(&b, "\n# %s, port %d\n", s.name, l.port)
			fmt.Fprintf(&b, "frontend %s-vip\n", l.name)
			for _, i := range s.vips {
				fmt.Fprintf(&b, "    bind %s%s\n", hostPort(r.vips[i].addr().String(), l.port), r.vips[i].bindOptions())
			}
			r.forwardedHeaders(&b)
			if s.timeoutServer > h.Timeouts.Client {
				// The client side waits as long as the server side may.
				fmt.Fprintf(&b, "    timeout client %s\n", s.timeoutServer)
			}
			fmt.Fprintf(&b, "    default_backend %s-api\n", l.name)
			fmt.Fprintf(&b, "\nbackend %s-api\n", l.name)
			fmt.Fprintf(&b, "    balance %s\n", h.Balance)
			b.WriteString("    http-request disable-l7-retry unless METH_GET || METH_OPTIONS\n")
			check := s.checkPath(l)
			if check != "" && check != l.check {
				b.WriteString("    # 503 while its agent drains it before a stop (drain_timeout)\n")
			}
			agent := r.agentCheck(s)
			if agent != "" {
				fmt.Fprintf(&b, "    # no healthcheck: its agent's drain agent (port %d) answers the agent-check\n", s.agentPort)
				b.WriteString("    # \"drain\" before a stop (drain_timeout), \"ready\" once it has started\n")
			}
			if check != "" {
				// 2xx and 3xx pass: the version documents answer 200 or 300.
				fmt.Fprintf(&b, "    option httpchk GET %s\n", check)
			}
			if s.timeoutServer != r.serverTimeout() {
				if s.slowWhy != "" && s.timeoutServer == s.slowServer {
					fmt.Fprintf(&b, "    # %s\n", s.slowWhy)
				}
				fmt.Fprintf(&b, "    timeout server %s\n", s.timeoutServer)
			}
			for _, n := range r.nodes {
				fmt.Fprintf(&b, "    server %s %s%s%s\n", n.name, hostPort(n.addr.String(), l.port), r.serverTLS(n), agent)
			}
		}
	}
	r.redirectFrontends(&b)
	r.mysqlListener(&b)
	r.statsFrontend(&b)
	return b.String()
}

// serverTimeout is the timeout server of the defaults section.
func (r *resolved) serverTimeout() Duration {
	if s := r.t.HAProxy.Timeouts.Server; s != 0 {
		return s
	}
	return defaultServerTimeout
}

// checkComment explains the health checks and the failure handling, with
// the times they give.
func (r *resolved) checkComment() []string {
	h := r.t.HAProxy
	c, t := h.Check, time.Duration(h.Timeouts.Check)
	each := time.Duration(c.FastInter) + t
	first := t + time.Duration(c.Fall-1)*each
	last := time.Duration(c.Inter) + first
	return []string{
		fmt.Sprintf("Health checks, for every server: one every %s; a server is taken out", c.Inter),
		fmt.Sprintf("after %d failed checks in a row and put back after %d good ones, checked", c.Fall, c.Rise),
		fmt.Sprintf("every %s while it changes state and every %s while it is out. A check", c.FastInter, c.DownInter),
		fmt.Sprintf("fails when the check's path has not answered %s after the connect:", h.Timeouts.Check),
		"a hung service still accepts connections (the kernel does), only its answer",
		fmt.Sprintf("is missing. A hung backend is out %s to %s after it hangs.", Duration(first), Duration(last)),
		"A dead one (connection refused, its node gone) is found sooner: observe",
		"layer4 counts the clients' failed connections, and the first one",
		"(error-limit 1, on-error fastinter) switches its checks to fastinter, so it",
		fmt.Sprintf("is out about %s later; option redispatch 1 sends each request that", Duration(time.Duration(c.Fall)*time.Duration(c.FastInter))),
		"met it to another server (each of the 3 retries to another), so none fails.",
		"Not on-error mark-down: one refused connection (a full accept queue on a",
		"busy, healthy server) would take a server out at once.",
		"No on-marked-down shutdown-sessions: a server taken out keeps what it",
		"holds. Closing it would also close the requests still waiting for their",
		"connect to a node that just vanished, which the retry above saves (with it,",
		"every link loss cost clients one or two failed requests). A hung service's",
		"requests end when Pacemaker restarts it (its monitor's probe_timeout finds",
		"the hang in seconds), not at timeout server.",
		"retry-on empty-response: a read (GET, HEAD, OPTIONS) that a server closed",
		"without an answer (it died, or was stopped under the request) is sent to",
		"another server, so a rolling restart loses no read (a read that itself",
		"kills its server would meet up to 3 of them: retries 3). Any other request",
		"is never replayed once it reached a server (http-request disable-l7-retry",
		"in each backend): the APIs take POSTs that must not run twice.",
	}
}

// vipList says what haproxy binds, for haproxy.cfg's header.
func (r *resolved) vipList() string {
	if len(r.vips) == 1 {
		return "the VIP " + r.vips[0].addr().String() + " even where the VIP is absent"
	}
	var as []string
	for _, v := range r.vips {
		as = append(as, v.addr().String()+" ("+v.name+")")
	}
	return "the VIPs " + strings.Join(as, ", ") + "\n# even where they are absent"
}
