package vip

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stackha/stackha/instance"
	"github.com/stackha/stackha/ocf"
)

// A process is ours only when owner, executable, start time and session all
// match the record: stop never signals one where any of them differs.
func TestStopAnnouncerForged(t *testing.T) {
	cmd := exec.Command("sleep", "30")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	id, err := instance.Identify(cmd.Process.Pid, true)
	if err != nil {
		t.Fatal(err)
	}
	if id.Session != id.PID || id.UID != uint32(os.Getuid()) || !strings.HasSuffix(id.Exe, "/sleep") {
		t.Fatalf("identity %+v", id)
	}
	rec := &record{IP: "192.0.2.1", Announcer: &id}
	if !announcerRuns(rec) {
		t.Fatalf("%+v is not recognised", id)
	}
	for name, forged := range map[string]instance.Identity{
		"other executable": {PID: id.PID, UID: id.UID, Exe: "/usr/sbin/stackha", Start: id.Start, Session: id.Session},
		"other start":      {PID: id.PID, UID: id.UID, Exe: id.Exe, Start: id.Start + 1, Session: id.Session},
		"other owner":      {PID: id.PID, UID: id.UID + 1, Exe: id.Exe, Start: id.Start, Session: id.Session},
		"other session":    {PID: id.PID, UID: id.UID, Exe: id.Exe, Start: id.Start, Session: id.Session + 1},
	} {
		rec := &record{IP: "192.0.2.1", Announcer: &forged}
		if announcerRuns(rec) {
			t.Errorf("%s: taken for ours", name)
		}
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
