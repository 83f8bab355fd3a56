package haproxy

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// fakeProc lays out /proc/<pid>/{stat,status,exe,cmdline} for the identity
// tests.
func fakeProc(t *testing.T, root string, p fake) {
	t.Helper()
	dir := filepath.Join(root, strconv.Itoa(p.pid))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	// pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt
	// majflt cmajflt utime stime cutime cstime priority nice threads
	// itrealvalue starttime ...
	stat := fmt.Sprintf("%d (hap roxy) %s 1 %d %d 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 %d 0 0\n", p.pid, p.state, p.session, p.session, p.start)
	os.WriteFile(filepath.Join(dir, "stat"), []byte(stat), 0o644)
	os.WriteFile(filepath.Join(dir, "status"), []byte(fmt.Sprintf("Name:\thaproxy\nUid:\t%d\t%d\t%d\t%d\n", p.uid, p.uid, p.uid, p.uid)), 0o644)
	if p.exe != "" {
		os.Symlink(p.exe, filepath.Join(dir, "exe"))
	}
	os.WriteFile(filepath.Join(dir, "cmdline"), []byte(strings.Join(p.argv, "\x00")+"\x00"), 0o644)
}

type fake struct {
	pid, session int
	start        uint64
	uid          uint32
	state, exe   string
	argv         []string
}

func TestIdentity(t *testing.T) {
	root := t.TempDir()
	old := procRoot
	procRoot = root
	defer func() { procRoot = old }()
	const sock = "/run/stackha/api-haproxy/master.sock"
	args := []string{"-W", "-D", "-S", sock + ",mode,600", "-p", "/run/x.pid"}
	hap := append([]string{"/usr/sbin/haproxy"}, args...)
	for _, p := range []fake{
		{pid: 100, session: 100, start: 5000, uid: 0, state: "S", exe: "/usr/sbin/haproxy", argv: hap},
		{pid: 101, session: 100, start: 5001, uid: 0, state: "Z"},
		{pid: 102, session: 7, start: 10, uid: 0, state: "S", exe: "/usr/bin/sleep", argv: []string{"sleep", "300"}},
		{pid: 103, session: 100, start: 5002, uid: 0, state: "S", exe: "/usr/sbin/haproxy", argv: []string{"haproxy", "-W", "-S", "/run/other.sock,mode,600"}},
		// A worker after a reload that replaced the binary, run as the
		// configured user.
		{pid: 104, session: 100, start: 5100, uid: 65534, state: "S", exe: "/usr/sbin/haproxy (deleted)", argv: append([]string{"haproxy", "-sf", "100", "-x", "sockpair@4"}, args...)},
		// A decoy by another user, in its own session.
		{pid: 105, session: 105, start: 6000, uid: 1000, state: "S", exe: "/usr/sbin/haproxy", argv: hap},
		// A decoy by root, in another session.
		{pid: 106, session: 106, start: 6000, uid: 0, state: "S", exe: "/usr/sbin/haproxy", argv: hap},
		// Older than the master: not one it forked.
		{pid: 107, session: 100, start: 4000, uid: 0, state: "S", exe: "/usr/sbin/haproxy", argv: hap},
		// Another user in the session (a worker's own child, say).
		{pid: 108, session: 100, start: 5200, uid: 1000, state: "S", exe: "/usr/sbin/haproxy", argv: hap},
		{pid: 109, session: 100, start: 5200, uid: 0, state: "S", exe: "/usr/bin/python3", argv: append([]string{"python3"}, args...)},
		{pid: 110, session: 100, start: 5200, uid: 0, state: "S", exe: "/opt/haproxy-2.8/sbin/haproxy", argv: hap},
	} {
		fakeProc(t, root, p)
	}
	os.MkdirAll(filepath.Join(root, "self"), 0o755)

	rec := &record{PID: 100, Start: 5000, Session: 100, Exe: "/usr/sbin/haproxy", Socket: sock, UIDs: []uint32{0, 65534}}
	id := identity{rec: rec}
	procs, err := id.instanceProcs()
	if err != nil {
		t.Fatal(err)
	}
	var got []int
	for _, p := range procs {
		got = append(got, p.PID)
	}
	sort.Ints(got)
	if want := []int{100, 104}; !reflect.DeepEqual(got, want) {
		t.Errorf("instance processes = %v, want %v", got, want)
	}
	for _, pid := range []int{102, 105, 106, 107, 108} {
		if _, ok := id.check(pid); ok {
			t.Errorf("pid %d taken for this haproxy", pid)
		}
		if err := id.signal(pid, 0); err == nil {
			t.Errorf("signal to pid %d was not refused", pid)
		}
	}
	// The master's pid reused by a later process: nothing is ours.
	reused := *rec
	reused.Start = 4999
	if _, ok := (identity{rec: &reused}).check(100); ok {
		t.Error("a reused master pid taken for the master")
	}
	// Without a record nothing is ours, and /proc is not even read.
	if ps, err := (identity{}).instanceProcs(); len(ps) > 0 || err != nil {
		t.Errorf("no record: %v %v", ps, err)
	}
}

func TestRecordRoundTrip(t *testing.T) {
	r := record{PID: 42, Start: 123456, Session: 42, Exe: "/usr/sbin/haproxy", Socket: "/run/stackha/x/master.sock", UIDs: []uint32{0, 108}}
	got, err := parseRecord(r.encode())
	if err != nil || !reflect.DeepEqual(*got, r) {
		t.Fatalf("round trip: %+v %v", got, err)
	}
	for _, bad := range []string{"", "pid 1\n", "pid x\nstart 1\nsession 1\nexe /a\nsocket /b\nuids 0\n",
		"pid 1\nstart 1\nsession 1\nexe a\nsocket /b\nuids 0\n", "pid 1\nstart 1\nsession 1\nexe /a\nsocket /b\nuids 0\nevil 1\n"} {
		if _, err := parseRecord([]byte(bad)); err == nil {
			t.Errorf("record %q accepted", bad)
		}
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
