package render

import (
	"errors"
	"fmt"
	"net/netip"
	"regexp"
	"sort"
	"strings"
	"sync"
)

var (
	paramNamePattern  = &lazyRegexp{expr: `^[a-z][a-z0-9_]{0,62}$`}
	paramValuePattern = &lazyRegexp{expr: `^[A-Za-z0-9._/:@,+=-]*$`}
	nodeNamePattern   = &lazyRegexp{expr: `^[A-Za-z0-9]([A-Za-z0-9._-]{0,62})$`}
	pathPattern       = &lazyRegexp{expr: `^/[A-Za-z0-9._/+-]*$`}
	regionPattern     = &lazyRegexp{expr: `^[A-Za-z0-9][A-Za-z0-9._-]*$`}
	nicPattern        = &lazyRegexp{expr: `^[A-Za-z0-9][A-Za-z0-9._-]{0,126}$`}
	balances          = []string{"roundrobin", "static-rr", "leastconn", "first", "source"}
	noQuorum          = []string{"ignore", "stop", "freeze", "demote"}
	modes             = []string{"systemd", "process"}
)

// resolved is the topology after defaults, in the form the renderers use.
type resolved struct {
	vips             []resolvedVIP // vip's one, or vips' (vips.go)
	haproxyExtra     [][2]string
	haproxyDeepEvery Duration
	stats            resolvedStats // port 0: no statistics frontend
	logTarget        string        // haproxy's log target; "": none
	nodes            []resolvedNode
	services         []resolvedService
	fencing          []resolvedDevice    // none: the lab mode
	db               *resolvedDB         // nil: no database section
	mq               *resolvedMQ         // nil: no messaging section
	backendTLS       *resolvedBackendTLS // nil: plain HTTP to the services (tls_backend.go)
	t                *Topology
}

type resolvedNode struct {
	name  string
	addr  netip.Addr
	mgmt  netip.Addr   // management address: haproxy's statistics
	rings []netip.Addr // corosync's links: ring0, and ring1 when given
}

// problems collects every error found in a topology, each naming its
// field, so that one run reports them all.
type problems []error

// add records a problem with field (its path in the topology file).
func (p *problems) add(field, format string, a ...any) {
	*p = append(*p, fmt.Errorf("topology: %s: %s", field, fmt.Sprintf(format, a...)))
}

// resolver fills a topology's defaults and builds its resolved form, one
// section at a time, into one problem collector.
type resolver struct {
	t     *Topology
	r     *resolved
	bad   problems
	vipOK bool // the VIPs parsed: the nodes can be checked against the backends' VIP's subnet
}

// resolve fills defaults in t and returns the resolved form, or every
// error. Parse runs it once; Render reuses what Parse found.
func (t *Topology) resolve() (*resolved, error) {
	x := &resolver{t: t, r: &resolved{t: t}}
	x.vips()
	x.nodes()
	x.rings()
	x.services()
	x.haproxy()
	x.fencing()
	x.cluster()
	x.corosync()
	x.region()
	x.stateful()
	x.redirects()
	x.observe()
	if len(x.bad) > 0 {
		return nil, errors.Join(x.bad...)
	}
	return x.r, nil
}

// specialAddr names what a is in p's subnet when no host may have it (its
// network or broadcast address), or returns "".
func specialAddr(p netip.Prefix, a netip.Addr) string {
	switch {
	case a == p.Masked().Addr() && p.Bits() < a.BitLen()-1:
		return "network address of " + p.Masked().String()
	case a.Is4() && p.Bits() < 31 && a == lastAddr(p):
		return "broadcast address of " + p.Masked().String()
	}
	return ""
}

func (x *resolver) nodes() {
	switch n := len(x.t.Nodes); {
	case n == 0:
		x.bad.add("nodes", "required: %d to %d controllers, the name and address of each", minNodes, maxNodes)
	case n < minNodes || n > maxNodes:
		x.bad.add("nodes", "%d nodes; a cluster here has %d to %d", n, minNodes, maxNodes)
	}
	names := map[string]int{}
	addrs := map[netip.Addr]int{}
	for i, n := range x.t.Nodes {
		f := fmt.Sprintf("nodes[%d]", i)
		switch {
		case n.Name == "":
			x.bad.add(f+".name", "required")
		case !nodeNamePattern.re().MatchString(n.Name):
			x.bad.add(f+".name", "%q is not a host name (letters, digits, '.', '_', '-'; up to 63)", n.Name)
		default:
			if j, dup := names[strings.ToLower(n.Name)]; dup {
				x.bad.add(f+".name", "duplicate node %q (also nodes[%d])", n.Name, j)
			}
			names[strings.ToLower(n.Name)] = i
		}
		a, ok := x.addr(f+".address", n.Address, addrs, i)
		if !ok {
			continue
		}
		if x.vipOK {
			vip := x.r.backendVIP()
			which := "the VIP"
			if vip.name != "" {
				which = "the " + vip.name + " VIP"
			}
			switch {
			case x.r.isVIP(a):
				x.bad.add(f+".address", "%s is a VIP itself", a)
			case !vip.prefix.Masked().Contains(a):
				x.bad.add(f+".address", "%s is not in %s's subnet %s", a, which, vip.prefix.Masked())
			default:
				if what := specialAddr(vip.prefix, a); what != "" {
					x.bad.add(f+".address", "%s is the %s", a, what)
				}
			}
		}
		x.r.nodes = append(x.r.nodes, resolvedNode{name: n.Name, addr: a, mgmt: a})
	}
}

// addr parses a node's address (field names it), required, and unique
// among seen (recorded as the i-th node's).
func (x *resolver) addr(field, s string, seen map[netip.Addr]int, i int) (netip.Addr, bool) {
	a, err := netip.ParseAddr(s)
	switch {
	case s == "":
		x.bad.add(field, "required")
		return a, false
	case err != nil || a.Zone() != "":
		x.bad.add(field, "%q is not an IP address", s)
		return a, false
	}
	a = a.Unmap()
	if j, dup := seen[a]; dup {
		x.bad.add(field, "duplicate address %s (also nodes[%d])", a, j)
	}
	seen[a] = i
	return a, true
}

func (x *resolver) cluster() {
	c := &x.t.Cluster
	fenced := len(x.t.Fencing.Devices) > 0
	switch {
	case c.StonithEnabled == nil:
		c.StonithEnabled = &fenced
	case *c.StonithEnabled && !fenced:
		x.bad.add("cluster.stonith_enabled", "true, but there are no fencing.devices (one per node)")
	case !*c.StonithEnabled && fenced:
		x.bad.add("cluster.stonith_enabled", "false, but fencing.devices are given: leave it out to fence, or remove the devices for the lab mode")
	}
	if c.NoQuorumPolicy == "" {
		c.NoQuorumPolicy = defaultNoQuorum
		if fenced {
			c.NoQuorumPolicy = fencedNoQuorum
		}
	} else if !oneOf(c.NoQuorumPolicy, noQuorum) {
		x.bad.add("cluster.no_quorum_policy", "%q: want one of %s", c.NoQuorumPolicy, strings.Join(noQuorum, ", "))
	}
	switch {
	case c.TransitionDelay == nil && fenced:
		d := fencedTransitionDelay
		c.TransitionDelay = &d
	case c.TransitionDelay != nil && *c.TransitionDelay > maxTransitionDelay:
		x.bad.add("cluster.transition_delay", "%s is over %s: every transition would wait that long", c.TransitionDelay, maxTransitionDelay)
	}
	if c.Stickiness == nil {
		v := defaultStickiness
		c.Stickiness = &v
	}
	x.between("cluster.stickiness", *c.Stickiness, 0, maxScore)
	if c.FailureTimeout == nil {
		var z Duration
		c.FailureTimeout = &z
	} else if *c.FailureTimeout != 0 {
		x.span("cluster.failure_timeout", *c.FailureTimeout, minFailureTimeout, maxFailureTimeout)
	}
	if c.MigrationThreshold == nil {
		v := defaultMigration
		c.MigrationThreshold = &v
	}
	x.between("cluster.migration_threshold", *c.MigrationThreshold, 0, maxScore)
}

func (x *resolver) region() {
	x.text("region", &x.t.Region, defaultRegion, regionPattern, "a region name (letters, digits, '.', '_' or '-')")
}

// plainPath is what a path in the topology must be: it reaches crmsh, pcs
// and shell text.
const plainPath = "an absolute path of plain characters"

// text fills *v with def when it is empty, or checks it against p (what
// says what it must be).
func (x *resolver) text(field string, v *string, def string, p *lazyRegexp, what string) {
	switch {
	case *v == "":
		*v = def
	case !p.re().MatchString(*v):
		x.bad.add(field, "%q is not %s", *v, what)
	}
}

func oneOf(v string, set []string) bool {
	for _, s := range set {
		if v == s {
			return true
		}
	}
	return false
}

// extraParams checks a params map and returns it sorted by name; the
// parameters this package sets itself (taken) come from their own fields,
// and a secret is refused (fix says where it goes instead).
func extraParams(bad *problems, field string, m map[string]string, fix secretFix, taken ...string) [][2]string {
	var out [][2]string
	for k, v := range m {
		switch {
		case oneOf(k, taken):
			bad.add(field+"."+k, "set by the topology's own field, not here")
		case !secretParam(bad, field+"."+k, k, v, fix):
		case !paramNamePattern.re().MatchString(k):
			bad.add(field, "%q is not a parameter name (lower case letters, digits, '_')", k)
		case !paramValuePattern.re().MatchString(v):
			bad.add(field+"."+k, "%q: want letters, digits and ._/:@,+=- only", v)
		default:
			out = append(out, [2]string{k, v})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i][0] < out[j][0] })
	return out
}

// lastAddr is the highest address of p's subnet.
func lastAddr(p netip.Prefix) netip.Addr {
	b := p.Masked().Addr().AsSlice()
	for i := p.Bits(); i < len(b)*8; i++ {
		b[i/8] |= 0x80 >> (i % 8)
	}
	a, _ := netip.AddrFromSlice(b)
	return a
}

// lazyRegexp is a regular expression compiled on first use. This package
// is linked into every agent run: its package variables are static data
// (no init work, not even a closure), and compiling at init cost each run
// about 0.2 ms.
type lazyRegexp struct {
	once   sync.Once
	expr   string
	regexp *regexp.Regexp
}

func (l *lazyRegexp) re() *regexp.Regexp {
	l.once.Do(func() { l.regexp = regexp.MustCompile(l.expr) })
	return l.regexp
}
