package vip

import (
	"context"
	"errors"
	"net"
	"net/netip"
)

// system is the node as the agent sees it: interfaces, addresses, routes,
// the IPv6 address label table and the sockets that announce an address.
// The netlink implementation (netlink.go) works in our own network
// namespace or in network_namespace; tests swap in a fake (fake_test.go)
// so that start, stop, monitor and validate-all run without root.
type system interface {
	// Link finds an interface by name; a missing one is errNoLink.
	Link(name string) (*Link, error)
	// SetLinkUp brings an interface up.
	SetLinkUp(l *Link) error
	// Routes lists the main table's unicast routes (and, with local, the
	// local table's local routes) whose destination contains ip.
	Routes(ip netip.Addr, local bool) ([]Route, error)
	// Addrs lists the family's addresses on every interface.
	Addrs(v6 bool) ([]IfAddr, error)
	// AddrsOf lists the entries of one address on one interface (the same
	// address may be there with several prefix lengths): what monitor
	// needs, without reading every address of the node.
	AddrsOf(l *Link, ip netip.Addr) ([]IfAddr, error)
	// AddAddr and DelAddr add and remove one address of an interface.
	AddAddr(l *Link, a NewAddr) error
	DelAddr(l *Link, p netip.Prefix) error
	// SetAddrLabel adds or deletes ip/128 in the IPv6 address label table.
	SetAddrLabel(add bool, ip netip.Addr, label uint32) error
	// FlushRouteCache does `ip route flush cache` for the family.
	FlushRouteCache(v6 bool) error
	// Probe runs the RFC 5227 collision check for an IPv4 address
	// (errConflict when another station answers).
	Probe(ctx context.Context, l *Link, ip netip.Addr) error
	// OpenAnnouncer opens what announces ip on l (gratuitous ARP or
	// unsolicited neighbour advertisements); Do runs each round in the
	// namespace.
	OpenAnnouncer(l *Link, ip netip.Addr) (announcer, error)
	Do(f func() error) error
	Close()
}

// Link is one network interface.
type Link struct {
	Index        int
	Name         string
	MTU          int
	HardwareAddr net.HardwareAddr
	Up           bool // administratively up
	Carrier      bool // lower layer up
}

// NewAddr is an address to add, with the flags the parameters ask for.
type NewAddr struct {
	Prefix        netip.Prefix
	Broadcast     netip.Addr // IPv4; invalid: none
	Label         string
	HostScope     bool // 127/8, as ip(8) does
	NoDAD         bool
	NoPrefixRoute bool
	PreferredLft  uint32 // IPv6; Forever: infinite
}

var (
	// errNoNetns says the network_namespace does not exist on this node.
	errNoNetns = errors.New("network namespace does not exist")
	// errNoLink says an interface does not exist.
	errNoLink = errors.New("no such interface")
	// errAddrNotAvail is what DelAddr returns for an address that is not
	// there (EADDRNOTAVAIL).
	errAddrNotAvail = errors.New("address not available")
	// errAddrExists is what AddAddr returns for an address already there
	// (EEXIST).
	errAddrExists = errors.New("address exists")
)

// netInterface is the net.Interface the packet libraries want, built
// without asking the kernel again (which would look in the calling
// thread's namespace).
func netInterface(l *Link) *net.Interface {
	ifi := &net.Interface{Index: l.Index, MTU: l.MTU, Name: l.Name, HardwareAddr: l.HardwareAddr}
	if l.Up {
		ifi.Flags |= net.FlagUp
	}
	return ifi
}
