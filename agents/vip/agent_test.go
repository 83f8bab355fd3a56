package vip

import (
	"errors"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stackha/stackha/instance"
	"github.com/stackha/stackha/ocf"
	"golang.org/x/sys/unix"
)

// One action on the fake node: the exit code, the changes made (in order)
// and, optionally, a reason that must appear.
type fakeCase struct {
	name     string
	setup    func(f *fakeSys)
	action   string
	interval time.Duration
	level    int
	params   []string
	code     ocf.Code
	ops      []string
	reason   string
	check    func(t *testing.T, f *fakeSys)
}

func runFakeCases(t *testing.T, cases []fakeCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newFake()
			withFake(t, f)
			if c.setup != nil {
				c.setup(f)
			}
			f.ops = nil
			err := fakeRun(t, c.action, c.interval, c.level, c.params...)
			if got := ocf.CodeOf(err); got != c.code {
				t.Fatalf("%s %v: code %d (%v), want %d", c.action, c.params, got, err, c.code)
			}
			if c.reason != "" && (err == nil || !strings.Contains(err.Error(), c.reason)) {
				t.Errorf("reason %v, want it to contain %q", err, c.reason)
			}
			if !slices.Equal(f.ops, c.ops) {
				t.Errorf("changes:\n%s\nwant:\n%s", strings.Join(f.ops, "\n"), strings.Join(c.ops, "\n"))
			}
			if c.check != nil {
				c.check(t, f)
			}
		})
	}
}

var (
	ip4 = []string{"ip", "192.0.2.10", "arp_count", "1"}
	ip6 = []string{"ip", "2001:db8:5::10", "arp_count", "1", "nodad", "true"}
)

func with(base []string, kv ...string) []string { return append(slices.Clone(base), kv...) }

// present puts an address on the fake.
func present(dev, prefix, label string, flags uint32) func(f *fakeSys) {
	return func(f *fakeSys) {
		f.addrs = append(f.addrs, IfAddr{Dev: dev, Prefix: netip.MustParsePrefix(prefix), Label: label, Flags: flags})
	}
}

func TestFakeStart(t *testing.T) {
	runFakeCases(t, []fakeCase{
		{name: "IPv4 placed by the routing table", action: "start", params: ip4,
			ops: []string{"add 192.0.2.10/24 dev eth0 brd 192.0.2.255", "announce 192.0.2.10 on eth0"},
			check: func(t *testing.T, f *fakeSys) {
				rec := fakeRecord(t)
				if rec == nil || rec.IP != "192.0.2.10" || rec.Prefix != 24 || rec.Nic != "eth0" {
					t.Fatalf("record %+v", rec)
				}
			}},
		{name: "IPv6 with nic, prefix and a lifetime", action: "start",
			params: with(ip6, "nic", "eth0", "cidr_netmask", "64", "preferred_lft", "0", "noprefixroute", "true"),
			ops: []string{"addrlabel add 2001:db8:5::10/128 label 99", "add 2001:db8:5::10/64 dev eth0 nodad noprefixroute preferred_lft 0",
				"announce 2001:db8:5::10 on eth0"}},
		{name: "IPv6 without the address label", action: "start",
			params: with(ip6, "nic", "eth0", "cidr_netmask", "64", "lvs_ipv6_addrlabel", "false"),
			ops:    []string{"add 2001:db8:5::10/64 dev eth0 nodad", "announce 2001:db8:5::10 on eth0"}},
		{name: "nic given by an alternative name", action: "start",
			params: []string{"ip", "192.0.2.10", "nic", "enx00005e005301beef", "iflabel", "vip", "arp_count", "1"},
			ops:    []string{"add 192.0.2.10/24 dev eth0 brd 192.0.2.255 label eth0:vip", "announce 192.0.2.10 on eth0"},
			check: func(t *testing.T, f *fakeSys) {
				if rec := fakeRecord(t); rec == nil || rec.Nic != "eth0" {
					t.Fatalf("the record does not name the interface's own name: %+v", rec)
				}
			}},
		{name: "proto keeps another protocol's route out", action: "start", params: []string{"ip", "192.0.2.10", "proto", "ra"},
			code: ocf.ErrArgs, reason: "no route of protocol 9 contains 192.0.2.10"},
		{name: "label and explicit broadcast", action: "start",
			params: with(ip4, "iflabel", "web", "broadcast", "+", "cidr_netmask", "25"),
			ops:    []string{"add 192.0.2.10/25 dev eth0 brd 192.0.2.127 label eth0:web", "announce 192.0.2.10 on eth0"}},
		{name: "already served", action: "start", params: ip4, setup: present("eth0", "192.0.2.10/24", "eth0", 0)},
		{name: "served with another label: added again", action: "start", params: with(ip4, "iflabel", "x"),
			setup: present("eth0", "192.0.2.10/24", "eth0", 0),
			ops: []string{"del 192.0.2.10/24 dev eth0", "add 192.0.2.10/24 dev eth0 brd 192.0.2.255 label eth0:x",
				"announce 192.0.2.10 on eth0"}},
		{name: "no carrier: not started here", action: "start", params: ip4, code: ocf.ErrGeneric, reason: "has no carrier",
			setup: func(f *fakeSys) { f.links["eth0"].Carrier = false }},
		{name: "no carrier, served: not kept", action: "start", params: ip4, code: ocf.ErrGeneric, reason: "has no carrier",
			setup: func(f *fakeSys) { present("eth0", "192.0.2.10/24", "eth0", 0)(f); f.links["eth0"].Carrier = false }},
		{name: "no carrier, not checked", action: "start", params: with(ip4, "check_link_status", "false"),
			setup: func(f *fakeSys) { f.links["eth0"].Carrier = false },
			ops:   []string{"add 192.0.2.10/24 dev eth0 brd 192.0.2.255", "announce 192.0.2.10 on eth0"}},
		{name: "link down is brought up", action: "start", params: ip4,
			setup: func(f *fakeSys) { f.links["eth0"].Up = false },
			ops:   []string{"up eth0", "add 192.0.2.10/24 dev eth0 brd 192.0.2.255", "announce 192.0.2.10 on eth0"}},
		{name: "IPv6 held with another prefix is not ours", action: "start", params: with(ip6, "cidr_netmask", "64"),
			setup: present("eth0", "2001:db8:5::10/120", "", 0), code: ocf.ErrGeneric, reason: "not ours"},
		{name: "missing interface", action: "start", params: with(ip4, "nic", "eth9"), code: ocf.ErrInstalled},
		{name: "missing namespace", action: "start", params: with(ip4, "network_namespace", "shv-missing"), code: ocf.ErrInstalled},
		{name: "no route and no nic", action: "start", params: []string{"ip", "203.0.113.5"}, code: ocf.ErrArgs, reason: "set nic and cidr_netmask"},
		{name: "bad configuration", action: "start", params: with(ip4, "cidr_netmask", "33"), code: ocf.ErrConfigured},
		{name: "collision found by run_arping", action: "start", params: with(ip4, "run_arping", "true"),
			setup: func(f *fakeSys) { f.probeErr = errors.Join(errConflict) },
			code:  ocf.ErrGeneric, reason: "collision", ops: []string{"probe 192.0.2.10 on eth0"}},
		{name: "the rest of the announcements in the background", action: "start",
			params: []string{"ip", "192.0.2.10", "arp_count", "5", "arp_interval", "300"},
			ops: []string{"add 192.0.2.10/24 dev eth0 brd 192.0.2.255", "announce 192.0.2.10 on eth0",
				"background announcer 192.0.2.10 on eth0: 4 more every 300ms"},
			check: func(t *testing.T, f *fakeSys) {
				if rec := fakeRecord(t); rec == nil || rec.Announcer == nil || rec.Announcer.PID != 1<<30 {
					t.Fatalf("announcer not recorded: %+v", rec)
				}
			}},
		{name: "IPv6 announcements in the foreground", action: "start",
			params: with(ip6, "arp_count", "3", "arp_interval", "1"),
			ops: []string{"addrlabel add 2001:db8:5::10/128 label 99", "add 2001:db8:5::10/64 dev eth0 nodad", "announce 2001:db8:5::10 on eth0",
				"announce 2001:db8:5::10 on eth0", "announce 2001:db8:5::10 on eth0"}},
		{name: "LVS takes the loopback copy away", action: "start", params: with(ip4, "lvs_support", "true"),
			setup: present("lo", "192.0.2.10/32", "lo", 0),
			ops: []string{"del 192.0.2.10/32 dev lo", "add 192.0.2.10/24 dev eth0 brd 192.0.2.255",
				"announce 192.0.2.10 on eth0"},
			check: func(t *testing.T, f *fakeSys) {
				if rec := fakeRecord(t); rec == nil || rec.Loopback != "lo" {
					t.Fatalf("loopback not recorded: %+v", rec)
				}
			}},
		{name: "IPv6 address label", action: "start", params: with(ip6, "lvs_ipv6_addrlabel", "true", "lvs_ipv6_addrlabel_value", "77"),
			ops: []string{"addrlabel add 2001:db8:5::10/128 label 77", "add 2001:db8:5::10/64 dev eth0 nodad",
				"announce 2001:db8:5::10 on eth0"}},
		{name: "loopback: no announcement", action: "start", params: []string{"ip", "127.0.0.2", "nic", "lo", "cidr_netmask", "8"},
			ops: []string{"add 127.0.0.2/8 dev lo scope host"}},
	})
	t.Run("not root", func(t *testing.T) {
		f := newFake()
		withFake(t, f)
		geteuid = func() int { return 1000 }
		if err := fakeRun(t, "start", 0, 0, ip4...); ocf.CodeOf(err) != ocf.ErrPerm || len(f.ops) != 0 {
			t.Fatalf("%v, changes %v", err, f.ops)
		}
	})
}

// DAD: start waits while the address is tentative and fails, taking it
// back, when the kernel marks it failed.
func TestFakeStartDAD(t *testing.T) {
	for _, c := range []struct {
		name  string
		flags uint32
		code  ocf.Code
	}{{"done", 0, ocf.Success}, {"failed", unix.IFA_F_DADFAILED, ocf.ErrGeneric}} {
		t.Run(c.name, func(t *testing.T) {
			f := newFake()
			withFake(t, f)
			// The fake's AddAddr adds without flags: mark it as the
			// kernel would after detection.
			wrapped := &dadFake{fakeSys: f, flags: c.flags}
			openSystemFunc = func(string) (system, error) { return wrapped, nil }
			err := fakeRun(t, "start", 0, 0, "ip", "2001:db8:5::10", "arp_count", "1")
			if ocf.CodeOf(err) != c.code {
				t.Fatalf("%v, want %d", err, c.code)
			}
			if c.code != ocf.Success && f.has("eth0", "2001:db8:5::10/64") {
				t.Fatal("address left after failed DAD")
			}
		})
	}
}

type dadFake struct {
	*fakeSys
	flags uint32
	polls int
}

func (d *dadFake) AddrsOf(l *Link, ip netip.Addr) ([]IfAddr, error) {
	as, err := d.fakeSys.AddrsOf(l, ip)
	d.polls++
	for i := range as {
		if d.polls < 3 {
			as[i].Flags |= unix.IFA_F_TENTATIVE
		} else {
			as[i].Flags |= d.flags
		}
	}
	return as, err
}

func TestFakeStop(t *testing.T) {
	runFakeCases(t, []fakeCase{
		{name: "present", action: "stop", params: ip4, setup: present("eth0", "192.0.2.10/24", "eth0", 0),
			ops: []string{"del 192.0.2.10/24 dev eth0"}},
		{name: "absent", action: "stop", params: ip4},
		{name: "another prefix length stays", action: "stop", params: with(ip4, "cidr_netmask", "24"),
			setup: present("eth0", "192.0.2.10/28", "eth0", 0)},
		{name: "moved to another interface", action: "stop", params: ip4, setup: present("eth1", "192.0.2.10/24", "eth1", 0),
			ops: []string{"del 192.0.2.10/24 dev eth1"}},
		{name: "no route any more", action: "stop", params: []string{"ip", "203.0.113.5", "cidr_netmask", "24"},
			setup: present("lo", "203.0.113.5/24", "lo", 0), ops: []string{"del 203.0.113.5/24 dev lo"}},
		{name: "missing namespace", action: "stop", params: with(ip4, "network_namespace", "shv-missing")},
		{name: "missing interface", action: "stop", params: with(ip4, "nic", "eth9")},
		{name: "bad configuration, nothing recorded", action: "stop", params: with(ip4, "cidr_netmask", "40"),
			setup: present("eth0", "192.0.2.10/24", "eth0", 0)},
		{name: "bad configuration, recorded start", action: "stop", params: with(ip4, "cidr_netmask", "40"),
			setup: started(ip4...), ops: []string{"del 192.0.2.10/24 dev eth0"},
			check: func(t *testing.T, f *fakeSys) {
				if rec := fakeRecord(t); rec != nil {
					t.Fatalf("record left: %+v", rec)
				}
			}},
		{name: "parameters changed since start: both go", action: "stop", params: []string{"ip", "192.0.2.11"},
			setup: func(f *fakeSys) {
				started(ip4...)(f)
				present("eth0", "192.0.2.11/24", "eth0", 0)(f)
			},
			ops: []string{"del 192.0.2.11/24 dev eth0", "del 192.0.2.10/24 dev eth0"}},
		{name: "flush_routes and the IPv6 label", action: "stop",
			params: with(ip6, "flush_routes", "true", "lvs_ipv6_addrlabel", "true"),
			setup:  present("eth0", "2001:db8:5::10/64", "", 0),
			ops:    []string{"del 2001:db8:5::10/64 dev eth0", "flush route cache v6=true", "addrlabel del 2001:db8:5::10/128 label 99"}},
		{name: "LVS puts the loopback copy back", action: "stop", params: with(ip4, "lvs_support", "true"),
			setup: func(f *fakeSys) {
				present("lo", "192.0.2.10/32", "lo", 0)(f)
				started(with(ip4, "lvs_support", "true")...)(f)
			},
			ops: []string{"del 192.0.2.10/24 dev eth0", "add 192.0.2.10/32 dev lo"}},
		{name: "LVS after an upgrade: the old lvs- file", action: "stop", params: with(ip4, "lvs_support", "true"),
			setup: func(f *fakeSys) {
				present("eth0", "192.0.2.10/24", "eth0", 0)(f)
				inst := instance.StateDir(fakeInst)
				os.MkdirAll(inst, 0o700)
				os.WriteFile(filepath.Join(inst, "lvs-192.0.2.10"), []byte("lo\n"), 0o644)
				os.WriteFile(filepath.Join(inst, "announce-192.0.2.10.pid"), []byte("1\n"), 0o644)
			},
			ops: []string{"del 192.0.2.10/24 dev eth0", "add 192.0.2.10/32 dev lo"},
			check: func(t *testing.T, f *fakeSys) {
				if _, err := os.Stat(instance.StateDir(fakeInst)); !os.IsNotExist(err) {
					t.Fatalf("old files left: %v", err)
				}
			}},
	})
}

// started runs start on the fake (its changes are then cleared).
func started(kv ...string) func(f *fakeSys) {
	return func(f *fakeSys) {
		if err := runAction(io.Discard, "start", 0, 0, kv...); err != nil {
			panic(err)
		}
	}
}

// The runtime's hook when the parameters do not parse at all: only the
// record counts.
func TestFakeStopFromState(t *testing.T) {
	f := newFake()
	withFake(t, f)
	r := &ocf.Request{Agent: "vip", Action: "stop", Instance: "shv-fake", Log: ocf.NewLogger(ocf.LogConfig{Agent: "vip", Stderr: testWriter{t}})}
	if err := StopFromState(t.Context(), r); err != nil || len(f.ops) != 0 {
		t.Fatalf("no record: %v, changes %v", err, f.ops)
	}
	if err := fakeRun(t, "start", 0, 0, with(ip4, "iflabel", "w")...); err != nil {
		t.Fatal(err)
	}
	f.ops = nil
	if err := StopFromState(t.Context(), r); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(f.ops, []string{"del 192.0.2.10/24 dev eth0"}) {
		t.Fatalf("changes %v", f.ops)
	}
	if _, err := os.Stat(instance.StateDir(fakeInst)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("state directory left: %v", err)
	}
}

func TestFakeMonitor(t *testing.T) {
	runFakeCases(t, []fakeCase{
		{name: "present", action: "monitor", interval: time.Second, params: ip4, setup: present("eth0", "192.0.2.10/24", "eth0", 0)},
		{name: "absent", action: "monitor", interval: time.Second, params: ip4, code: ocf.NotRunning, reason: "192.0.2.10/24 is not on eth0"},
		{name: "absent, link down", action: "monitor", interval: time.Second, params: ip4, code: ocf.NotRunning, reason: "the interface is down",
			setup: func(f *fakeSys) { f.links["eth0"].Up = false }},
		{name: "another prefix", action: "monitor", interval: time.Second, params: with(ip4, "cidr_netmask", "24"), code: ocf.NotRunning, reason: "prefix length 28",
			setup: present("eth0", "192.0.2.10/28", "eth0", 0)},
		{name: "another label", action: "monitor", interval: time.Second, params: with(ip4, "iflabel", "x"), code: ocf.NotRunning, reason: `label "eth0"`,
			setup: present("eth0", "192.0.2.10/24", "eth0", 0)},
		{name: "DAD failed", action: "monitor", params: ip6, code: ocf.ErrGeneric, reason: "duplicate address detection",
			setup: present("eth0", "2001:db8:5::10/64", "", unix.IFA_F_DADFAILED)},
		{name: "no carrier", action: "monitor", params: ip4, code: ocf.ErrGeneric, reason: "no carrier",
			setup: func(f *fakeSys) { present("eth0", "192.0.2.10/24", "eth0", 0)(f); f.links["eth0"].Carrier = false }},
		{name: "no carrier, not checked", action: "monitor", params: with(ip4, "check_link_status", "false"),
			setup: func(f *fakeSys) { present("eth0", "192.0.2.10/24", "eth0", 0)(f); f.links["eth0"].Carrier = false }},
		{name: "administratively down", action: "monitor", params: ip4, code: ocf.ErrGeneric, reason: "down (administratively)",
			setup: func(f *fakeSys) { present("eth0", "192.0.2.10/24", "eth0", 0)(f); f.links["eth0"].Up = false }},
		{name: "probe, bad configuration", action: "monitor", params: with(ip4, "cidr_netmask", "40"), code: ocf.NotRunning},
		{name: "recurring, bad configuration", action: "monitor", interval: time.Second, params: with(ip4, "cidr_netmask", "40"), code: ocf.ErrGeneric},
		{name: "missing namespace", action: "monitor", params: with(ip4, "network_namespace", "shv-missing"), code: ocf.NotRunning},
		{name: "missing interface", action: "monitor", params: with(ip4, "nic", "eth9"), code: ocf.NotRunning},
		{name: "found where no route points", action: "monitor", params: []string{"ip", "203.0.113.5", "cidr_netmask", "24"},
			setup: present("lo", "203.0.113.5/24", "lo", 0)},
		{name: "refresh", action: "monitor", interval: time.Second, params: with(ip4, "arp_count_refresh", "2", "arp_interval", "1", "arp_bg", "false"),
			setup: present("eth0", "192.0.2.10/24", "eth0", 0),
			ops:   []string{"announce 192.0.2.10 on eth0", "announce 192.0.2.10 on eth0"}},
		{name: "refresh in the background", action: "monitor", interval: time.Second, params: with(ip4, "arp_count_refresh", "3"),
			setup: present("eth0", "192.0.2.10/24", "eth0", 0),
			ops:   []string{"announce 192.0.2.10 on eth0", "background announcer 192.0.2.10 on eth0: 2 more every 200ms"}},
		{name: "no refresh on loopback", action: "monitor", params: []string{"ip", "127.0.0.2", "nic", "lo", "cidr_netmask", "8", "arp_count_refresh", "2"},
			setup: present("lo", "127.0.0.2/8", "lo", 0)},
	})
}

func TestFakeValidate(t *testing.T) {
	runFakeCases(t, []fakeCase{
		{name: "level 0: parameters only", action: "validate-all", level: 0, params: with(ip4, "nic", "eth9")},
		{name: "level 10: the interface", action: "validate-all", level: 10, params: with(ip4, "nic", "eth9"), code: ocf.ErrInstalled},
		{name: "level 0: the namespace is not looked at", action: "validate-all", level: 0, params: with(ip4, "network_namespace", "shv-missing")},
		{name: "level 10: the namespace", action: "validate-all", level: 10, params: with(ip4, "network_namespace", "shv-missing"), code: ocf.ErrInstalled},
		{name: "level 10: no route", action: "validate-all", level: 10, params: []string{"ip", "203.0.113.5"}, code: ocf.ErrArgs},
		{name: "level 10: placed", action: "validate-all", level: 10, params: ip4},
		{name: "level 0: bad", action: "validate-all", level: 0, params: with(ip4, "arp_interval", "9223372036854775807"), code: ocf.ErrConfigured},
		{name: "level 10: bad", action: "validate-all", level: 10, params: with(ip4, "cidr_netmask", "33"), code: ocf.ErrConfigured},
	})
}

func TestFakeReload(t *testing.T) {
	runFakeCases(t, []fakeCase{
		{name: "good", action: "reload-agent", params: with(ip4, "check_link_status", "false")},
		{name: "bad", action: "reload-agent", params: with(ip4, "arp_count", "0"), code: ocf.ErrConfigured},
	})
}

// fakeRecord reads the fake instance's record.
func fakeRecord(t *testing.T) *record {
	t.Helper()
	rec, err := loadRecord(fakeInst)
	if err != nil {
		t.Fatal(err)
	}
	return rec
}
