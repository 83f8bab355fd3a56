package vip

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stackha/stackha/instance"
	"github.com/stackha/stackha/ocf"
	"github.com/stackha/stackha/ocf/ocftest"
)

// TestMain keeps the instances' state (instance.Root) in a temporary
// directory, and makes the test binary the background announcer of the
// starts run in process (their r.Self is this binary).
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == announceCmd {
		code := ocf.MainArgs(os.Args, ocf.ProcessEnv, ocf.Streams{Stdout: os.Stdout, Stderr: os.Stderr}, nil)
		// Not os.Exit: under the race detector it sleeps a second before
		// exiting 0, and the announcer would seem to run on.
		syscall.Exit(int(code))
	}
	dir, err := os.MkdirTemp("", "shv-vip-state-")
	if err != nil {
		panic(err)
	}
	instance.Root = filepath.Join(dir, "stackha")
	code := m.Run()
	os.RemoveAll(dir)
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// stateRoot gives the test an instance.Root of its own.
func stateRoot(t *testing.T) string {
	t.Helper()
	saved := instance.Root
	t.Cleanup(func() { instance.Root = saved })
	instance.Root = filepath.Join(t.TempDir(), "stackha")
	return instance.Root
}

// ocfRun runs one action through the runtime in process, as Pacemaker runs
// the binary: the parameters parsed against the declaration, configure,
// the instance's lock, the one policy for an invalid configuration. It
// returns nil for success, else an *ocf.Error with the exit code and the
// reason: the ocf-exit-reason line, or, when there is none (a monitor's
// 7), everything the agent logged. A negative level leaves
// OCF_CHECK_LEVEL unset.
func ocfRun(log io.Writer, inst, action string, interval time.Duration, level int, params map[string]string) error {
	env := ocftest.Env{"OCF_RESOURCE_INSTANCE": inst, "HA_LOGFACILITY": "none"}
	if interval > 0 {
		env["OCF_RESKEY_CRM_meta_interval"] = strconv.FormatInt(interval.Milliseconds(), 10)
	}
	if level >= 0 {
		env["OCF_CHECK_LEVEL"] = strconv.Itoa(level)
	}
	for k, v := range params {
		env["OCF_RESKEY_"+k] = v
	}
	a, ok := ocf.Lookup("vip")
	if !ok {
		return errors.New("vip is not registered")
	}
	var stderr bytes.Buffer
	code := ocf.Run(a, "vip", []string{action}, env, ocf.Streams{Stdout: io.Discard, Stderr: io.MultiWriter(&stderr, log)})
	if code == ocf.Success {
		return nil
	}
	reason := stderr.String()
	const prefix = "ocf-exit-reason:"
	if i := strings.LastIndex(reason, prefix); i >= 0 {
		reason = strings.TrimSpace(reason[i+len(prefix):])
	}
	return &ocf.Error{Code: code, Err: errors.New(reason)}
}
