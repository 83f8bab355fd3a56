package vip

import (
	"errors"
	"fmt"
	"net/netip"

	"github.com/vishvananda/netlink/nl"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

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

// Routes reads the main table (and the local table) of ip's family and
// keeps the unicast (and local) routes whose destination contains ip: the
// only ones findif can choose. Each answer is decoded only as far as its
// destination until it is known to contain ip, so that a table holding a
// route per address of a busy interface costs little.
func (s *nlSystem) Routes(ip netip.Addr, local bool) ([]Route, error) {
	fam := uint8(unix.AF_INET)
	if ip.Is6() {
		fam = unix.AF_INET6
	}
	tables := []uint8{unix.RT_TABLE_MAIN}
	if local {
		tables = append(tables, unix.RT_TABLE_LOCAL)
	}
	var out []Route
	for _, table := range tables {
		msgs, err := retry(func() ([][]byte, error) {
			req := nl.NewNetlinkRequest(unix.RTM_GETROUTE, unix.NLM_F_DUMP)
			req.AddData(&nl.RtMsg{RtMsg: unix.RtMsg{Family: fam, Table: table}})
			return s.execute(req, unix.RTM_NEWROUTE)
		})
		if err != nil {
			return nil, fmt.Errorf("listing routes: %w", err)
		}
		for _, m := range msgs {
			if r, ok := parseRoute(m, fam, table, ip); ok {
				if r.index != 0 {
					if r.Dev, err = s.linkName(r.index); err != nil {
						return nil, err
					}
				}
				out = append(out, r.Route)
			}
		}
	}
	return out, nil
}

type routeMsg struct {
	Route
	index int
}

// parseRoute decodes an RTM_NEWROUTE payload of table when its destination
// contains ip (main table: unicast; local table: local routes).
func parseRoute(m []byte, fam, table uint8, ip netip.Addr) (routeMsg, bool) {
	const rtmsgLen = 12 // struct rtmsg
	if len(m) < rtmsgLen || m[0] != fam || nl.NativeEndian().Uint32(m[8:12])&unix.RTM_F_CLONED != 0 {
		return routeMsg{}, false
	}
	typ := m[7]
	if (table == unix.RT_TABLE_MAIN && typ != unix.RTN_UNICAST) || (table == unix.RT_TABLE_LOCAL && typ != unix.RTN_LOCAL) {
		return routeMsg{}, false
	}
	r := routeMsg{Route: Route{Scope: m[6], Protocol: m[5], Local: typ == unix.RTN_LOCAL}}
	tbl := uint32(m[4])
	var dst netip.Addr
	for b := m[rtmsgLen:]; len(b) >= 4; {
		l := int(nl.NativeEndian().Uint16(b[0:2]))
		if l < 4 || l > len(b) {
			return routeMsg{}, false
		}
		v := b[4:l]
		switch nl.NativeEndian().Uint16(b[2:4]) {
		case unix.RTA_DST:
			dst, _ = netip.AddrFromSlice(v)
		case unix.RTA_OIF:
			if len(v) == 4 {
				r.index = int(nl.NativeEndian().Uint32(v))
			}
		case unix.RTA_PREFSRC:
			r.Src, _ = netip.AddrFromSlice(v)
		case unix.RTA_PRIORITY:
			if len(v) == 4 {
				r.Metric = int(nl.NativeEndian().Uint32(v))
			}
		case unix.RTA_TABLE:
			if len(v) == 4 {
				tbl = nl.NativeEndian().Uint32(v)
			}
		}
		b = b[min((l+3)&^3, len(b)):]
	}
	if tbl != uint32(table) || !dst.IsValid() {
		return routeMsg{}, false // a default route, or another table (a kernel without strict checking)
	}
	r.Dst = netip.PrefixFrom(dst.Unmap(), int(m[1]))
	if !r.Dst.IsValid() || !r.Dst.Contains(ip) {
		return routeMsg{}, false
	}
	return r, true
}
