package openstacktest

import (
	"github.com/stackha/stackha/internal/testutil/require"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
)

// StopSession ends a session only when its leader runs the sandbox's
// program (or, for a script, its interpreter).
func TestStopSession(t *testing.T) {
	require.Command(t, "sleep")
	sleep, _ := exec.LookPath("sleep")
	sleep, _ = filepath.EvalSymlinks(sleep)
	cmd := exec.Command(sleep, "60")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	defer cmd.Process.Kill()
	dir := t.TempDir()
	pidfile := filepath.Join(dir, "x.pid")
	os.WriteFile(pidfile, []byte(strconv.Itoa(cmd.Process.Pid)+"\n"), 0o644)

	script := filepath.Join(dir, "svc")
	os.WriteFile(script, []byte("#! "+sleep+"\n"), 0o755)
	other := filepath.Join(dir, "other")
	os.WriteFile(other, []byte("#!/bin/sh\n"), 0o755)
	cases := []struct {
		program string
		same    bool
	}{{sleep, true}, {script, true}, {other, false}, {"/nonexistent", false}}
	for _, tc := range cases {
		if got := sameProgram(sleep, tc.program); got != tc.same {
			t.Errorf("sameProgram(%s, %s) = %v", sleep, tc.program, got)
		}
	}

	StopSession(pidfile, other)
	select {
	case <-exited:
		t.Fatal("StopSession ended a session that runs another program")
	default:
	}
	StopSession(pidfile, sleep)
	<-exited
}
