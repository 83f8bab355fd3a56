package vip

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netlink/nl"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// nlSystem is the node seen through netlink, in our own network namespace
// or in network_namespace.
type nlSystem struct {
	ns    netns.NsHandle // -1: the current namespace
	h     *netlink.Handle
	raw   *nl.SocketHandle // our own requests (AddrsOf, the label table)
	names map[int]string   // interface names by index, as read so far
	all   bool             // names holds every interface
}

// openSystem opens a netlink handle in the named namespace ("" = ours).
func openSystem(nsName string) (system, error) {
	s := &nlSystem{ns: netns.None()}
	if nsName != "" {
		ns, err := netns.GetFromName(nsName)
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				return nil, fmt.Errorf("%w: %s (/run/netns/%s)", errNoNetns, nsName, nsName)
			}
			return nil, fmt.Errorf("opening network namespace %s: %w", nsName, err)
		}
		s.ns = ns
	}
	h, err := netlink.NewHandleAt(s.ns, unix.NETLINK_ROUTE)
	if err != nil {
		s.ns.Close()
		return nil, fmt.Errorf("netlink socket: %w", err)
	}
	// Strict checking (Linux 4.20 and later) makes the kernel itself
	// filter dumps by what the request names (the routing table, the
	// interface): an interface holding 1,000 addresses then costs monitor
	// and findif nothing. Without it the same answers come, filtered here.
	_ = h.SetStrictCheck(true)
	s.h = h
	return s, nil
}

func (s *nlSystem) Close() {
	if s.raw != nil {
		s.raw.Close()
	}
	if s.h != nil {
		s.h.Close()
	}
	if s.ns.IsOpen() {
		s.ns.Close()
	}
}

// retry runs a netlink dump again when the kernel says it was interrupted
// (the results would be inconsistent).
func retry[T any](f func() (T, error)) (T, error) {
	var v T
	var err error
	for i := 0; i < 5; i++ {
		v, err = f()
		if !errors.Is(err, netlink.ErrDumpInterrupted) {
			return v, err
		}
	}
	return v, err
}

func family(v6 bool) int {
	if v6 {
		return netlink.FAMILY_V6
	}
	return netlink.FAMILY_V4
}

// linkNames maps every interface's index to its name.
func (s *nlSystem) linkNames() (map[int]string, error) {
	if s.all {
		return s.names, nil
	}
	links, err := retry(s.h.LinkList)
	if err != nil {
		return nil, fmt.Errorf("listing interfaces: %w", err)
	}
	m := make(map[int]string, len(links))
	for _, l := range links {
		m[l.Attrs().Index] = l.Attrs().Name
	}
	s.names, s.all = m, true
	return m, nil
}

// linkName names one interface, asking the kernel for that one alone: a
// dump of every interface costs a node with hundreds of tap devices dearly.
func (s *nlSystem) linkName(index int) (string, error) {
	if n, ok := s.names[index]; ok || s.all {
		return n, nil
	}
	l, err := s.h.LinkByIndex(index)
	if err != nil {
		var nf netlink.LinkNotFoundError
		if errors.As(err, &nf) || errors.Is(err, unix.ENODEV) {
			return "", nil // gone since the route was read
		}
		return "", fmt.Errorf("looking up interface %d: %w", index, err)
	}
	if s.names == nil {
		s.names = map[int]string{}
	}
	s.names[index] = l.Attrs().Name
	return l.Attrs().Name, nil
}

func prefixOf(n *net.IPNet) (netip.Prefix, bool) {
	a, ok := netip.AddrFromSlice(n.IP)
	if !ok {
		return netip.Prefix{}, false
	}
	ones, _ := n.Mask.Size()
	return netip.PrefixFrom(a.Unmap(), ones), true
}

func ipNet(p netip.Prefix) *net.IPNet {
	return &net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}
}

func (s *nlSystem) Addrs(v6 bool) ([]IfAddr, error) {
	names, err := s.linkNames()
	if err != nil {
		return nil, err
	}
	as, err := retry(func() ([]netlink.Addr, error) { return s.h.AddrList(nil, family(v6)) })
	if err != nil {
		return nil, fmt.Errorf("listing addresses: %w", err)
	}
	out := make([]IfAddr, 0, len(as))
	for _, a := range as {
		if a.IPNet == nil {
			continue
		}
		p, ok := prefixOf(a.IPNet)
		if !ok {
			continue
		}
		x := IfAddr{Dev: names[a.LinkIndex], Prefix: p, Label: a.Label, Flags: uint32(a.Flags)}
		if b, ok := netip.AddrFromSlice(a.Broadcast); ok && a.Broadcast != nil {
			x.Broadcast = b.Unmap()
		}
		out = append(out, x)
	}
	return out, nil
}

func (s *nlSystem) Link(name string) (*Link, error) {
	l, err := s.h.LinkByName(name)
	if err != nil {
		var nf netlink.LinkNotFoundError
		if errors.As(err, &nf) || errors.Is(err, unix.ENODEV) {
			return nil, fmt.Errorf("%w: %s", errNoLink, name)
		}
		return nil, fmt.Errorf("looking up interface %s: %w", name, err)
	}
	a := l.Attrs()
	return &Link{Index: a.Index, Name: a.Name, MTU: a.MTU, HardwareAddr: a.HardwareAddr,
		Up: a.Flags&net.FlagUp != 0, Carrier: a.RawFlags&unix.IFF_LOWER_UP != 0}, nil
}

func (s *nlSystem) SetLinkUp(l *Link) error {
	return s.h.LinkSetUp(&netlink.Device{LinkAttrs: netlink.LinkAttrs{Index: l.Index, Name: l.Name}})
}

func nlLink(l *Link) netlink.Link {
	return &netlink.Device{LinkAttrs: netlink.LinkAttrs{Index: l.Index, Name: l.Name}}
}

// netipv4zero asks netlink for no broadcast address at all.
var netipv4zero = net.IP{0, 0, 0, 0}

func (s *nlSystem) AddAddr(l *Link, na NewAddr) error {
	a := &netlink.Addr{IPNet: ipNet(na.Prefix), Label: na.Label}
	if na.HostScope {
		a.Scope = unix.RT_SCOPE_HOST
	}
	if na.Prefix.Addr().Is6() {
		if na.NoDAD {
			a.Flags |= unix.IFA_F_NODAD
		}
		if na.PreferredLft != Forever {
			a.PreferedLft = int(na.PreferredLft)
			a.ValidLft = int(Forever)
		}
	} else if na.Broadcast.IsValid() {
		a.Broadcast = na.Broadcast.AsSlice()
	} else {
		a.Broadcast = netipv4zero // no broadcast, as `ip addr add` without brd
	}
	if na.NoPrefixRoute {
		a.Flags |= unix.IFA_F_NOPREFIXROUTE
	}
	err := s.h.AddrAdd(nlLink(l), a)
	if errors.Is(err, unix.EEXIST) {
		return fmt.Errorf("%w: %w", errAddrExists, err)
	}
	return err
}

func (s *nlSystem) DelAddr(l *Link, p netip.Prefix) error {
	a := &netlink.Addr{IPNet: ipNet(p)}
	if p.Addr().Is4() && p.Addr().As4()[0] == 127 {
		a.Scope = unix.RT_SCOPE_HOST
	}
	err := s.h.AddrDel(nlLink(l), a)
	if errors.Is(err, unix.EADDRNOTAVAIL) {
		return fmt.Errorf("%w: %w", errAddrNotAvail, err)
	}
	return err
}
