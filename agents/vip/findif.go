package vip

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
)

// Route is one routing table entry as findif needs it.
type Route struct {
	Dst    netip.Prefix // the destination; invalid for a default route
	Dev    string
	Src    netip.Addr // preferred source, if any
	Scope  uint8
	Local  bool // from the local table, type local
	Metric int
	// Protocol is who made the route (RTPROT_*: 2 kernel, 9 ra, ...).
	Protocol uint8
}

// routeProtos are the names ip-route(8) gives route protocols
// (iproute2's rt_protos and its built-in table); an array, built at
// compile time (TestInitBudget).
var routeProtos = [...]struct {
	name string
	n    int
}{
	{"unspec", 0}, {"redirect", 1}, {"kernel", 2}, {"boot", 3}, {"static", 4},
	{"gated", 8}, {"ra", 9}, {"mrt", 10}, {"zebra", 11}, {"bird", 12}, {"dnrouted", 13},
	{"xorp", 14}, {"ntk", 15}, {"dhcp", 16}, {"keepalived", 18}, {"babel", 42},
	{"openr", 99}, {"bgp", 186}, {"isis", 187}, {"ospf", 188}, {"rip", 189}, {"eigrp", 192},
}

// ParseRouteProto reads the proto parameter: a name of ip-route(8) or a
// number from 0 to 255.
func ParseRouteProto(s string) (int, error) {
	for _, p := range routeProtos {
		if p.name == s {
			return p.n, nil
		}
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 || n > 255 {
		return 0, fmt.Errorf("%q is not a route protocol: a number from 0 to 255, or a name such as kernel, boot, static, ra or dhcp", s)
	}
	return n, nil
}

// IfAddr is one address configured on an interface.
type IfAddr struct {
	Dev       string
	Prefix    netip.Prefix // address and prefix length
	Broadcast netip.Addr
	Label     string
	Flags     uint32
}

// Placement is where the address goes: the interface, the prefix length and
// the IPv4 broadcast (invalid: none).
type Placement struct {
	Nic       string
	Prefix    int
	Broadcast netip.Addr
}

// scopeLink is RT_SCOPE_LINK.
const scopeLink = 253

// ErrNoRoute says findif found no route to take the interface or prefix
// length from. On this node only: another node may have one.
var ErrNoRoute = errors.New("no route")

// FindIf decides where the address goes, as IPaddr2's findif does: the
// interface and prefix length given win; what is missing comes from the
// most specific route of the main table that contains the address (for
// IPv4 only link-scope routes; on nic when nic is given; of proto when
// proto is given; no wider than
// cidr_netmask when it is given). Host and default routes never count.
// Equal lengths go to the lower metric, then to the first listed. An
// address in 127/8 with no such route uses the local table's loopback
// route. The IPv4 broadcast, when not given, is copied from the interface
// address that is the chosen route's preferred source; '+' and '-' compute
// it from the prefix.
func FindIf(c *Config, routes []Route, addrs []IfAddr) (Placement, error) {
	pl := Placement{Nic: c.Nic, Prefix: c.Prefix}
	best := -1
	for i, r := range routes {
		if r.Local || !r.Dst.IsValid() || r.Dst.Addr().Is6() != c.V6 {
			continue
		}
		bits := r.Dst.Bits()
		if bits == 0 || bits >= c.Bits() || !r.Dst.Contains(c.IP) {
			continue
		}
		if !c.V6 && r.Scope != scopeLink {
			continue
		}
		if c.Nic != "" && r.Dev != c.Nic {
			continue
		}
		if c.Proto >= 0 && int(r.Protocol) != c.Proto {
			continue
		}
		if c.Prefix >= 0 && bits > c.Prefix {
			continue
		}
		if best < 0 || bits > routes[best].Dst.Bits() ||
			(bits == routes[best].Dst.Bits() && r.Metric < routes[best].Metric) {
			best = i
		}
	}
	if best < 0 && !c.V6 && c.IP.As4()[0] == 127 {
		for i, r := range routes {
			if r.Local && r.Dst.IsValid() && r.Dst.Addr().Is4() && r.Dst.Bits() < 32 && r.Dst.Contains(c.IP) &&
				(c.Nic == "" || r.Dev == c.Nic) {
				best = i
				break
			}
		}
	}
	if best < 0 {
		if pl.Nic == "" || pl.Prefix < 0 {
			what := "nic and cidr_netmask"
			switch {
			case pl.Nic != "":
				what = "cidr_netmask"
			case pl.Prefix >= 0:
				what = "nic"
			}
			on := ""
			if c.Nic != "" {
				on = " on " + c.Nic
			}
			if c.Proto >= 0 {
				on += fmt.Sprintf(" of protocol %d", c.Proto)
			}
			return pl, fmt.Errorf("%w%s contains %s: set %s", ErrNoRoute, on, c.IP, what)
		}
	} else {
		r := routes[best]
		if pl.Nic == "" {
			pl.Nic = r.Dev
		}
		if pl.Prefix < 0 {
			pl.Prefix = r.Dst.Bits()
		}
	}
	if c.V6 {
		return pl, nil
	}
	switch c.Broadcast {
	case "":
		if best >= 0 && routes[best].Src.IsValid() {
			for _, a := range addrs {
				if a.Prefix.Addr() == routes[best].Src && a.Broadcast.IsValid() {
					pl.Broadcast = a.Broadcast
					break
				}
			}
		}
	case "+", "-":
		pl.Broadcast = broadcastOf(c.IP, pl.Prefix, c.Broadcast == "+")
	default:
		pl.Broadcast = netip.MustParseAddr(c.Broadcast)
	}
	return pl, nil
}

// broadcastOf sets (set=true) or clears the host bits of an IPv4 address.
func broadcastOf(ip netip.Addr, bits int, set bool) netip.Addr {
	b := ip.As4()
	v := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
	host := uint32(0)
	if bits < 32 {
		host = ^uint32(0) >> bits
	}
	if set {
		v |= host
	} else {
		v &^= host
	}
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}
