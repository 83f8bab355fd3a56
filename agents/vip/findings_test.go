package vip

import (
	"bytes"
	"io"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/stackha/stackha/instance"
	"github.com/stackha/stackha/ocf"
)

// The security review's findings, each on the fake node through the
// runtime (ocfRun); the root tests (root_findings_test.go) cover the rest.

// wantRun checks an action's code, the changes it made and, when given, a
// piece of its reason.
func wantRun(t *testing.T, f *fakeSys, err error, code ocf.Code, ops []string, reason string) {
	t.Helper()
	if got := ocf.CodeOf(err); got != code {
		t.Fatalf("code %d (%v), want %d", got, err, code)
	}
	if reason != "" && (err == nil || !strings.Contains(err.Error(), reason)) {
		t.Errorf("reason %v, want it to contain %q", err, reason)
	}
	if !slices.Equal(f.ops, ops) {
		t.Errorf("changes %q, want %q", f.ops, ops)
	}
	f.ops = nil
}

var delIP4 = []string{"del 192.0.2.10/24 dev eth0"}

// Finding 7: an instance the one id rule accepts (secé is an XML id, as
// Pacemaker's ids are) keeps its state like any other. vip's own rule
// (ASCII only) refused it: stop exited 2, and a failed stop fences the
// node.
func TestFindingStopInstanceID(t *testing.T) {
	f := newFake()
	withFake(t, f)
	const inst = "secé"
	run := func(action string, kv ...string) error {
		return ocfRun(testWriter{t}, inst, action, 0, -1, kvMap(kv...))
	}
	present("eth0", "192.0.2.10/24", "eth0", 0)(f)
	wantRun(t, f, run("stop", ip4...), ocf.Success, delIP4, "")
	wantRun(t, f, run("start", ip4...), ocf.Success, []string{"add 192.0.2.10/24 dev eth0 brd 192.0.2.255", "announce 192.0.2.10 on eth0"}, "")
	if rec, err := loadRecord(inst); rec == nil || err != nil {
		t.Fatalf("record of %s: %+v, %v", inst, rec, err)
	}
	wantRun(t, f, run("stop", ip4...), ocf.Success, delIP4, "")
	if _, err := os.Stat(instance.StateDir(inst)); !os.IsNotExist(err) {
		t.Fatalf("state left: %v", err)
	}
}

// Finding 7: a state directory others can write (/run/stackha mode 1777,
// or the instance's own): nothing in it can be ours. stop by the
// parameters removes the address and succeeds with a warning (it failed,
// fencing the node); StopFromState, which has nothing but the record,
// fails.
func TestFindingStopUntrustedState(t *testing.T) {
	for _, c := range []struct {
		name string
		dir  func() string
	}{
		{"state root", func() string { return instance.Root }},
		{"instance directory", func() string { return instance.StateDir(fakeInst) }},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := newFake()
			withFake(t, f)
			if err := fakeRun(t, "start", 0, 0, ip4...); err != nil {
				t.Fatal(err)
			}
			f.ops = nil
			dir := c.dir()
			if err := os.Chmod(dir, 0o1777); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { os.Chmod(dir, 0o700) })
			wantRun(t, f, fakeRun(t, "stop", 0, 0, with(ip4, "cidr_netmask", "40")...), ocf.ErrGeneric, nil, "not trusted")
			var log bytes.Buffer
			err := ocfRun(io.MultiWriter(&log, testWriter{t}), fakeInst, "stop", 0, 0, kvMap(ip4...))
			wantRun(t, f, err, ocf.Success, delIP4, "")
			if !strings.Contains(log.String(), "WARNING") || !strings.Contains(log.String(), "nothing in it can be ours") {
				t.Errorf("no warning about the state directory:\n%s", log.String())
			}
		})
	}
}

// Finding 8: a record that exists but cannot be read (truncated, or with a
// broken ip) was taken for "nothing recorded": stop exited 0. Now stop
// removes what the parameters name and then fails with a reason;
// StopFromState and ProbeFromState, which have only the record, fail too.
func TestFindingUnreadableRecord(t *testing.T) {
	path := func() string { return instance.StateDir(fakeInst) + "/vip.record" }
	for _, c := range []struct {
		name   string
		spoil  func(t *testing.T)
		reason string
	}{
		{"truncated", func(t *testing.T) {
			b, err := os.ReadFile(path())
			if err != nil {
				t.Fatal(err)
			}
			os.WriteFile(path(), b[:len(b)/2], 0o600)
		}, "does not parse"},
		{"truncated in the ip", func(t *testing.T) {
			b, err := os.ReadFile(path())
			if err != nil {
				t.Fatal(err)
			}
			os.WriteFile(path(), b[:bytes.Index(b, []byte("192.0.2."))+len("192.0.2.")], 0o600)
		}, "does not parse"},
		{"broken ip", func(t *testing.T) {
			if err := instance.Save(fakeInst, recordKind, &record{IP: "192.0.2.", Prefix: 24, Nic: "eth0"}); err != nil {
				t.Fatal(err)
			}
		}, "is not an address"},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := newFake()
			withFake(t, f)
			if err := fakeRun(t, "start", 0, 0, ip4...); err != nil {
				t.Fatal(err)
			}
			f.ops = nil
			c.spoil(t)
			wantRun(t, f, fakeRun(t, "stop", 0, 0, ip4...), ocf.ErrGeneric, delIP4, "cannot be read")
			if _, err := os.Stat(path()); err != nil {
				t.Fatalf("the record is gone: %v", err)
			}
			present("eth0", "192.0.2.10/24", "eth0", 0)(f)
			bad := with(ip4, "cidr_netmask", "40")
			wantRun(t, f, fakeRun(t, "stop", 0, 0, bad...), ocf.ErrGeneric, nil, c.reason)
			wantRun(t, f, fakeRun(t, "monitor", 0, 0, bad...), ocf.ErrGeneric, nil, c.reason)
		})
	}
}

// Finding 2: a probe with parameters the runtime rejects (arp_count=999999)
// answered 7 with the address up, so Pacemaker would start it elsewhere.
// ProbeFromState sees the recorded address on its interface: the runtime
// answers 1.
func TestFindingProbeFromState(t *testing.T) {
	f := newFake()
	withFake(t, f)
	bad := with(ip4, "arp_count", "999999")
	probe := func() error { return fakeRun(t, "monitor", 0, 0, bad...) }
	wantRun(t, f, probe(), ocf.NotRunning, nil, "")
	if err := fakeRun(t, "start", 0, 0, ip4...); err != nil {
		t.Fatal(err)
	}
	f.ops = nil
	wantRun(t, f, probe(), ocf.ErrGeneric, nil, "runs (as its record shows)")
	// The same address with another prefix length is not ours.
	f.addrs = slices.DeleteFunc(f.addrs, func(a IfAddr) bool { return a.Prefix.String() == "192.0.2.10/24" })
	present("eth0", "192.0.2.10/28", "eth0", 0)(f)
	wantRun(t, f, probe(), ocf.NotRunning, nil, "")
	present("eth0", "192.0.2.10/24", "eth0", 0)(f)
	wantRun(t, f, probe(), ocf.ErrGeneric, nil, "")
	delete(f.links, "eth0")
	wantRun(t, f, probe(), ocf.NotRunning, nil, "")
}
