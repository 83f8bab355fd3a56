package render

import (
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
)

// Several VIPs (vips:) put the public endpoints on one network and the
// internal and admin ones on another, as TripleO, Kolla-Ansible and
// OpenStack-Ansible do; vip: is one address for all three. Each VIP is its
// own vip primitive, colocated with the haproxy clone, stopped before it
// and preferring where haproxy listens: the VIPs do not follow each other
// (a lost link on the public network moves the public VIP only), so they
// may sit on different nodes, each node's haproxy serving every VIP.

// VIP names with a meaning for the catalog.
const (
	vipPublic   = "public"
	vipInternal = "internal"
	vipAdmin    = "admin"
	maxVIPs     = 8
)

var vipNamePattern = &lazyRegexp{expr: `^[a-z][a-z0-9-]{0,15}$`}

// resolvedVIP is one virtual address after defaults.
type resolvedVIP struct {
	name   string // "" for vip:
	id     string // its primitive's
	prefix netip.Prefix
	nic    string
	every  Duration
	extra  [][2]string
	host   string // the endpoints' host: dns_name, or the address
	crt    string // tls.certificate: TLS on this VIP; "" for none
	// redirect: tls.redirect_http, port 80 answers with a redirect to https
	redirect bool
}

// addr is the VIP's address.
func (v resolvedVIP) addr() netip.Addr { return v.prefix.Addr() }

// constraint ids of a VIP: vip:'s are the how-to's.
func (v resolvedVIP) colocationID() string {
	if v.name == "" {
		return idColocation
	}
	return v.id + "-with-haproxy"
}

func (v resolvedVIP) stopOrderID() string {
	if v.name == "" {
		return idStopOrder
	}
	return v.id + "-stops-before-haproxy"
}

// moveFirstID names the order of the VIP's start before what.
func (v resolvedVIP) moveFirstID(what string) string {
	if v.name == "" {
		return "vip-starts-before-" + what
	}
	return v.id + "-starts-before-" + what
}

func (v resolvedVIP) prefersID() string {
	if v.name == "" {
		return idVIPPrefersListening
	}
	return v.id + "-where-haproxy-listens"
}

// vipNamed is the index of the VIP called name, or -1.
func (r *resolved) vipNamed(name string) int {
	return slices.IndexFunc(r.vips, func(v resolvedVIP) bool { return v.name == name })
}

// backendVIP is the VIP on the nodes' own network: internal when there is
// one, else the first (vip:'s one). The nodes' addresses are in its
// subnet; the database listener is on it.
func (r *resolved) backendVIP() resolvedVIP {
	if i := r.vipNamed(vipInternal); i >= 0 {
		return r.vips[i]
	}
	return r.vips[0]
}

// endpointVIP is the VIP of a catalog interface: public on public,
// internal on internal, admin on admin, else internal; the first one
// otherwise.
func (r *resolved) endpointVIP(iface string) resolvedVIP {
	if i := r.vipNamed(iface); i >= 0 {
		return r.vips[i]
	}
	if iface == vipAdmin {
		return r.endpointVIP(vipInternal)
	}
	return r.vips[0]
}

// isVIP reports whether a is one of the VIPs.
func (r *resolved) isVIP(a netip.Addr) bool {
	return slices.ContainsFunc(r.vips, func(v resolvedVIP) bool { return v.addr() == a })
}

// vips resolves vip or vips.
func (x *resolver) vips() {
	t := x.t
	switch {
	case len(t.VIPs) > 0 && (t.VIP.Address != "" || t.VIP.Prefix != nil || t.VIP.NIC != "" || t.VIP.Params != nil):
		x.bad.add("vips", "give vip (one address for every endpoint) or vips (several), not both")
		return
	case len(t.VIPs) == 0:
		if t.VIP.Name != "" {
			x.bad.add("vip.name", "only the VIPs of vips have names")
		}
		if v, ok := x.vip("vip", &t.VIP); ok {
			v.id = idVIP
			x.r.vips = []resolvedVIP{v}
			x.vipOK = true
		}
		return
	case len(t.VIPs) > maxVIPs:
		x.bad.add("vips", "%d VIPs; at most %d", len(t.VIPs), maxVIPs)
		return
	}
	names := map[string]int{}
	addrs := map[netip.Addr]int{}
	ok := true
	for i := range t.VIPs {
		f := fmt.Sprintf("vips[%d]", i)
		n := t.VIPs[i].Name
		switch {
		case n == "":
			x.bad.add(f+".name", "required: public, internal, admin or a name of your own")
			ok = false
		case !vipNamePattern.re().MatchString(n):
			x.bad.add(f+".name", "%q: lower case letters, digits and '-', up to 16, a letter first", n)
			ok = false
		default:
			if j, dup := names[n]; dup {
				x.bad.add(f+".name", "%q also names vips[%d]", n, j)
				ok = false
			}
			names[n] = i
		}
		v, good := x.vip(f, &t.VIPs[i])
		if !good {
			ok = false
			continue
		}
		if j, dup := addrs[v.addr()]; dup {
			x.bad.add(f+".address", "%s is also vips[%d]'s", v.addr(), j)
			ok = false
		}
		addrs[v.addr()] = i
		v.name, v.id = n, "vip-"+n
		x.r.vips = append(x.r.vips, v)
	}
	x.vipOK = ok
}

// vip resolves one VIP (f is its place in the file).
func (x *resolver) vip(f string, v *VIP) (resolvedVIP, bool) {
	var r resolvedVIP
	ok := false
	if v.Address == "" {
		x.bad.add(f+".address", "required (the virtual IP the API is reached at)")
	} else if a, err := netip.ParseAddr(v.Address); err != nil || a.Zone() != "" {
		x.bad.add(f+".address", "%q is not an IP address", v.Address)
	} else {
		r.prefix, ok = x.vipAddress(f, v, a.Unmap())
	}
	if v.NIC != "" && !nicPattern.re().MatchString(v.NIC) {
		x.bad.add(f+".nic", "%q is not an interface name (letters, digits, '.', '_' or '-'; up to 127: an alternative name)", v.NIC)
	}
	r.nic = v.NIC
	if v.MonitorInterval == 0 {
		v.MonitorInterval = defaultVIPInterval
	}
	x.span(f+".monitor_interval", v.MonitorInterval, minMonitor, maxMonitor)
	r.every = v.MonitorInterval
	r.extra = extraParams(&x.bad, f+".params", v.Params, noSecretFix, paramVIPAddress, paramVIPPrefix, paramVIPNIC)
	r.host = r.prefix.Addr().String()
	if v.DNSName != "" {
		if !nodeNamePattern.re().MatchString(v.DNSName) {
			x.bad.add(f+".dns_name", "%q is not a host name (letters, digits, '.', '_', '-'; up to 63)", v.DNSName)
		}
		r.host = v.DNSName
	}
	x.tls(f, v.TLS, &r)
	return r, ok
}

// vipAddress checks a VIP's address a with its prefix.
func (x *resolver) vipAddress(f string, v *VIP, a netip.Addr) (netip.Prefix, bool) {
	v.Address = a.String()
	if v.Prefix == nil {
		p := defaultPrefixV4
		if a.Is6() {
			p = defaultPrefixV6
		}
		v.Prefix = &p
	}
	switch {
	case *v.Prefix < 1 || *v.Prefix > a.BitLen():
		x.bad.add(f+".prefix", "%d is out of range 1-%d for %s", *v.Prefix, a.BitLen(), a)
		return netip.Prefix{}, false
	case !a.IsGlobalUnicast():
		x.bad.add(f+".address", "%s is not a unicast address a VIP can be", a)
		return netip.Prefix{}, false
	}
	p := netip.PrefixFrom(a, *v.Prefix)
	if what := specialAddr(p, a); what != "" {
		x.bad.add(f+".address", "%s is the %s", a, what)
		return netip.Prefix{}, false
	}
	return p, true
}

// serviceVIPs resolves a service's vips (f is its place in the file): the
// indices of the VIPs it is served on.
func (x *resolver) serviceVIPs(f string, names []string) []int {
	if names == nil {
		out := make([]int, len(x.r.vips))
		for i := range out {
			out[i] = i
		}
		return out
	}
	if len(x.t.VIPs) == 0 {
		x.bad.add(f+".vips", "set, but the topology has one vip: name vips to choose among them")
		return nil
	}
	if len(names) == 0 {
		x.bad.add(f+".vips", "empty: a service is served on at least one VIP")
		return nil
	}
	var out []int
	for _, n := range names {
		i := x.r.vipNamed(n)
		switch {
		case i < 0:
			x.bad.add(f+".vips", "%q is not the name of one of vips", n)
		case slices.Contains(out, i):
			x.bad.add(f+".vips", "%q twice", n)
		default:
			out = append(out, i)
		}
	}
	slices.Sort(out)
	return out
}

// vipPrimitive is a VIP's primitive.
func (r *resolved) vipPrimitive(v resolvedVIP) primitive {
	p := primitive{id: v.id, class: "ocf", agent: agentVIP, params: [][2]string{
		{paramVIPAddress, v.addr().String()},
		{paramVIPPrefix, strconv.Itoa(v.prefix.Bits())},
	}}
	if v.nic != "" {
		p.params = append(p.params, [2]string{paramVIPNIC, v.nic})
	}
	p.params = append(p.params, v.extra...)
	if v.addr().Is6() {
		// never the node's source address (resource-agents #560, #68): the
		// address label (the vip agent's default, written out so that the
		// CIB says it whatever the agent: IPaddr2 before 4.15 had it off)
		// and a preferred lifetime of 0, unless params says otherwise
		for _, kv := range [][2]string{{"lvs_ipv6_addrlabel", "true"}, {"preferred_lft", "0"}} {
			if !slices.ContainsFunc(v.extra, func(e [2]string) bool { return e[0] == kv[0] }) {
				p.params = append(p.params, kv)
			}
		}
	}
	if r.fenceRace() {
		p.meta = [][2]string{{"priority", vipPriority}}
	}
	p.ops = []op{
		{name: "start", interval: "0s", timeout: vipOpTimeout},
		{name: "stop", interval: "0s", timeout: vipOpTimeout},
		{name: "monitor", interval: v.every.String(), timeout: monitorTimeout},
	}
	return p
}

// vipsComment introduces several VIPs in cluster.crm and cluster.pcs.sh.
func (r *resolved) vipsComment() []string {
	lines := []string{"The virtual IPs clients and the catalog's endpoints use:"}
	for _, v := range r.vips {
		var on []string
		for _, iface := range interfaces {
			if r.endpointVIP(iface).id == v.id {
				on = append(on, iface)
			}
		}
		what := "no catalog endpoint"
		switch len(on) {
		case 0:
		case 1:
			what = "the catalog's " + on[0] + " endpoints"
		default:
			what = "the catalog's " + strings.Join(on[:len(on)-1], ", ") + " and " + on[len(on)-1] + " endpoints"
		}
		lines = append(lines, fmt.Sprintf("%s (%s): %s.", v.id, v.prefix, what))
	}
	return append(lines,
		"Each is colocated with the haproxy clone on its own, not with the others:",
		"a lost link on one network moves that network's VIP only, and every",
		"node's haproxy serves all of them.")
}
