package conformance

import (
	"errors"
	"fmt"
	"io/fs"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stackha/stackha/internal/testutil/require"
	"github.com/stackha/stackha/ocf"
)

// prerequisite reports whether err, from a sandbox set up under dir, says
// this machine lacks a program or a file (a service that is not installed),
// and names it: an ocf.Installed error (OCF_ERR_INSTALLED, as the agents
// report it), a program not found, a file missing outside dir. A file
// missing under dir is the sandbox's own failure, not a prerequisite.
func prerequisite(err error, dir string) (string, bool) {
	if ocf.CodeOf(err) == ocf.ErrInstalled {
		return "what the sandbox reports as not installed (" + err.Error() + ")", true
	}
	var ee *exec.Error
	if errors.As(err, &ee) && errors.Is(ee.Err, exec.ErrNotFound) {
		return "the program " + ee.Name, true
	}
	var pe *fs.PathError
	if errors.As(err, &pe) && errors.Is(pe.Err, fs.ErrNotExist) && !within(pe.Path, dir) {
		return "the file " + pe.Path, true
	}
	return "", false
}

func within(path, dir string) bool {
	rel, err := filepath.Rel(dir, path)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, "../")
}

// missing skips the test naming what this machine lacks, and fails it under
// CI (the rule of internal/testutil/require, for prerequisites found only by running).
func missing(t *testing.T, what string) {
	t.Helper()
	if require.InCI() {
		t.Fatalf("CI=true and this test needs %s", what)
	}
	t.Skipf("SKIP: needs %s (runs for real under CI=true as root)", what)
}

func TestPrerequisite(t *testing.T) {
	dir := "/tmp/sandbox-x"
	notFound := exec.Command("stackha-no-such-program-x").Run()
	cases := []struct {
		name string
		err  error
		want string // "" when not a prerequisite
	}{
		{"program", fmt.Errorf("keystone sandbox: bootstrap: %w", notFound), "the program stackha-no-such-program-x"},
		{"system file", fmt.Errorf("reading: %w", &fs.PathError{Op: "open", Path: "/etc/keystone/keystone.conf", Err: fs.ErrNotExist}), "the file /etc/keystone/keystone.conf"},
		{"file of the sandbox", fmt.Errorf("reading: %w", &fs.PathError{Op: "open", Path: dir + "/haproxy.cfg", Err: fs.ErrNotExist}), ""},
		{"permission", &fs.PathError{Op: "open", Path: "/etc/shadow", Err: fs.ErrPermission}, ""},
		{"not installed", fmt.Errorf("keystone sandbox: %w", ocf.Installed("keystone is not installed (keystone-manage: not found)")),
			"what the sandbox reports as not installed (keystone sandbox: keystone is not installed (keystone-manage: not found))"},
		{"not configured", ocf.Configured("bad"), ""},
		{"other", errors.New("keystone did not answer within 30s"), ""},
		{"unwrapped text", errors.New(`exec: "haproxy": executable file not found in $PATH`), ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, ok := prerequisite(c.err, dir)
			if ok != (c.want != "") || got != c.want {
				t.Fatalf("prerequisite(%v) = %q, %v; want %q", c.err, got, ok, c.want)
			}
		})
	}
}

func TestExitReason(t *testing.T) {
	stderr := "vip(-)[1]: ERROR: x\nocf-exit-reason:first\nnoise\nocf-exit-reason:haproxy is not installed\n"
	if got := exitReason(stderr); got != "haproxy is not installed" {
		t.Fatalf("exitReason = %q", got)
	}
	if got := exitReason("no reason\n"); got != "" {
		t.Fatalf("exitReason = %q", got)
	}
}
