package render

import (
	"fmt"
	"strings"
)

// HAProxy renders haproxy.cfg: a frontend per listener on the VIP, a
// backend per listener over every node.
func (r *resolved) HAProxy() string {
	h := r.t.HAProxy
	var b strings.Builder
	header(&b, "#", "haproxy's configuration for the API services")
	fmt.Fprintf(&b, `# The same file on every node: haproxy runs on each of them (a clone) and binds
# the VIP %s even where the VIP is absent, which needs
# net.ipv4.ip_nonlocal_bind=1 (net.ipv6.ip_nonlocal_bind=1 for IPv6) there.
# Pacemaker's haproxy agent runs it in master-worker mode and checks this file
# before start and reload.

global
    # No global maxconn: haproxy sizes it from the file descriptors it may
    # open (ulimit -n), so it cannot ask for more than the node allows.

defaults
    mode http
    maxconn %d
    option redispatch
    retries 3
    timeout connect %s
    timeout client %s
    timeout server %s
`, r.vip.Addr(), h.MaxConn, h.Timeouts.Connect, h.Timeouts.Client, h.Timeouts.Server)
	if h.Timeouts.Check != 0 {
		fmt.Fprintf(&b, "    timeout check %s\n", h.Timeouts.Check)
	}
	for _, s := range r.services {
		for _, l := range s.listeners() {
			fmt.Fprintf(&b, "\n# %s, port %d\n", s.name, l.port)
			fmt.Fprintf(&b, "frontend %s-vip\n", l.name)
			fmt.Fprintf(&b, "    bind %s\n", hostPort(r.vip.Addr().String(), l.port))
			fmt.Fprintf(&b, "    default_backend %s-api\n", l.name)
			fmt.Fprintf(&b, "\nbackend %s-api\n", l.name)
			fmt.Fprintf(&b, "    balance %s\n", h.Balance)
			if l.check != "" {
				// 2xx and 3xx pass: the version documents answer 200 or 300.
				fmt.Fprintf(&b, "    option httpchk GET %s\n", l.check)
			}
			for _, n := range r.nodes {
				fmt.Fprintf(&b, "    server %s %s check inter %s rise %d fall %d\n",
					n.name, hostPort(n.addr.String(), l.port), h.Check.Inter, h.Check.Rise, h.Check.Fall)
			}
		}
	}
	return b.String()
}
