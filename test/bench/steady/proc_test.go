package steady

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestParseStat(t *testing.T) {
	// a command name with spaces and a ')' in it
	line := "4242 (my (odd) cmd) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 75 3 4 20 0 1 0 100 1000 10\n"
	sid, ticks, err := parseStat([]byte(line))
	if err != nil || sid != 4242 || ticks != 325 {
		t.Fatalf("parseStat = %d, %d, %v", sid, ticks, err)
	}
	for _, bad := range []string{"", "1 (x) S 1 2", "1 (x) S 1 2 x 0 -1 0 0 0 0 0 1 1", "1 (x) S 1 2 3 0 -1 0 0 0 0 0 y 1"} {
		if _, _, err := parseStat([]byte(bad)); err == nil {
			t.Errorf("parseStat(%q): no error", bad)
		}
	}
}

func TestSessionCPU(t *testing.T) {
	// this test's own session holds at least this process
	b, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		t.Skip("no /proc")
	}
	sid, _, err := parseStat(b)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := SessionCPU(sid); err != nil {
		t.Fatal(err)
	}
	if _, err := SessionCPU(1 << 30); err == nil {
		t.Fatal("a session with no process: no error")
	}
}

func TestReadPID(t *testing.T) {
	dir := t.TempDir()
	for text, want := range map[string]int{"123\n": 123, " 77 88\n": 77, "": 0, "abc": 0, "1": 0, "-4": 0} {
		p := filepath.Join(dir, "pid")
		os.WriteFile(p, []byte(text), 0o644)
		got, err := ReadPID(p)
		if got != want || (err == nil) != (want != 0) {
			t.Errorf("ReadPID(%q) = %d, %v", text, got, err)
		}
	}
	if _, err := ReadPID(filepath.Join(dir, "missing")); err == nil {
		t.Error("missing pid file: no error")
	}
}

func TestParseRC(t *testing.T) {
	rc := "# admin\nexport OS_AUTH_URL=http://127.0.0.1:5000/v3\nexport OS_USERNAME=admin\n" +
		"export OS_PASSWORD='s3 cret'\nexport PATH=/evil\nunset OS_X\n"
	got, err := ParseRC(rc)
	if err != nil {
		t.Fatal(err)
	}
	if got["OS_PASSWORD"] != "s3 cret" || got["OS_USERNAME"] != "admin" || got["OS_AUTH_URL"] != "http://127.0.0.1:5000/v3" || len(got) != 3 {
		t.Fatalf("ParseRC = %v", got)
	}
	for _, bad := range []string{"export OS_AUTH_URL=x\n", "export OS_AUTH_URL=x\nexport OS_PASSWORD='a'b'\n", "export OS_AUTH_URL=x\nexport OS_PASSWORD='\n"} {
		if _, err := ParseRC(bad); err == nil {
			t.Errorf("ParseRC(%q): no error", bad)
		}
	}
}

func TestExecCPU(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh")
	}
	if _, err := ExecCPU(exec.Command(sh, "-c", "exit 0"), 0); err != nil {
		t.Fatal(err)
	}
	_, err = ExecCPU(exec.Command(sh, "-c", "echo why >&2; exit 7"), 0)
	if err == nil || !strings.Contains(err.Error(), "exit 7") || !strings.Contains(err.Error(), "why") {
		t.Fatalf("err = %v", err)
	}
	if _, err := ExecCPU(exec.Command(sh, "-c", "exit 7"), 7); err != nil {
		t.Fatalf("wanted exit 7: %v", err)
	}
	if _, err := ExecCPU(exec.Command(filepath.Join(t.TempDir(), "none")), 0); err == nil {
		t.Fatal("a missing program: no error")
	}
	// the children's CPU counts: a child that spins for a while
	cpu, err := ExecCPU(exec.Command(sh, "-c", `sh -c 'i=0; while [ $i -lt 200000 ]; do i=$((i+1)); done'`), 0)
	if err != nil {
		t.Fatal(err)
	}
	if cpu < time.Millisecond {
		t.Fatalf("a spinning child cost %v", cpu)
	}
}

func TestFirstLine(t *testing.T) {
	for in, want := range map[string]string{
		"plain": "plain",
		"a: exit 6, want 0: ocf-exit-reason:why\nmore": "why",
		"one\ntwo":               "one",
		strings.Repeat("x", 300): strings.Repeat("x", 200) + "...",
	} {
		if got := firstLine(errors.New(in)); got != want {
			t.Errorf("firstLine(%q) = %q, want %q", in, got, want)
		}
	}
}
