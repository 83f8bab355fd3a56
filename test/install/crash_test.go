package install

import (
	"os/exec"
	"syscall"
	"testing"
	"time"

	"github.com/stackha/stackha/internal/testutil/require"
)

// A Go runtime fatal error, or a panic outside a handler, must not end an
// agent with exit 2 (OCF_ERR_ARGS: Pacemaker bans the resource from the
// node); ocf.Main makes the runtime end it with SIGABRT instead, a failure
// Pacemaker recovers from. SIGQUIT takes the runtime's fatal path (a dump of
// every goroutine, then the exit): an agent waiting in op_sleep gets one.
func TestRuntimeCrashIsNotExit2(t *testing.T) {
	require.Root(t)
	require.Command(t, "unshare")
	bin := unstrippedBinary(t)
	// The agent's state and lock in a /run/stackha of its own (a tmpfs in a
	// mount namespace), and no core file.
	cmd := exec.Command("unshare", "--mount", "sh", "-c",
		`mkdir -p /run/stackha && mount -t tmpfs none /run/stackha && ulimit -c 0 && exec "$0" dummy monitor`, bin)
	cmd.Env = []string{"OCF_RESKEY_op_sleep=60s", "OCF_RESKEY_CRM_meta_interval=10000",
		"OCF_RESKEY_CRM_meta_timeout=120000", "HA_LOGFACILITY=none", "PATH=/usr/sbin:/usr/bin:/sbin:/bin"}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Second) // well past the runtime's start-up
	if err := cmd.Process.Signal(syscall.SIGQUIT); err != nil {
		t.Fatal(err)
	}
	err := cmd.Wait()
	ws, _ := cmd.ProcessState.Sys().(syscall.WaitStatus)
	if !ws.Signaled() || ws.Signal() != syscall.SIGABRT {
		t.Fatalf("the agent ended with %v (exit %d): want killed by SIGABRT", err, cmd.ProcessState.ExitCode())
	}
}
