package vip

import (
	"net/netip"
	"testing"

	"github.com/vishvananda/netlink/nl"
	"golang.org/x/sys/unix"
)

// routeBytes builds an RTM_NEWROUTE payload as the kernel sends it.
func routeBytes(fam, dstLen, table, scope, typ uint8, flags uint32, attrs ...*nl.RtAttr) []byte {
	m := &nl.RtMsg{RtMsg: unix.RtMsg{Family: fam, Dst_len: dstLen, Table: table, Scope: scope, Type: typ, Flags: flags}}
	b := m.Serialize()
	for _, a := range attrs {
		b = append(b, a.Serialize()...)
	}
	return b
}

func u32(v uint32) []byte {
	b := make([]byte, 4)
	nl.NativeEndian().PutUint32(b, v)
	return b
}

func TestParseRoute(t *testing.T) {
	ip := netip.MustParseAddr("192.0.2.10")
	dst := nl.NewRtAttr(unix.RTA_DST, []byte{192, 0, 2, 0})
	oif := nl.NewRtAttr(unix.RTA_OIF, u32(7))
	src := nl.NewRtAttr(unix.RTA_PREFSRC, []byte{192, 0, 2, 1})
	prio := nl.NewRtAttr(unix.RTA_PRIORITY, u32(100))
	tbl := func(n uint32) *nl.RtAttr { return nl.NewRtAttr(unix.RTA_TABLE, u32(n)) }
	main, local := uint8(unix.RT_TABLE_MAIN), uint8(unix.RT_TABLE_LOCAL)
	for _, c := range []struct {
		name  string
		m     []byte
		table uint8
		want  *Route
		index int
	}{
		{"link route", routeBytes(unix.AF_INET, 24, main, unix.RT_SCOPE_LINK, unix.RTN_UNICAST, 0, tbl(254), dst, oif, src, prio), main,
			&Route{Dst: netip.MustParsePrefix("192.0.2.0/24"), Src: netip.MustParseAddr("192.0.2.1"), Scope: scopeLink, Metric: 100}, 7},
		{"does not contain the address", routeBytes(unix.AF_INET, 24, main, unix.RT_SCOPE_LINK, unix.RTN_UNICAST, 0, nl.NewRtAttr(unix.RTA_DST, []byte{198, 51, 100, 0}), oif), main, nil, 0},
		{"default route", routeBytes(unix.AF_INET, 0, main, 0, unix.RTN_UNICAST, 0, oif), main, nil, 0},
		{"another table (no strict checking)", routeBytes(unix.AF_INET, 24, 100, unix.RT_SCOPE_LINK, unix.RTN_UNICAST, 0, tbl(100), dst, oif), main, nil, 0},
		{"a table beyond 255", routeBytes(unix.AF_INET, 24, unix.RT_TABLE_UNSPEC, unix.RT_SCOPE_LINK, unix.RTN_UNICAST, 0, tbl(1000), dst, oif), main, nil, 0},
		{"cloned", routeBytes(unix.AF_INET, 24, main, unix.RT_SCOPE_LINK, unix.RTN_UNICAST, unix.RTM_F_CLONED, dst, oif), main, nil, 0},
		{"unreachable", routeBytes(unix.AF_INET, 24, main, unix.RT_SCOPE_LINK, unix.RTN_UNREACHABLE, 0, dst), main, nil, 0},
		{"other family", routeBytes(unix.AF_INET6, 24, main, unix.RT_SCOPE_LINK, unix.RTN_UNICAST, 0, dst, oif), main, nil, 0},
		{"local table, local route", routeBytes(unix.AF_INET, 24, local, unix.RT_SCOPE_HOST, unix.RTN_LOCAL, 0, dst, oif), local,
			&Route{Dst: netip.MustParsePrefix("192.0.2.0/24"), Scope: unix.RT_SCOPE_HOST, Local: true}, 7},
		{"local table, broadcast", routeBytes(unix.AF_INET, 24, local, unix.RT_SCOPE_LINK, unix.RTN_BROADCAST, 0, dst, oif), local, nil, 0},
		{"truncated attribute", routeBytes(unix.AF_INET, 24, main, unix.RT_SCOPE_LINK, unix.RTN_UNICAST, 0, dst)[:14], main, nil, 0},
		{"short", []byte{unix.AF_INET, 24}, main, nil, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			r, ok := parseRoute(c.m, unix.AF_INET, c.table, ip)
			if ok != (c.want != nil) {
				t.Fatalf("ok = %v, route %+v", ok, r)
			}
			if ok && (r.Route != *c.want || r.index != c.index) {
				t.Fatalf("got %+v (index %d), want %+v (index %d)", r.Route, r.index, *c.want, c.index)
			}
		})
	}
}

func FuzzParseRoute(f *testing.F) {
	f.Add(routeBytes(unix.AF_INET, 24, unix.RT_TABLE_MAIN, unix.RT_SCOPE_LINK, unix.RTN_UNICAST, 0,
		nl.NewRtAttr(unix.RTA_DST, []byte{192, 0, 2, 0}), nl.NewRtAttr(unix.RTA_OIF, u32(2))))
	f.Fuzz(func(t *testing.T, m []byte) {
		for _, ip := range []netip.Addr{netip.MustParseAddr("192.0.2.10"), netip.MustParseAddr("2001:db8::1")} {
			parseRoute(m, unix.AF_INET, unix.RT_TABLE_MAIN, ip)
			parseRoute(m, unix.AF_INET6, unix.RT_TABLE_LOCAL, ip)
		}
		parseIfAddr(m, 2, netip.MustParseAddr("192.0.2.10"))
	})
}
