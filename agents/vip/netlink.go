package vip

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"runtime"
	"time"

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
	names map[int]string   // interface names by index, read once
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

// linkNames maps interface indexes to names.
func (s *nlSystem) linkNames() (map[int]string, error) {
	if s.names != nil {
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
	s.names = m
	return m, nil
}

func (s *nlSystem) Routes(v6, local bool) ([]Route, error) {
	names, err := s.linkNames()
	if err != nil {
		return nil, err
	}
	var out []Route
	tables := []int{unix.RT_TABLE_MAIN}
	if local {
		tables = append(tables, unix.RT_TABLE_LOCAL)
	}
	for _, table := range tables {
		rs, err := retry(func() ([]netlink.Route, error) {
			return s.h.RouteListFiltered(family(v6), &netlink.Route{Table: table}, netlink.RT_FILTER_TABLE)
		})
		if err != nil {
			return nil, fmt.Errorf("listing routes: %w", err)
		}
		for _, r := range rs {
			isLocal := r.Type == unix.RTN_LOCAL
			if (table == unix.RT_TABLE_MAIN && r.Type != unix.RTN_UNICAST) || (table == unix.RT_TABLE_LOCAL && !isLocal) {
				continue
			}
			x := Route{Dev: names[r.LinkIndex], Scope: uint8(r.Scope), Local: isLocal, Metric: r.Priority}
			if r.Dst != nil {
				if p, ok := prefixOf(r.Dst); ok {
					x.Dst = p
				}
			}
			if a, ok := netip.AddrFromSlice(r.Src); ok && r.Src != nil {
				x.Src = a.Unmap()
			}
			out = append(out, x)
		}
	}
	return out, nil
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

// rawSocket is our own netlink socket in the namespace, with strict
// checking on where the kernel has it (4.20 and later), so that it filters
// address dumps by interface itself.
func (s *nlSystem) rawSocket() (*nl.SocketHandle, error) {
	if s.raw != nil {
		return s.raw, nil
	}
	sock, err := nl.GetNetlinkSocketAt(s.ns, netns.None(), unix.NETLINK_ROUTE)
	if err != nil {
		return nil, fmt.Errorf("netlink socket: %w", err)
	}
	// Best effort: without it the kernel sends every address and
	// parseIfAddr skips the other interfaces' ones.
	_ = unix.SetsockoptInt(sock.GetFd(), unix.SOL_NETLINK, unix.NETLINK_GET_STRICT_CHK, 1)
	s.raw = &nl.SocketHandle{Socket: sock}
	return s.raw, nil
}

func (s *nlSystem) execute(req *nl.NetlinkRequest, resType uint16) ([][]byte, error) {
	sh, err := s.rawSocket()
	if err != nil {
		return nil, err
	}
	req.Sockets = map[int]*nl.SocketHandle{unix.NETLINK_ROUTE: sh}
	return req.Execute(unix.NETLINK_ROUTE, resType)
}

// AddrsOf reads the entries of ip on one interface. IPv6 keys an
// interface's addresses by address alone: one request for that address
// (RTM_GETADDR without dump). IPv4 has no such request: a dump of the one
// interface's IPv4 addresses (filtered by the kernel under strict checking)
// of which only ip's entries are decoded.
func (s *nlSystem) AddrsOf(l *Link, ip netip.Addr) ([]IfAddr, error) {
	var msgs [][]byte
	var err error
	if ip.Is6() {
		msgs, err = s.getAddr6(l, ip)
	} else {
		msgs, err = retry(func() ([][]byte, error) {
			req := nl.NewNetlinkRequest(unix.RTM_GETADDR, unix.NLM_F_DUMP)
			m := nl.NewIfAddrmsg(unix.AF_INET)
			m.Index = uint32(l.Index)
			req.AddData(m)
			return s.execute(req, unix.RTM_NEWADDR)
		})
	}
	if err != nil {
		return nil, fmt.Errorf("reading %s on %s: %w", ip, l.Name, err)
	}
	var out []IfAddr
	for _, m := range msgs {
		if a, ok := parseIfAddr(m, l.Index, ip); ok {
			a.Dev = l.Name
			out = append(out, a)
		}
	}
	return out, nil
}

// getAddr6 asks the kernel for one IPv6 address of one interface; none is
// not an error.
func (s *nlSystem) getAddr6(l *Link, ip netip.Addr) ([][]byte, error) {
	req := nl.NewNetlinkRequest(unix.RTM_GETADDR, 0)
	m := nl.NewIfAddrmsg(unix.AF_INET6)
	m.Index = uint32(l.Index)
	req.AddData(m)
	req.AddData(nl.NewRtAttr(unix.IFA_ADDRESS, ip.AsSlice()))
	msgs, err := s.execute(req, unix.RTM_NEWADDR)
	if errors.Is(err, unix.EADDRNOTAVAIL) || errors.Is(err, unix.ENODEV) || errors.Is(err, unix.ENOENT) {
		return nil, nil
	}
	return msgs, err
}

// parseIfAddr decodes an RTM_NEWADDR payload when it is ip on interface
// index: its prefix length, label, broadcast and flags.
func parseIfAddr(m []byte, index int, ip netip.Addr) (IfAddr, bool) {
	if len(m) < unix.SizeofIfAddrmsg {
		return IfAddr{}, false
	}
	if int(nl.NativeEndian().Uint32(m[4:8])) != index {
		return IfAddr{}, false
	}
	attrs, err := nl.ParseRouteAttr(m[unix.SizeofIfAddrmsg:])
	if err != nil {
		return IfAddr{}, false
	}
	x := IfAddr{Flags: uint32(m[2])}
	var addr, local netip.Addr
	for _, a := range attrs {
		switch a.Attr.Type {
		case unix.IFA_ADDRESS:
			addr, _ = netip.AddrFromSlice(a.Value)
		case unix.IFA_LOCAL:
			local, _ = netip.AddrFromSlice(a.Value)
		case unix.IFA_LABEL:
			x.Label = string(trimNUL(a.Value))
		case unix.IFA_BROADCAST:
			x.Broadcast, _ = netip.AddrFromSlice(a.Value)
		case unix.IFA_FLAGS:
			if len(a.Value) == 4 {
				x.Flags = nl.NativeEndian().Uint32(a.Value)
			}
		}
	}
	if local.IsValid() { // IPv4: IFA_ADDRESS is the peer of a point-to-point address
		addr = local
	}
	if addr.Unmap() != ip {
		return IfAddr{}, false
	}
	x.Prefix = netip.PrefixFrom(ip, int(m[1]))
	return x, true
}

func trimNUL(b []byte) []byte {
	for i, c := range b {
		if c == 0 {
			return b[:i]
		}
	}
	return b
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

func (s *nlSystem) FlushRouteCache(v6 bool) error {
	p := "/proc/sys/net/ipv4/route/flush"
	if v6 {
		p = "/proc/sys/net/ipv6/route/flush"
	}
	return s.Do(func() error {
		if err := os.WriteFile(p, []byte("1\n"), 0); err != nil {
			return fmt.Errorf("flushing the route cache: %w", err)
		}
		return nil
	})
}

// Probe sends two RFC 5227 probes a second apart on a packet socket opened
// in the namespace.
func (s *nlSystem) Probe(ctx context.Context, l *Link, ip netip.Addr) error {
	ifi := netInterface(l)
	if len(ifi.HardwareAddr) != 6 {
		return fmt.Errorf("interface %s has no Ethernet address", ifi.Name)
	}
	var conn net.PacketConn
	if err := s.Do(func() error {
		var err error
		conn, err = listenARP(ifi)
		return err
	}); err != nil {
		return err
	}
	defer conn.Close()
	return probeARP(ctx, conn, ifi.HardwareAddr, ip, 2, time.Second)
}

func (s *nlSystem) OpenAnnouncer(l *Link, ip netip.Addr) (announcer, error) {
	var a announcer
	err := s.Do(func() error {
		var err error
		a, err = openAnnouncer(netInterface(l), ip)
		return err
	})
	return a, err
}

// Do runs f on an OS thread in the namespace: what it opens (packet and
// ICMPv6 sockets, /proc/sys/net files) belongs to that namespace for good.
// A thread that could not be moved back is never reused.
func (s *nlSystem) Do(f func() error) error {
	return inNetns(s.ns, f)
}

func inNetns(ns netns.NsHandle, f func() error) error {
	if !ns.IsOpen() {
		return f()
	}
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := netns.Get()
		if err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("reading the current network namespace: %w", err)
			return
		}
		defer orig.Close()
		if err := netns.Set(ns); err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("entering the network namespace: %w", err)
			return
		}
		ferr := f()
		if err := netns.Set(orig); err != nil {
			// Leave the thread locked: it ends with this goroutine.
			errc <- fmt.Errorf("returning from the network namespace: %w", err)
			return
		}
		runtime.UnlockOSThread()
		errc <- ferr
	}()
	return <-errc
}
