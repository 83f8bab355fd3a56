package haproxy

import (
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stackha/stackha/instance"
)

// The rule of what is ours, over what /proc says of each process.
func TestIdentity(t *testing.T) {
	const sock = "/run/shh-api-haproxy/master.sock"
	args := []string{"-W", "-D", "-S", sock + ",mode,600", "-p", "/run/x.pid"}
	hap := append([]string{"/usr/sbin/haproxy"}, args...)
	proc := func(pid, session int, start uint64, uid uint32, state byte, exe string, argv []string) procInfo {
		return procInfo{Proc: instance.Proc{PID: pid, Session: session, Start: start, UID: uid, EUID: uid, State: state}, Exe: exe, Argv: argv}
	}
	rec := &record{Master: instance.Identity{PID: 100, Start: 5000, Session: 100, Exe: "/usr/sbin/haproxy"}, Launcher: 99,
		Socket: sock, Pidfile: "/run/x.pid", UIDs: []uint32{0, 65534}}
	id := identity{rec: rec}
	for _, tc := range []struct {
		name string
		p    procInfo
		ours bool
	}{
		{"the master", proc(100, 100, 5000, 0, 'S', "/usr/sbin/haproxy", hap), true},
		{"a zombie of the session", proc(101, 100, 5001, 0, 'Z', "", nil), false},
		{"another program", proc(102, 7, 10, 0, 'S', "/usr/bin/sleep", []string{"sleep", "300"}), false},
		{"another master socket", proc(103, 100, 5002, 0, 'S', "/usr/sbin/haproxy", []string{"haproxy", "-W", "-S", "/run/other.sock,mode,600"}), false},
		// A worker after a reload (its binary replaced on disk: instance.Exe
		// drops " (deleted)"), run as the configured user.
		{"a worker as the configured user", proc(104, 100, 5100, 65534, 'S', "/usr/sbin/haproxy", append([]string{"haproxy", "-sf", "100", "-x", "sockpair@4"}, args...)), true},
		{"a decoy of another user in its own session", proc(105, 105, 6000, 1000, 'S', "/usr/sbin/haproxy", hap), false},
		{"a decoy of root in another session", proc(106, 106, 6000, 0, 'S', "/usr/sbin/haproxy", hap), false},
		{"older than the master", proc(107, 100, 4000, 0, 'S', "/usr/sbin/haproxy", hap), false},
		{"another user in the session", proc(108, 100, 5200, 1000, 'S', "/usr/sbin/haproxy", hap), false},
		{"another executable", proc(109, 100, 5200, 0, 'S', "/usr/bin/python3", append([]string{"python3"}, args...)), false},
		{"another haproxy", proc(110, 100, 5200, 0, 'S', "/opt/haproxy-2.8/sbin/haproxy", hap), false},
		{"the master's pid reused", proc(100, 100, 5300, 0, 'S', "/usr/sbin/haproxy", hap), false},
	} {
		if got := id.ours(tc.p); got != tc.ours {
			t.Errorf("%s: ours = %v, want %v", tc.name, got, tc.ours)
		}
	}
	seteuid := proc(111, 100, 5200, 0, 'S', "/usr/sbin/haproxy", hap)
	seteuid.EUID = 1000
	if id.ours(seteuid) {
		t.Error("a process whose effective uid is another user's taken for ours")
	}
	// Without a record nothing is ours, and /proc is not even read.
	if ps, err := (identity{}).instanceProcs(); len(ps) > 0 || err != nil {
		t.Errorf("no record: %v %v", ps, err)
	}
	if _, ok := (identity{}).check(os.Getpid()); ok {
		t.Error("no record: this process taken for ours")
	}
}

// The record goes through the instance layer (a typed, versioned
// envelope), and a record that cannot describe our master is refused,
// never taken for "nothing runs".
func TestRecordRoundTrip(t *testing.T) {
	good := record{Master: instance.Identity{PID: 42, Start: 123456, Session: 42, Exe: "/usr/sbin/haproxy"}, Launcher: 41,
		Socket: "/run/shh-x/master.sock", Pidfile: "/run/shh-x/haproxy.pid", UIDs: []uint32{0, 108}, StopTimeout: 30 * time.Second}
	name := "shh-record-" + strconv.Itoa(os.Getpid())
	defer instance.Remove(name, recordKind)
	if rec, err := loadRecord(name, nil, nil); rec != nil || err != nil {
		t.Fatalf("no record: %v %v", rec, err)
	}
	if err := instance.Save(name, recordKind, &good); err != nil {
		t.Fatal(err)
	}
	got, err := loadRecord(name, nil, nil)
	if err != nil || !reflect.DeepEqual(*got, good) {
		t.Fatalf("round trip: %+v %v", got, err)
	}
	for _, bad := range []func(*record){
		func(r *record) { r.Master.PID = 0 },
		func(r *record) { r.Master.Session = 7 },
		func(r *record) { r.Master.UID = 1000 },
		func(r *record) { r.Master.Exe = "haproxy" },
		func(r *record) { r.Launcher = 0 },
		func(r *record) { r.Socket = "master.sock" },
		func(r *record) { r.Pidfile = "/run/../x.pid" },
		func(r *record) { r.UIDs = []uint32{108} },
		func(r *record) { r.StopTimeout = 1000 * time.Hour },
	} {
		r := good
		r.UIDs = append([]uint32(nil), good.UIDs...)
		bad(&r)
		if err := instance.Save(name, recordKind, &r); err != nil {
			t.Fatal(err)
		}
		if rec, err := loadRecord(name, nil, nil); err == nil {
			t.Errorf("record %+v accepted as %+v", r, rec)
		}
	}
	// A record of another kind or version: an error, not "nothing".
	if err := instance.Save(name, instance.Kind{Name: "haproxy", Version: 2}, &good); err != nil {
		t.Fatal(err)
	}
	if rec, err := loadRecord(name, nil, nil); err == nil {
		t.Errorf("a version 2 record read as %+v", rec)
	}
	// A record of stackha 0.2 that does not parse: an error, never "nothing".
	instance.Remove(name, recordKind)
	d, err := instance.OpenState(name, true)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	defer d.Remove(legacyName)
	if err := d.WriteAtomic(legacyName, []byte("pid 1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := loadRecord(name, nil, nil); err == nil || !strings.Contains(err.Error(), "stackha 0.2") {
		t.Errorf("legacy record: %v", err)
	}
}

func TestMasterSocketArg(t *testing.T) {
	for _, tc := range []struct {
		argv []string
		want string
	}{
		{[]string{"haproxy", "-S", "/a.sock,mode,600"}, "/a.sock"},
		{[]string{"haproxy", "-S", "/a.sock"}, "/a.sock"},
		{[]string{"haproxy", "-f", "x", "-S"}, ""},
		{[]string{"haproxy", "-f", "/a.sock"}, ""},
	} {
		if got := masterSocketArg(tc.argv); got != tc.want {
			t.Errorf("%q: %q, want %q", tc.argv, got, tc.want)
		}
	}
}

func TestReadPidfile(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		content string
		want    int
		err     bool
	}{
		{"1234\n", 1234, false},
		{"1234\n1235\n", 1234, false},
		{"", 0, true},
		{"abc", 0, true},
		{"-5", 0, true},
		{"1234\nroot:x:0:0\n", 0, true},
		{"99999999999\n", 0, true},
	} {
		p := filepath.Join(dir, "pid")
		os.WriteFile(p, []byte(tc.content), 0o644)
		got, err := readPidfile(p)
		if got != tc.want || (err != nil) != tc.err {
			t.Errorf("%q: %d %v", tc.content, got, err)
		}
	}
	if pid, err := readPidfile(filepath.Join(dir, "none")); pid != 0 || err != nil {
		t.Errorf("missing pid file: %d %v", pid, err)
	}
}
