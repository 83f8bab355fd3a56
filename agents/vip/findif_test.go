package vip

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
)

func rt(dst, dev, src string, scope uint8, metric int) Route {
	r := Route{Dev: dev, Scope: scope, Metric: metric}
	if dst != "default" {
		r.Dst = netip.MustParsePrefix(dst)
	}
	if src != "" {
		r.Src = netip.MustParseAddr(src)
	}
	return r
}

const universe = 0

// A node with two networks, a default route, a host route, a more specific
// route on another interface, and IPv6.
var table = []Route{
	rt("default", "eth0", "", universe, 0),
	rt("10.10.102.0/24", "eth0", "10.10.102.11", scopeLink, 0),
	rt("10.10.0.0/16", "eth1", "10.10.1.5", scopeLink, 0),
	rt("10.10.102.128/25", "eth2", "10.10.102.200", scopeLink, 0),
	rt("10.10.102.45/32", "eth3", "", scopeLink, 0),
	rt("172.16.0.0/12", "eth0", "", universe, 0), // via a gateway: not link scope
	rt("192.0.2.0/24", "eth4", "192.0.2.1", scopeLink, 100),
	rt("192.0.2.0/24", "eth5", "192.0.2.9", scopeLink, 50),
	rt("2001:db8:1::/64", "eth0", "", universe, 256),
	rt("2001:db8::/48", "eth1", "", universe, 256),
	rt("2001:db8:1::5/128", "eth2", "", universe, 256),
	rt("fe80::/64", "eth0", "", universe, 256),
	// a router-advertised /64 beside the kernel's /48 of an address
	{Dst: netip.MustParsePrefix("2001:db8:7::/64"), Dev: "eth6", Metric: 100, Protocol: 9},
	{Dst: netip.MustParsePrefix("2001:db8:7::/48"), Dev: "eth7", Metric: 256, Protocol: 2},
	{Dst: netip.MustParsePrefix("127.0.0.0/8"), Dev: "lo", Scope: 254, Local: true},
	{Dst: netip.MustParsePrefix("127.0.0.1/32"), Dev: "lo", Scope: 254, Local: true},
}

var ifaddrs = []IfAddr{
	{Dev: "eth0", Prefix: netip.MustParsePrefix("10.10.102.11/24"), Broadcast: netip.MustParseAddr("10.10.102.255")},
	{Dev: "eth1", Prefix: netip.MustParsePrefix("10.10.1.5/16")},
}

func TestFindIf(t *testing.T) {
	cases := []struct {
		name      string
		ip        string
		nic       string
		prefix    int
		brd       string
		proto     string
		want      Placement
		wantBrd   string
		noRoute   bool
		wantInErr string
	}{
		{name: "longest prefix", ip: "10.10.102.45", want: Placement{Nic: "eth0", Prefix: 24}, wantBrd: "10.10.102.255"},
		{name: "more specific elsewhere", ip: "10.10.102.130", want: Placement{Nic: "eth2", Prefix: 25}},
		{name: "nic given narrows", ip: "10.10.102.130", nic: "eth0", want: Placement{Nic: "eth0", Prefix: 24}, wantBrd: "10.10.102.255"},
		{name: "prefix given caps", ip: "10.10.102.130", prefix: 24, want: Placement{Nic: "eth0", Prefix: 24}, wantBrd: "10.10.102.255"},
		{name: "prefix given wider", ip: "10.10.102.130", prefix: 20, want: Placement{Nic: "eth1", Prefix: 20}},
		{name: "wider network", ip: "10.10.5.5", want: Placement{Nic: "eth1", Prefix: 16}},
		{name: "gateway route does not count", ip: "172.16.1.1", noRoute: true, wantInErr: "set nic and cidr_netmask"},
		{name: "default does not count", ip: "198.51.100.7", noRoute: true},
		{name: "nic given, no route", ip: "198.51.100.7", nic: "eth9", noRoute: true, wantInErr: "on eth9"},
		{name: "both given, no route needed", ip: "198.51.100.7", nic: "eth9", prefix: 24, want: Placement{Nic: "eth9", Prefix: 24}},
		{name: "prefix given, nic found", ip: "10.10.5.5", prefix: 28, want: Placement{Nic: "eth1", Prefix: 28}},
		{name: "lower metric wins a tie", ip: "192.0.2.77", want: Placement{Nic: "eth5", Prefix: 24}},
		{name: "broadcast +", ip: "10.10.5.5", brd: "+", want: Placement{Nic: "eth1", Prefix: 16}, wantBrd: "10.10.255.255"},
		{name: "broadcast -", ip: "10.10.5.5", brd: "-", want: Placement{Nic: "eth1", Prefix: 16}, wantBrd: "10.10.0.0"},
		{name: "broadcast given", ip: "10.10.5.5", brd: "10.10.9.9", want: Placement{Nic: "eth1", Prefix: 16}, wantBrd: "10.10.9.9"},
		{name: "loopback", ip: "127.0.0.5", want: Placement{Nic: "lo", Prefix: 8}},
		{name: "v6 longest", ip: "2001:db8:1::10", want: Placement{Nic: "eth0", Prefix: 64}},
		{name: "v6 wider", ip: "2001:db8:0:5::10", want: Placement{Nic: "eth1", Prefix: 48}},
		{name: "v6 host route ignored", ip: "2001:db8:1::5", want: Placement{Nic: "eth0", Prefix: 64}},
		{name: "v6 link-local with nic", ip: "fe80::10", nic: "eth0", want: Placement{Nic: "eth0", Prefix: 64}},
		{name: "v6 none", ip: "2001:db9::1", noRoute: true},
		{name: "v6 prefix given", ip: "2001:db9::1", nic: "eth0", prefix: 64, want: Placement{Nic: "eth0", Prefix: 64}},
		{name: "any protocol: the router's /64", ip: "2001:db8:7::10", want: Placement{Nic: "eth6", Prefix: 64}},
		{name: "proto kernel", ip: "2001:db8:7::10", proto: "kernel", want: Placement{Nic: "eth7", Prefix: 48}},
		{name: "proto ra", ip: "2001:db8:7::10", proto: "ra", want: Placement{Nic: "eth6", Prefix: 64}},
		{name: "proto by number", ip: "2001:db8:7::10", proto: "2", want: Placement{Nic: "eth7", Prefix: 48}},
		{name: "proto matches none", ip: "2001:db8:7::10", proto: "bird", noRoute: true, wantInErr: "of protocol 12"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ip := netip.MustParseAddr(c.ip)
			cfg := &Config{IP: ip, V6: ip.Is6(), Nic: c.nic, Prefix: c.prefix, Broadcast: c.brd, Proto: -1}
			if c.prefix == 0 {
				cfg.Prefix = -1
			}
			if c.proto != "" {
				n, err := ParseRouteProto(c.proto)
				if err != nil {
					t.Fatal(err)
				}
				cfg.Proto = n
			}
			got, err := FindIf(cfg, table, ifaddrs)
			if c.noRoute {
				if !errors.Is(err, ErrNoRoute) {
					t.Fatalf("got %+v, %v; want ErrNoRoute", got, err)
				}
				if c.wantInErr != "" && !strings.Contains(err.Error(), c.wantInErr) {
					t.Fatalf("error %q lacks %q", err, c.wantInErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.wantBrd != "" {
				c.want.Broadcast = netip.MustParseAddr(c.wantBrd)
			}
			if got != c.want {
				t.Fatalf("got %+v, want %+v", got, c.want)
			}
		})
	}
}

func TestParseRouteProto(t *testing.T) {
	for _, c := range []struct {
		in   string
		want int
		bad  bool
	}{{"kernel", 2, false}, {"ra", 9, false}, {"static", 4, false}, {"0", 0, false}, {"255", 255, false},
		{"256", 0, true}, {"-1", 0, true}, {"Kernel", 0, true}, {"kernel ", 0, true}, {"99999999999999999999", 0, true}} {
		got, err := ParseRouteProto(c.in)
		if (err != nil) != c.bad || (!c.bad && got != c.want) {
			t.Errorf("ParseRouteProto(%q) = %d, %v; want %d (bad %v)", c.in, got, err, c.want, c.bad)
		}
	}
}

func TestBroadcastOf(t *testing.T) {
	ip := netip.MustParseAddr("192.0.2.77")
	for _, c := range []struct {
		bits int
		set  bool
		want string
	}{{24, true, "192.0.2.255"}, {24, false, "192.0.2.0"}, {32, true, "192.0.2.77"}, {1, true, "255.255.255.255"}, {30, true, "192.0.2.79"}} {
		if got := broadcastOf(ip, c.bits, c.set); got.String() != c.want {
			t.Errorf("broadcastOf(%d, %v) = %s, want %s", c.bits, c.set, got, c.want)
		}
	}
}
