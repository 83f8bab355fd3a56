package dummy

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stackha/stackha/instance"
	"github.com/stackha/stackha/ocf"
	"github.com/stackha/stackha/ocf/ocftest"
)

// TestMain keeps the instances' state (instance.Root) in a temporary
// directory; each case of TestActions gets one of its own.
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "shd-dummy-state-")
	if err != nil {
		panic(err)
	}
	instance.Root = filepath.Join(dir, "stackha")
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// run runs one action through the runtime in process, as Pacemaker runs
// the binary: env holds the OCF_RESKEY_*, CRM_meta and OCF_CHECK_LEVEL
// variables. It returns the exit code and everything written to standard
// error (the log lines and the ocf-exit-reason line).
func run(t *testing.T, inst, action string, env map[string]string) (ocf.Code, string) {
	t.Helper()
	e := ocftest.Env{"OCF_RESOURCE_INSTANCE": inst, "HA_LOGFACILITY": "none"}
	for k, v := range env {
		e[k] = v
	}
	a, ok := ocf.Lookup("dummy")
	if !ok {
		t.Fatal("dummy is not registered")
	}
	var stderr bytes.Buffer
	code := ocf.Run(a, "dummy", []string{action}, e, ocf.Streams{Stdout: io.Discard, Stderr: &stderr})
	return code, stderr.String()
}

// The instance's state before an action.
const (
	none          = ""
	running       = "running"        // a record of {before, dummy}
	unreadable    = "unreadable"     // a record of another version
	untrustedDir  = "untrusted dir"  // a state directory others can write
	untrustedRoot = "untrusted root" // instance.Root others can write
)

// setUp puts the instance name in state st under the current instance.Root.
func setUp(t *testing.T, name, st string) {
	t.Helper()
	var err error
	switch st {
	case running:
		err = instance.Save(name, kind, &record{State: "before", Fake: "dummy"})
	case unreadable:
		err = instance.Save(name, instance.Kind{Name: kind.Name, Version: 2}, &record{State: "from the future"})
	case untrustedDir:
		dir := instance.StateDir(name)
		if err = os.MkdirAll(dir, 0o700); err == nil {
			err = os.Chmod(dir, 0o777)
		}
	case untrustedRoot:
		if err = os.MkdirAll(instance.Root, 0o755); err == nil {
			err = os.Chmod(instance.Root, 0o777)
		}
	}
	if err != nil {
		t.Fatal(err)
	}
}

// env builds an environment from name=value pairs: parameters as
// OCF_RESKEY_name, the rest (CRM_meta_*, OCF_CHECK_LEVEL) as given.
func env(kv ...string) map[string]string {
	m := map[string]string{}
	for _, s := range kv {
		k, v, _ := strings.Cut(s, "=")
		if k != "OCF_CHECK_LEVEL" && !strings.HasPrefix(k, "OCF_RESKEY_") {
			k = "OCF_RESKEY_" + k
		}
		m[k] = v
	}
	return m
}

var (
	recurring = "OCF_RESKEY_CRM_meta_interval=10000"
	// past sets op_sleep beyond a 300 ms operation timeout.
	past = []string{"op_sleep=1m", "OCF_RESKEY_CRM_meta_timeout=300"}
	// asBefore: the action leaves the record as it was (not checked).
	asBefore = &record{State: "as before"}
	before   = &record{State: "before", Fake: "dummy"}
)

// failRemove is a removal that fails; with removed, after the record is
// gone.
func failRemove(string, instance.Kind) error { return errors.New("remove: device or resource busy") }

// TestActions drives every exit path of every action from each state the
// instance can be in, through the runtime (so the invalid-configuration
// policy is the runtime's own), and checks the record left behind.
func TestActions(t *testing.T) {
	cases := []struct {
		name   string
		state  string
		action string
		env    map[string]string
		remove func(string, instance.Kind) error
		code   ocf.Code
		reason string  // in standard error
		after  *record // the record after the action; nil: none
	}{
		{"start", none, "start", nil, nil, ocf.Success, "", &record{Fake: "dummy"}},
		{"start records the parameters", none, "start", env("state=hello", "fake=x"), nil, ocf.Success, "", &record{"hello", "x"}},
		{"start when running", running, "start", env("state=before"), nil, ocf.Success, "", before},
		{"start when running, new values", running, "start", env("state=new"), nil, ocf.Success, "", &record{"new", "dummy"}},
		{"start, record unreadable", unreadable, "start", nil, nil, ocf.ErrGeneric, "holds \"dummy\" version 2", asBefore},
		{"start, state directory untrusted", untrustedDir, "start", nil, nil, ocf.ErrGeneric, "others can write", nil},
		{"start, op_sleep not a time", none, "start", env("op_sleep=soon"), nil, ocf.ErrConfigured, "parameter op_sleep", nil},
		{"start, op_sleep out of range", none, "start", env("op_sleep=2h"), nil, ocf.ErrConfigured, "outside the range 0s..3600s", nil},
		{"start, state too long", none, "start", env("state=" + strings.Repeat("x", maxState+1)), nil, ocf.ErrConfigured, "at most 4096", nil},
		{"start after op_sleep", none, "start", env("op_sleep=50ms"), nil, ocf.Success, "", &record{Fake: "dummy"}},
		{"start, op_sleep past the timeout", none, "start", env(past...), nil, ocf.ErrGeneric, "did not finish", nil},

		{"monitor", running, "monitor", env(recurring), nil, ocf.Success, "", before},
		{"monitor, no record", none, "monitor", env(recurring), nil, ocf.NotRunning, "no record", nil},
		{"monitor, record unreadable", unreadable, "monitor", env(recurring), nil, ocf.ErrGeneric, "version 2", asBefore},
		{"monitor, state directory untrusted", untrustedDir, "monitor", env(recurring), nil, ocf.ErrGeneric, "others can write", nil},
		{"monitor, invalid configuration", running, "monitor", env(recurring, "op_sleep=soon"), nil, ocf.ErrGeneric, "invalid configuration", before},
		{"monitor, op_sleep past the timeout", running, "monitor", env(append(past, recurring)...), nil, ocf.ErrGeneric, "did not finish", before},

		{"probe", running, "monitor", nil, nil, ocf.Success, "", before},
		{"probe, no record", none, "monitor", nil, nil, ocf.NotRunning, "no record", nil},
		{"probe, record unreadable", unreadable, "monitor", nil, nil, ocf.ErrGeneric, "version 2", asBefore},
		{"probe, invalid configuration, record", running, "monitor", env("op_sleep=soon"), nil, ocf.ErrGeneric, "runs (as its record shows)", before},
		{"probe, invalid configuration, no record", none, "monitor", env("op_sleep=soon"), nil, ocf.NotRunning, "nothing of it runs", nil},
		{"probe, invalid configuration, record unreadable", unreadable, "monitor", env("op_sleep=soon"), nil, ocf.ErrGeneric, "version 2", asBefore},

		{"stop", running, "stop", nil, nil, ocf.Success, "", nil},
		{"stop, no record", none, "stop", nil, nil, ocf.Success, "", nil},
		{"stop, record unreadable", unreadable, "stop", nil, nil, ocf.ErrGeneric, "version 2", asBefore},
		{"stop, state directory untrusted", untrustedDir, "stop", nil, nil, ocf.Success, "nothing in it can be ours", nil},
		{"stop, invalid configuration", running, "stop", env("op_sleep=soon"), nil, ocf.Success, "stopping what start recorded", nil},
		{"stop, invalid configuration, no record", none, "stop", env("op_sleep=soon"), nil, ocf.Success, "", nil},
		{"stop, invalid configuration, record unreadable", unreadable, "stop", env("op_sleep=soon"), nil, ocf.ErrGeneric, "version 2", asBefore},
		{"stop, invalid configuration, state directory untrusted", untrustedDir, "stop", env("op_sleep=soon"), nil, ocf.ErrGeneric, "others can write", nil},
		{"stop, removal fails", running, "stop", nil, failRemove, ocf.ErrGeneric, "device or resource busy", before},
		{"stop, op_sleep past the timeout", running, "stop", env(past...), nil, ocf.ErrGeneric, "did not finish", before},

		{"reload-agent", running, "reload-agent", env("state=before", "fake=changed"), nil, ocf.Success, "", &record{"before", "changed"}},
		{"reload-agent, not running", none, "reload-agent", env("fake=changed"), nil, ocf.Success, "", nil},
		{"reload-agent, record unreadable", unreadable, "reload-agent", nil, nil, ocf.ErrGeneric, "version 2", asBefore},
		{"reload-agent, invalid configuration", running, "reload-agent", env("op_sleep=soon"), nil, ocf.ErrConfigured, "parameter op_sleep", before},

		{"validate-all", none, "validate-all", nil, nil, ocf.Success, "", nil},
		{"validate-all, level 10", running, "validate-all", env("OCF_CHECK_LEVEL=10"), nil, ocf.Success, "", before},
		{"validate-all, invalid configuration", none, "validate-all", env("state=" + strings.Repeat("x", maxState+1)), nil, ocf.ErrConfigured, "at most 4096", nil},
		{"validate-all, level 0, untrusted root", untrustedRoot, "validate-all", env("OCF_CHECK_LEVEL=0"), nil, ocf.Success, "", nil},
		{"validate-all, level 10, untrusted root", untrustedRoot, "validate-all", env("OCF_CHECK_LEVEL=10"), nil, ocf.ErrArgs, "cannot keep the record", nil},

		{"an action dummy does not implement", none, "promote", nil, nil, ocf.ErrUnimplemented, "not implemented", nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			saved := instance.Root
			t.Cleanup(func() { instance.Root = saved })
			instance.Root = filepath.Join(t.TempDir(), "stackha")
			if c.remove != nil {
				remove = c.remove
				t.Cleanup(func() { remove = instance.Remove })
			}
			const name = "res"
			setUp(t, name, c.state)
			code, stderr := run(t, name, c.action, c.env)
			if code != c.code || !strings.Contains(stderr, c.reason) {
				t.Fatalf("%s: exit %d (%s), want %d with %q; stderr:\n%s", c.action, code, code, c.code, c.reason, stderr)
			}
			if c.after == asBefore || c.state == untrustedDir || c.state == untrustedRoot {
				return
			}
			var got record
			found, err := instance.Load(name, kind, &got)
			switch {
			case err != nil:
				t.Fatalf("after %s: %v", c.action, err)
			case c.after == nil && found:
				t.Fatalf("after %s: record %+v left, want none", c.action, got)
			case c.after != nil && (!found || got != *c.after):
				t.Fatalf("after %s: record %+v (found: %v), want %+v", c.action, got, found, *c.after)
			}
		})
	}
}

// TestLifecycle walks one instance through ocf-tester's order: every
// action is idempotent.
func TestLifecycle(t *testing.T) {
	steps := []struct {
		action string
		env    map[string]string
		code   ocf.Code
	}{
		{"validate-all", nil, ocf.Success},
		{"monitor", env(recurring), ocf.NotRunning},
		{"monitor", nil, ocf.NotRunning},
		{"start", nil, ocf.Success},
		{"monitor", env(recurring), ocf.Success},
		{"monitor", nil, ocf.Success},
		{"stop", nil, ocf.Success},
		{"monitor", env(recurring), ocf.NotRunning},
		{"start", nil, ocf.Success},
		{"start", nil, ocf.Success},
		{"reload-agent", env("fake=other"), ocf.Success},
		{"monitor", env(recurring, "fake=other"), ocf.Success},
		{"stop", nil, ocf.Success},
		{"stop", nil, ocf.Success},
		{"monitor", env(recurring), ocf.NotRunning},
	}
	for i, s := range steps {
		if code, stderr := run(t, "lifecycle", s.action, s.env); code != s.code {
			t.Fatalf("step %d, %s: exit %d, want %d\n%s", i, s.action, code, s.code, stderr)
		}
	}
	if _, err := os.Stat(instance.StateDir("lifecycle")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the state directory is left after stop: %v", err)
	}
}

// TestDeclaration: the declaration is consistent, and every declared
// action has a handler (the conformance walk checks the same for every
// agent, with the meta-data validated by xmllint).
func TestDeclaration(t *testing.T) {
	a, ok := ocf.Lookup("dummy")
	if !ok {
		t.Fatal("dummy is not registered")
	}
	if err := a.Check(); err != nil {
		t.Fatal(err)
	}
}
