package haproxy

import (
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// fakeProc lays out /proc/<pid>/{stat,exe,cmdline} for the identity tests.
func fakeProc(t *testing.T, root string, pid int, state, exe string, argv ...string) {
	t.Helper()
	dir := filepath.Join(root, strconv.Itoa(pid))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "stat"), []byte(strconv.Itoa(pid)+" (hap roxy) "+state+" 1 1 1\n"), 0o644)
	if exe != "" {
		os.Symlink(exe, filepath.Join(dir, "exe"))
	}
	os.WriteFile(filepath.Join(dir, "cmdline"), []byte(strings.Join(argv, "\x00")+"\x00"), 0o644)
}

func TestIdentity(t *testing.T) {
	root := t.TempDir()
	old := procRoot
	procRoot = root
	defer func() { procRoot = old }()
	const sock = "/run/stackha/api-haproxy/master.sock"
	args := []string{"-W", "-D", "-S", sock + ",mode,600", "-p", "/run/x.pid"}
	fakeProc(t, root, 100, "S", "/usr/sbin/haproxy", append([]string{"/usr/sbin/haproxy"}, args...)...)
	fakeProc(t, root, 101, "Z", "", "")
	fakeProc(t, root, 102, "S", "/usr/bin/sleep", "/usr/bin/sleep", "300")
	fakeProc(t, root, 103, "S", "/usr/sbin/haproxy", "/usr/sbin/haproxy", "-W", "-S", "/run/other.sock,mode,600")
	fakeProc(t, root, 104, "S", "/usr/sbin/haproxy (deleted)", append([]string{"haproxy", "-sf", "100", "-x", "sockpair@4"}, args...)...)
	fakeProc(t, root, 105, "S", "/opt/haproxy-2.8/sbin/haproxy28", append([]string{"haproxy28"}, args...)...)
	fakeProc(t, root, 106, "S", "/usr/bin/python3", append([]string{"python3"}, args...)...)
	os.MkdirAll(filepath.Join(root, "self"), 0o755)

	id := identity{binary: "/usr/sbin/haproxy", socket: sock}
	procs, err := id.instanceProcs()
	if err != nil {
		t.Fatal(err)
	}
	var got []int
	for _, p := range procs {
		got = append(got, p.PID)
	}
	sort.Ints(got)
	// 101 zombie, 102 unrelated, 103 another instance, 106 not haproxy.
	if want := []int{100, 104, 105}; !reflect.DeepEqual(got, want) {
		t.Errorf("instance processes = %v, want %v", got, want)
	}
	if _, ok := id.check(102); ok {
		t.Error("sleep taken for haproxy")
	}
	if err := id.signal(102, 0); err == nil {
		t.Error("signal to an unverified pid was not refused")
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
