// Package watchtest is test support for the agents' watchers: a fake
// crm_resource that records its arguments (the real one needs a cluster),
// and a look for watcher processes left behind.
package watchtest

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stackha/stackha/instance"
)

// CRM is a fake crm_resource: Dir goes first on the PATH a watcher gets.
type CRM struct {
	Dir   string
	calls string
}

// FakeCRM writes a crm_resource that appends its arguments, one call a
// line, to a file of the test's.
func FakeCRM(t *testing.T) *CRM {
	t.Helper()
	dir := t.TempDir()
	os.Chmod(dir, 0o755)
	c := &CRM{Dir: dir, calls: filepath.Join(dir, "calls")}
	script := "#!/bin/sh\necho \"$*\" >> '" + c.calls + "'\n"
	if err := os.WriteFile(filepath.Join(dir, "crm_resource"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return c
}

// PATH is a PATH with the fake first.
func (c *CRM) PATH() string { return "PATH=" + c.Dir + ":/usr/sbin:/usr/bin:/sbin:/bin" }

// Calls are the calls so far.
func (c *CRM) Calls() []string {
	b, _ := os.ReadFile(c.calls)
	return strings.Split(strings.TrimSpace(string(b)), "\n")[:strings.Count(string(b), "\n")]
}

// WaitCalls waits until there are n calls, failing the test after a
// generous deadline (a hang, never a measure of speed).
func (c *CRM) WaitCalls(t *testing.T, n int) []string {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for len(c.Calls()) < n {
		if time.Now().After(deadline) {
			t.Fatalf("crm_resource ran %d times, want %d: %q", len(c.Calls()), n, c.Calls())
		}
		time.Sleep(10 * time.Millisecond)
	}
	return c.Calls()
}

// Watchers lists the live processes running helper for the instance name.
func Watchers(t *testing.T, helper, name string) []int {
	t.Helper()
	ps, err := instance.Processes(func(instance.Proc) bool { return true }, func(instance.Proc) bool { return true })
	if err != nil {
		t.Fatal(err)
	}
	var out []int
	for _, p := range ps {
		argv, err := instance.Cmdline(p.PID)
		if err == nil && len(argv) > 1 && argv[1] == helper && slices.Contains(argv, "-name="+name) {
			out = append(out, p.PID)
		}
	}
	return out
}

// WaitNoWatcher waits until no watcher of the instance runs, failing the
// test (and killing them) after a generous deadline.
func WaitNoWatcher(t *testing.T, helper, name string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		ws := Watchers(t, helper, name)
		if len(ws) == 0 {
			return
		}
		if time.Now().After(deadline) {
			for _, pid := range ws {
				p, _ := os.FindProcess(pid)
				p.Kill()
			}
			t.Fatalf("watchers %v of %s outlived their instance", ws, name)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
