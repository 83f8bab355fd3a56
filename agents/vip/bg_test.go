package vip

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stackha/stackha/ocf"
)

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

func TestParseProcStat(t *testing.T) {
	for _, c := range []struct {
		line    string
		start   uint64
		session int
		wantErr bool
	}{
		{"4242 (stackha) S 1 4242 4242 0 -1 4194560 100 0 0 0 0 0 0 0 20 0 1 0 987654 1000 10", 987654, 4242, false},
		// A command name with spaces and parentheses cannot shift the fields.
		{"4242 (a) b) S 1 99 77 0 -1 4194560 100 0 0 0 0 0 0 0 20 0 1 0 55 1000 10", 55, 77, false},
		{"4242 (x) S 1 2 3", 0, 0, true},
		{"garbage", 0, 0, true},
		{"1 (x) S 1 2 notanumber 0 -1 4 1 0 0 0 0 0 0 0 20 0 1 0 5 1 1", 0, 0, true},
	} {
		start, session, err := parseProcStat([]byte(c.line))
		if (err != nil) != c.wantErr || start != c.start || session != c.session {
			t.Errorf("%q: %d %d %v, want %d %d (error %v)", c.line, start, session, err, c.start, c.session, c.wantErr)
		}
	}
}

// A process is ours only when owner, executable, start time and session all
// match the record: any one differing leaves it alone.
func TestSameProcess(t *testing.T) {
	cmd := exec.Command("sleep", "30")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	id, err := readProcID(cmd.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	if id.Session != id.Pid || id.UID != uint32(os.Getuid()) || !strings.HasSuffix(id.Exe, "/sleep") {
		t.Fatalf("identity %+v", id)
	}
	if !sameProcess(id) {
		t.Fatalf("%+v is not recognised", id)
	}
	for name, forged := range map[string]procID{
		"other executable": {Pid: id.Pid, UID: id.UID, Exe: "/usr/sbin/stackha", Start: id.Start, Session: id.Session},
		"other start":      {Pid: id.Pid, UID: id.UID, Exe: id.Exe, Start: id.Start + 1, Session: id.Session},
		"other owner":      {Pid: id.Pid, UID: id.UID + 1, Exe: id.Exe, Start: id.Start, Session: id.Session},
		"other session":    {Pid: id.Pid, UID: id.UID, Exe: id.Exe, Start: id.Start, Session: id.Session + 1},
		"pid 1":            {Pid: 1, UID: 0, Exe: id.Exe, Start: id.Start, Session: 1},
	} {
		if sameProcess(forged) {
			t.Errorf("%s: taken for ours", name)
		}
		// stop's path: a forged record never gets a signal sent.
		rec := &record{IP: "192.0.2.1", Announcer: &forged}
		stopAnnouncer(&ocf.Request{Log: ocf.NewLogger(ocf.LogConfig{Agent: "vip", Stderr: discard{}})}, rec)
		if err := cmd.Process.Signal(syscall.Signal(0)); err != nil {
			t.Fatalf("%s: the process was signalled: %v", name, err)
		}
	}
}

type discard struct{}

func (discard) Write(b []byte) (int, error) { return len(b), nil }

// The helper parses its flags with the standard flag package and refuses
// bad ones with exit 2 before touching the network.
func TestAnnounceHelperArgs(t *testing.T) {
	for _, args := range [][]string{
		{"-ip=192.0.2.1", "-nic=eth0", "-count=0"},
		{"-ip=192.0.2.1", "-nic=eth0", "-count=1001"},
		{"-ip=192.0.2.1", "-nic=eth0", "-interval=-1s"},
		{"-ip=192.0.2.1", "-nic=eth0", "-interval=2562047h"},
		{"-ip=nope", "-nic=eth0"},
		{"-ip=192.0.2.1", "-nic=a/b"},
		{"-ip=192.0.2.1", "-nic=eth0", "-netns=../x"},
		{"-ip=192.0.2.1", "-nic=eth0", "extra"},
		{"-bogus"},
	} {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		err := announceHelper(ctx, args)
		cancel()
		if ocf.CodeOf(err) != ocf.ErrArgs {
			t.Errorf("%v: %v (code %d), want exit 2", args, err, ocf.CodeOf(err))
		}
	}
}
