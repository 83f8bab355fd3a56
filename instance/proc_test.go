package instance

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// statLine is a /proc/<pid>/stat line as Linux 6 writes it.
func statLine(pid int, comm string, state byte, ppid, pgid, sid int, start uint64) string {
	return fmt.Sprintf("%d (%s) %c %d %d %d 0 -1 4194560 1167 0 0 0 2 1 0 0 20 0 1 0 %d 2674688 229 "+
		"18446744073709551615 94505376456704 94505376473449 140727431260480 0 0 0 0 0 0 0 0 0 17 3 0 0 0 0 0 "+
		"94505376487088 94505376488576 94505393573888 140727431266591 140727431266601 140727431266601 140727431270379 0\n",
		pid, comm, state, ppid, pgid, sid, start)
}

// statusText is a /proc/<pid>/status as Linux 6 writes it, with the real
// and effective uids.
func statusText(name string, uid, euid uint32) string {
	return fmt.Sprintf("Name:\t%s\nUmask:\t0022\nState:\tS (sleeping)\nTgid:\t7\nNgid:\t0\nPid:\t7\nPPid:\t1\n"+
		"TracerPid:\t0\nUid:\t%d\t%d\t%d\t%d\nGid:\t0\t0\t0\t0\nFDSize:\t64\nGroups:\t\nVmPeak:\t    2612 kB\n",
		name, uid, euid, euid, euid)
}

func TestParseStat(t *testing.T) {
	cases := []struct {
		name string
		line string
		want Proc
		ok   bool
	}{
		{"plain", statLine(7, "sleep", 'S', 1, 7, 7, 98765), Proc{PID: 7, PPID: 1, PGID: 7, Session: 7, State: 'S', Start: 98765}, true},
		{"spaces in comm", statLine(8, "my prog", 'R', 7, 7, 7, 5), Proc{PID: 8, PPID: 7, PGID: 7, Session: 7, State: 'R', Start: 5}, true},
		{"')' and a forged tail in comm", statLine(9, "a) Z 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 0 0 0 0 1", 'S', 3, 4, 5, 6),
			Proc{PID: 9, PPID: 3, PGID: 4, Session: 5, State: 'S', Start: 6}, true},
		{"'(' and ')' in comm", statLine(10, "((x))", 'D', 1, 2, 3, 4), Proc{PID: 10, PPID: 1, PGID: 2, Session: 3, State: 'D', Start: 4}, true},
		{"newline in comm", statLine(11, "a\nb", 'T', 1, 2, 3, 4), Proc{PID: 11, PPID: 1, PGID: 2, Session: 3, State: 'T', Start: 4}, true},
		{"empty comm", statLine(12, "", 'S', 1, 2, 3, 4), Proc{PID: 12, PPID: 1, PGID: 2, Session: 3, State: 'S', Start: 4}, true},
		{"zombie", statLine(13, "defunct", 'Z', 1, 2, 3, 4), Proc{PID: 13, PPID: 1, PGID: 2, Session: 3, State: 'Z', Start: 4}, true},
		{"no trailing newline", strings.TrimSuffix(statLine(14, "x", 'S', 1, 2, 3, 4), "\n"), Proc{PID: 14, PPID: 1, PGID: 2, Session: 3, State: 'S', Start: 4}, true},
		{"largest start", statLine(15, "x", 'S', 1, 2, 3, 1<<64-1), Proc{PID: 15, PPID: 1, PGID: 2, Session: 3, State: 'S', Start: 1<<64 - 1}, true},
		{"exactly up to start", "16 (x) S 1 2 3 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 77", Proc{PID: 16, PPID: 1, PGID: 2, Session: 3, State: 'S', Start: 77}, true},
		{"one field short", "16 (x) S 1 2 3 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0", Proc{}, false},
		{"short", "7 (x) S 1 7 7", Proc{}, false},
		{"empty", "", Proc{}, false},
		{"garbage", "\x00\xff garbage", Proc{}, false},
		{"no comm", "7 S 1 7 7 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 77", Proc{}, false},
		{"no pid", "(x) S 1 2 3 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 77", Proc{}, false},
		{"pid not a number", "x7 (x) S 1 2 3 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 77", Proc{}, false},
		{"only ')'", "7 ) S 1 2 3 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 77 (", Proc{}, false},
		{"state of two letters", "7 (x) SS 1 2 3 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 77", Proc{}, false},
		{"ppid not a number", "7 (x) S x 2 3 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 77", Proc{}, false},
		{"session not a number", "7 (x) S 1 2 3x 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 77", Proc{}, false},
		{"negative start", "7 (x) S 1 2 3 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 -77", Proc{}, false},
		{"start too large", "7 (x) S 1 2 3 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 18446744073709551616", Proc{}, false},
	}
	for _, c := range cases {
		got, err := ParseStat([]byte(c.line))
		if (err == nil) != c.ok {
			t.Errorf("%s: ParseStat(%q) = %+v, %v; want ok=%t", c.name, c.line, got, err, c.ok)
			continue
		}
		if c.ok && got != c.want {
			t.Errorf("%s: ParseStat = %+v, want %+v", c.name, got, c.want)
		}
	}
}

func TestParseStatusUIDs(t *testing.T) {
	cases := []struct {
		name      string
		text      string
		uid, euid uint32
		ok        bool
	}{
		{"root", statusText("sleep", 0, 0), 0, 0, true},
		{"nobody", statusText("sleep", 65534, 65534), 65534, 65534, true},
		{"setuid", statusText("passwd", 1000, 0), 1000, 0, true},
		{"largest", statusText("x", 4294967295, 4294967294), 4294967295, 4294967294, true},
		{"spaces", "Name: x\nUid:  5 6 7 8\n", 5, 6, true},
		{"first line", "Uid:\t1\t2\t3\t4", 1, 2, true},
		{"two fields", "Uid:\t1\t2\n", 1, 2, true},
		{"no Uid line", "Name:\tx\nGid:\t0\t0\t0\t0\n", 0, 0, false},
		{"empty", "", 0, 0, false},
		{"one field", "Uid:\t1\n", 0, 0, false},
		{"no fields", "Uid:\n", 0, 0, false},
		{"not a number", "Uid:\tx\t0\t0\t0\n", 0, 0, false},
		{"negative", "Uid:\t-1\t0\t0\t0\n", 0, 0, false},
		{"too large", "Uid:\t4294967296\t0\t0\t0\n", 0, 0, false},
		{"not at a line start", "Name:\tUid:\t0\t0\nGid:\t0\n", 0, 0, false},
		{"a lookalike", "RUid:\t0\t0\t0\t0\n", 0, 0, false},
		{"the first Uid line", "Name:\tx\nUid:\t7\t7\t7\t7\nUid:\t0\t0\t0\t0\n", 7, 7, true},
	}
	for _, c := range cases {
		uid, euid, err := ParseStatusUIDs([]byte(c.text))
		if (err == nil) != c.ok || uid != c.uid || euid != c.euid {
			t.Errorf("%s: ParseStatusUIDs = %d, %d, %v; want %d, %d, ok=%t", c.name, uid, euid, err, c.uid, c.euid, c.ok)
		}
	}
}

func FuzzParseStat(f *testing.F) {
	f.Add([]byte(statLine(7, "sleep", 'S', 1, 7, 7, 98765)))
	f.Add([]byte(statLine(8, "a) b (c", 'Z', 1, 7, 7, 1)))
	f.Add([]byte("7 (x) S 1 7 7"))
	f.Add([]byte(""))
	f.Add([]byte(")("))
	f.Add([]byte("1 () "))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := ParseStat(b)
		if err != nil {
			return
		}
		// What parses has its fields after the last ')', as numbers.
		f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
		if len(f) < 20 || len(f[0]) != 1 || f[0][0] != p.State {
			t.Fatalf("ParseStat(%q) = %+v", b, p)
		}
		if start, err := strconv.ParseUint(f[19], 10, 64); err != nil || start != p.Start {
			t.Fatalf("ParseStat(%q) = %+v: start %q", b, p, f[19])
		}
	})
}

func FuzzParseStatusUIDs(f *testing.F) {
	f.Add([]byte(statusText("x", 1, 2)))
	f.Add([]byte("Uid:\t1\n"))
	f.Add([]byte(""))
	f.Fuzz(func(t *testing.T, b []byte) {
		ParseStatusUIDs(b)
	})
}

func TestReadProcSelf(t *testing.T) {
	p, err := ReadProc(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	sid, err := unix.Getsid(0)
	if err != nil {
		t.Fatal(err)
	}
	want := Proc{PID: os.Getpid(), PPID: os.Getppid(), PGID: unix.Getpgrp(), Session: sid,
		State: p.State, Start: p.Start, UID: uint32(os.Getuid()), EUID: uint32(os.Geteuid())}
	if p != want || p.Start == 0 || p.Zombie() || !strings.ContainsRune("RS", rune(p.State)) {
		t.Errorf("ReadProc(self) = %+v, want %+v", p, want)
	}
	// Our parent started before us.
	if pp, err := ReadProc(os.Getppid()); err != nil || pp.Start > p.Start {
		t.Errorf("ReadProc(parent) = %+v, %v", pp, err)
	}
	for _, pid := range []int{0, -1, 1 << 30} {
		if p, err := ReadProc(pid); err == nil {
			t.Errorf("ReadProc(%d) = %+v", pid, p)
		}
	}
	exe, err := Exe(os.Getpid())
	if self, _ := os.Executable(); err != nil || exe != self {
		t.Errorf("Exe(self) = %q, %v; want %q", exe, err, self)
	}
	args, err := Cmdline(os.Getpid())
	if err != nil || !reflect.DeepEqual(args, os.Args) {
		t.Errorf("Cmdline(self) = %q, %v; want %q", args, err, os.Args)
	}
	if _, err := Exe(1 << 30); err == nil {
		t.Error("Exe of no process")
	}
	if _, err := Cmdline(1 << 30); err == nil {
		t.Error("Cmdline of no process")
	}
}

// fakeProc points procRoot at a directory of fixtures for the test's
// duration.
func fakeProc(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	saved := procRoot
	procRoot = dir
	t.Cleanup(func() { procRoot = saved })
	return dir
}

// addProc writes the fixture of one process; an empty status writes none.
func addProc(t *testing.T, dir string, pid int, stat, status string) {
	t.Helper()
	d := filepath.Join(dir, strconv.Itoa(pid))
	if err := os.Mkdir(d, 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(d, "stat"), stat, 0o444)
	if status != "" {
		writeFile(t, filepath.Join(d, "status"), status, 0o444)
	}
}

func TestReadProcFixtures(t *testing.T) {
	dir := fakeProc(t)
	addProc(t, dir, 100, statLine(100, "svc", 'S', 1, 100, 100, 5000), statusText("svc", 33, 33))
	addProc(t, dir, 101, statLine(101, "dead", 'Z', 100, 100, 100, 5001), "")
	addProc(t, dir, 102, statLine(999, "liar", 'S', 1, 102, 102, 5002), statusText("liar", 0, 0))
	addProc(t, dir, 103, "garbage", statusText("x", 0, 0))
	addProc(t, dir, 104, statLine(104, "nostatus", 'S', 1, 104, 104, 5004), "")
	addProc(t, dir, 105, statLine(105, "setuid", 'S', 1, 105, 105, 5005), statusText("x", 1000, 0))
	if err := os.WriteFile(filepath.Join(dir, "106"), nil, 0o644); err != nil { // not a directory
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "100", "cmdline"), []byte("svc\x00-f\x00a b\x00\x00"), 0o444); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "104", "cmdline"), nil, 0o444); err != nil {
		t.Fatal(err)
	}
	p, err := ReadProc(100)
	if want := (Proc{PID: 100, PPID: 1, PGID: 100, Session: 100, State: 'S', Start: 5000, UID: 33, EUID: 33}); err != nil || p != want {
		t.Errorf("ReadProc(100) = %+v, %v; want %+v", p, err, want)
	}
	if p, err := ReadProc(101); err != nil || !p.Zombie() || p.PID != 101 {
		t.Errorf("ReadProc of a zombie = %+v, %v", p, err)
	}
	for pid, why := range map[int]string{102: "names pid 999", 103: "no command name", 104: "no such file", 106: "not a directory", 107: "no such file"} {
		_, err := ReadProc(pid)
		wantErr(t, "ReadProc("+strconv.Itoa(pid)+")", err, why)
	}
	if p, err := ReadProc(105); err != nil || p.UID != 1000 || p.EUID != 0 {
		t.Errorf("ReadProc of a setuid process = %+v, %v", p, err)
	}
	if args, err := Cmdline(100); err != nil || !reflect.DeepEqual(args, []string{"svc", "-f", "a b"}) {
		t.Errorf("Cmdline(100) = %q, %v", args, err)
	}
	if args, err := Cmdline(104); err != nil || args != nil {
		t.Errorf("Cmdline of a kernel thread = %q, %v", args, err)
	}
	// What is read is bounded.
	big := strings.Repeat("x\x00", maxProcFile)
	if err := os.WriteFile(filepath.Join(dir, "105", "cmdline"), []byte(big), 0o444); err != nil {
		t.Fatal(err)
	}
	if args, err := Cmdline(105); err != nil || len(strings.Join(args, "\x00")) > maxProcFile {
		t.Errorf("Cmdline of %d bytes: %d arguments, %v", len(big), len(args), err)
	}
}

func pids(ps []Proc) []int {
	var out []int
	for _, p := range ps {
		out = append(out, p.PID)
	}
	slices.Sort(out)
	return out
}

func TestProcessesFilters(t *testing.T) {
	dir := fakeProc(t)
	addProc(t, dir, 200, statLine(200, "leader", 'S', 1, 200, 200, 1000), statusText("leader", 33, 33))
	addProc(t, dir, 201, statLine(201, "child", 'R', 200, 200, 200, 1001), statusText("child", 33, 33))
	addProc(t, dir, 202, statLine(202, "dead", 'Z', 200, 200, 200, 1002), statusText("dead", 33, 33))
	addProc(t, dir, 203, statLine(203, "other", 'S', 1, 203, 203, 1003), statusText("other", 33, 33))
	addProc(t, dir, 204, statLine(204, "root", 'S', 200, 200, 200, 1004), statusText("root", 0, 0))
	addProc(t, dir, 205, statLine(205, "nostatus", 'S', 200, 200, 200, 1005), "")
	addProc(t, dir, 206, "206 (broken", statusText("broken", 33, 33))
	addProc(t, dir, 207, statLine(207, "dying", 'X', 200, 200, 200, 1007), statusText("dying", 33, 33))
	for _, n := range []string{"self", "sys", "0", "-1"} {
		if err := os.Mkdir(filepath.Join(dir, n), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	all := func(Proc) bool { return true }
	var preSaw []Proc
	ps, err := Processes(func(p Proc) bool {
		preSaw = append(preSaw, p)
		return p.Session == 200
	}, all)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := pids(ps), []int{200, 201, 204}; !slices.Equal(got, want) {
		t.Errorf("session 200: %v, want %v", got, want)
	}
	for _, p := range preSaw {
		if p.UID != 0 || p.EUID != 0 {
			t.Errorf("pre saw the owner of %d: %+v", p.PID, p)
		}
		if p.Zombie() {
			t.Errorf("pre saw the zombie %d", p.PID)
		}
	}
	for _, p := range ps {
		if p.PID == 201 && p.UID != 33 {
			t.Errorf("keep's result lacks the owner: %+v", p)
		}
	}
	ps, err = Processes(func(p Proc) bool { return p.Session == 200 }, func(p Proc) bool { return p.UID == 33 })
	if got, want := pids(ps), []int{200, 201}; err != nil || !slices.Equal(got, want) {
		t.Errorf("session 200 of uid 33: %v, %v; want %v", got, err, want)
	}
	ps, err = Processes(func(Proc) bool { return false }, all)
	if err != nil || len(ps) != 0 {
		t.Errorf("pre refusing all: %v, %v", ps, err)
	}
	ps, err = Processes(all, func(Proc) bool { return false })
	if err != nil || len(ps) != 0 {
		t.Errorf("keep refusing all: %v, %v", ps, err)
	}
	procRoot = filepath.Join(dir, "missing")
	if _, err := Processes(all, all); err == nil {
		t.Error("Processes without /proc")
	}
}

// The real /proc: Processes finds this process, with its owner.
func TestProcessesSelf(t *testing.T) {
	me := os.Getpid()
	ps, err := Processes(func(p Proc) bool { return p.PID == me }, func(p Proc) bool { return p.UID == uint32(os.Getuid()) })
	if err != nil || len(ps) != 1 || ps[0].PID != me {
		t.Fatalf("Processes(self) = %+v, %v", ps, err)
	}
	p, _ := ReadProc(me)
	p.State, ps[0].State = 0, 0 // R or S, of the moment
	if ps[0] != p {
		t.Errorf("Processes(self) = %+v, ReadProc(self) = %+v", ps[0], p)
	}
}
