package vip

import (
	"context"
	"fmt"
	"io"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stackha/stackha/instance"
	"github.com/stackha/stackha/ocf"
)

// fakeSys is the node as a table: what the agent asks is answered from it,
// and what it changes is applied to it and written to ops, one line per
// change, for the tests to compare.
type fakeSys struct {
	links    map[string]*Link
	addrs    []IfAddr
	routes   []Route
	labels   map[netip.Addr]uint32
	probeErr error
	ops      []string
	closed   int
}

func newFake() *fakeSys {
	return &fakeSys{
		links: map[string]*Link{
			"lo":   {Index: 1, Name: "lo", MTU: 65536, Up: true, Carrier: true},
			"eth0": {Index: 2, Name: "eth0", MTU: 1500, HardwareAddr: testMAC, Up: true, Carrier: true},
			"eth1": {Index: 3, Name: "eth1", MTU: 1500, HardwareAddr: testMAC, Up: true, Carrier: true},
		},
		addrs: []IfAddr{
			{Dev: "lo", Prefix: netip.MustParsePrefix("127.0.0.1/8"), Label: "lo"},
			{Dev: "eth0", Prefix: netip.MustParsePrefix("192.0.2.1/24"), Broadcast: netip.MustParseAddr("192.0.2.255"), Label: "eth0"},
			{Dev: "eth0", Prefix: netip.MustParsePrefix("2001:db8:5::1/64")},
			{Dev: "eth1", Prefix: netip.MustParsePrefix("198.51.100.1/24"), Label: "eth1"},
		},
		routes: []Route{
			{Dst: netip.MustParsePrefix("192.0.2.0/24"), Dev: "eth0", Src: netip.MustParseAddr("192.0.2.1"), Scope: scopeLink},
			{Dst: netip.MustParsePrefix("2001:db8:5::/64"), Dev: "eth0", Metric: 256},
			{Dst: netip.MustParsePrefix("198.51.100.0/24"), Dev: "eth1", Src: netip.MustParseAddr("198.51.100.1"), Scope: scopeLink},
		},
		labels: map[netip.Addr]uint32{},
	}
}

func (f *fakeSys) op(format string, args ...any) { f.ops = append(f.ops, fmt.Sprintf(format, args...)) }

// fakeAltNames are the alternative names of the fake's interfaces.
var fakeAltNames = map[string]string{"enx00005e005301beef": "eth0"}

func (f *fakeSys) Link(name string) (*Link, error) {
	l, ok := f.links[name]
	if !ok {
		l, ok = f.links[fakeAltNames[name]]
	}
	if !ok {
		return nil, fmt.Errorf("%w: %s", errNoLink, name)
	}
	c := *l
	return &c, nil
}

func (f *fakeSys) SetLinkUp(l *Link) error {
	f.links[l.Name].Up = true
	f.op("up %s", l.Name)
	return nil
}

func (f *fakeSys) Routes(ip netip.Addr, local bool) ([]Route, error) {
	var out []Route
	for _, r := range f.routes {
		if r.Dst.Contains(ip) && (local || !r.Local) {
			out = append(out, r)
		}
	}
	return out, nil
}

func (f *fakeSys) Addrs(v6 bool) ([]IfAddr, error) {
	var out []IfAddr
	for _, a := range f.addrs {
		if a.Prefix.Addr().Is6() == v6 {
			out = append(out, a)
		}
	}
	return out, nil
}

func (f *fakeSys) AddrsOf(l *Link, ip netip.Addr) ([]IfAddr, error) {
	var out []IfAddr
	for _, a := range f.addrs {
		if a.Dev == l.Name && a.Prefix.Addr() == ip {
			out = append(out, a)
		}
	}
	return out, nil
}

func (f *fakeSys) AddAddr(l *Link, na NewAddr) error {
	for _, a := range f.addrs {
		if a.Dev == l.Name && a.Prefix == na.Prefix {
			return fmt.Errorf("%w: %s on %s", errAddrExists, na.Prefix, l.Name)
		}
	}
	line := fmt.Sprintf("add %s dev %s", na.Prefix, l.Name)
	a := IfAddr{Dev: l.Name, Prefix: na.Prefix, Broadcast: na.Broadcast}
	if na.Broadcast.IsValid() {
		line += " brd " + na.Broadcast.String()
	}
	if na.Label != "" {
		line += " label " + na.Label
	}
	if na.Prefix.Addr().Is4() {
		a.Label = cmpOr(na.Label, l.Name)
	}
	for _, fl := range []struct {
		on   bool
		name string
	}{{na.HostScope, "scope host"}, {na.NoDAD, "nodad"}, {na.NoPrefixRoute, "noprefixroute"}} {
		if fl.on {
			line += " " + fl.name
		}
	}
	if na.PreferredLft != Forever {
		line += fmt.Sprintf(" preferred_lft %d", na.PreferredLft)
	}
	f.addrs = append(f.addrs, a)
	f.op("%s", line)
	return nil
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func (f *fakeSys) DelAddr(l *Link, p netip.Prefix) error {
	for i, a := range f.addrs {
		if a.Dev == l.Name && a.Prefix == p {
			f.addrs = slices.Delete(f.addrs, i, i+1)
			f.op("del %s dev %s", p, l.Name)
			return nil
		}
	}
	return fmt.Errorf("%w: %s on %s", errAddrNotAvail, p, l.Name)
}

func (f *fakeSys) SetAddrLabel(add bool, ip netip.Addr, label uint32) error {
	if add {
		f.labels[ip] = label
		f.op("addrlabel add %s/128 label %d", ip, label)
	} else {
		delete(f.labels, ip)
		f.op("addrlabel del %s/128 label %d", ip, label)
	}
	return nil
}

func (f *fakeSys) FlushRouteCache(v6 bool) error {
	f.op("flush route cache v6=%v", v6)
	return nil
}

func (f *fakeSys) Probe(ctx context.Context, l *Link, ip netip.Addr) error {
	f.op("probe %s on %s", ip, l.Name)
	return f.probeErr
}

func (f *fakeSys) OpenAnnouncer(l *Link, ip netip.Addr) (announcer, error) {
	return &fakeAnnouncer{f: f, what: fmt.Sprintf("announce %s on %s", ip, l.Name)}, nil
}

func (f *fakeSys) Do(fn func() error) error { return fn() }
func (f *fakeSys) Close()                   { f.closed++ }

type fakeAnnouncer struct {
	f    *fakeSys
	what string
}

func (a *fakeAnnouncer) announce() error { a.f.op("%s", a.what); return nil }
func (a *fakeAnnouncer) Close() error    { return nil }

// withFake makes the agent see f (and "shv-missing" as a namespace that
// does not exist), run as root, keep its state under a temporary
// directory, and record background announcers instead of starting them.
func withFake(t *testing.T, f *fakeSys) {
	t.Helper()
	saved := []any{openSystemFunc, geteuid, startAnnouncerFunc, dadPoll}
	t.Cleanup(func() {
		openSystemFunc = saved[0].(func(string) (system, error))
		geteuid = saved[1].(func() int)
		startAnnouncerFunc = saved[2].(func(*ocf.Request, *Config, string, int, time.Duration) (*instance.Identity, error))
		dadPoll = saved[3].(time.Duration)
	})
	openSystemFunc = func(ns string) (system, error) {
		if ns == "shv-missing" {
			return nil, fmt.Errorf("%w: %s", errNoNetns, ns)
		}
		return f, nil
	}
	geteuid = func() int { return 0 }
	stateRoot(t)
	dadPoll = time.Millisecond
	startAnnouncerFunc = func(r *ocf.Request, c *Config, nic string, count int, interval time.Duration) (*instance.Identity, error) {
		f.op("background announcer %s on %s: %d more every %s", c.IP, nic, count, interval)
		// No process has this pid (pid_max is at most 2^22).
		return &instance.Identity{PID: 1 << 30, Start: 1, Session: 1 << 30, Exe: "/nonexistent"}, nil
	}
}

// fakeInst is the resource instance of the fake tests.
const fakeInst = "shv-fake"

// fakeRun runs one action on the fake with the parameters (k, v, ...).
func fakeRun(t *testing.T, action string, interval time.Duration, level int, kv ...string) error {
	t.Helper()
	return runAction(testWriter{t}, action, interval, level, kv...)
}

// runAction runs one action through the runtime (see ocfRun).
func runAction(log io.Writer, action string, interval time.Duration, level int, kv ...string) error {
	return ocfRun(log, fakeInst, action, interval, level, kvMap(kv...))
}

func kvMap(kv ...string) map[string]string {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return m
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(b []byte) (int, error) {
	w.t.Logf("%s", strings.TrimRight(string(b), "\n"))
	return len(b), nil
}

// has reports whether the fake holds prefix on dev.
func (f *fakeSys) has(dev, prefix string) bool {
	for _, a := range f.addrs {
		if a.Dev == dev && a.Prefix.String() == prefix {
			return true
		}
	}
	return false
}
