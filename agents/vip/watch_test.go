package vip

import (
	"net"
	"net/netip"
	"testing"

	"golang.org/x/sys/unix"
)

// The watcher's judgement of each netlink event: only our address, link
// and (with check_link_status) link state count.
func TestWatchFaults(t *testing.T) {
	up := uint32(unix.IFF_UP | unix.IFF_LOWER_UP)
	w := watched{index: 4, prefix: netip.MustParsePrefix("192.0.2.30/24"), link: true, carrier: true}
	nolink := w
	nolink.link = false
	negotiating := w
	negotiating.carrier = false
	ipnet := func(s string) net.IPNet {
		ip, n, err := net.ParseCIDR(s)
		if err != nil {
			t.Fatal(err)
		}
		n.IP = ip
		return *n
	}
	for _, tc := range []struct {
		name  string
		w     watched
		link  bool // a link event (else an address event)
		index int
		flags uint32
		del   bool
		addr  string
		added bool
		fault bool
	}{
		{name: "carrier loss", w: w, link: true, index: 4, flags: unix.IFF_UP, fault: true},
		{name: "link down", w: w, link: true, index: 4, flags: 0, fault: true},
		{name: "interface deleted", w: w, link: true, index: 4, flags: up, del: true, fault: true},
		{name: "link up with carrier", w: w, link: true, index: 4, flags: up},
		{name: "no carrier yet after start brought the link up", w: negotiating, link: true, index: 4, flags: unix.IFF_UP},
		{name: "link down before any carrier", w: negotiating, link: true, index: 4, flags: 0, fault: true},
		{name: "another interface down", w: w, link: true, index: 5, flags: 0},
		{name: "link down, check_link_status off", w: nolink, link: true, index: 4, flags: 0},
		{name: "interface deleted, check_link_status off", w: nolink, link: true, index: 4, del: true, fault: true},
		{name: "address removed", w: w, index: 4, addr: "192.0.2.30/24", fault: true},
		{name: "address removed, check_link_status off", w: nolink, index: 4, addr: "192.0.2.30/24", fault: true},
		{name: "address added", w: w, index: 4, addr: "192.0.2.30/24", added: true},
		{name: "another address removed", w: w, index: 4, addr: "192.0.2.31/24"},
		{name: "same address, another prefix length", w: w, index: 4, addr: "192.0.2.30/25"},
		{name: "same address on another interface", w: w, index: 5, addr: "192.0.2.30/24"},
		{name: "IPv6 address removed", w: watched{index: 4, prefix: netip.MustParsePrefix("2001:db8::30/64")}, index: 4, addr: "2001:db8::30/64", fault: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var why string
			if tc.link {
				why = tc.w.linkFault(tc.index, tc.flags, tc.del)
			} else {
				why = tc.w.addrFault(tc.index, ipnet(tc.addr), tc.added)
			}
			if (why != "") != tc.fault {
				t.Fatalf("fault %q, want a fault: %t", why, tc.fault)
			}
		})
	}
}
