package ocf

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/stackha/stackha/instance"
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "ocf-state-")
	if err != nil {
		panic(err)
	}
	instance.Root = dir + "/stackha"
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// The one policy for an invalid configuration, whether a parameter does not
// parse or the agent's Configure refuses it: stop and probe work from the
// record; a recurring monitor fails without stopping the resource
// everywhere; the other actions fail with the configuration's code.
func TestInvalidConfigurationPolicy(t *testing.T) {
	bad := map[string]MapEnv{
		"parameter": {"OCF_RESKEY_count": "many"},
		"configure": {"OCF_RESKEY_mode": "refused-by-configure"},
	}
	cases := []struct {
		name     string
		action   string
		interval string
		state    error // what the FromState handler returns; nil: it runs
		noState  bool  // the agent keeps no state (no FromState handlers)
		want     Code
		reason   string
	}{
		{"stop undoes the record", "stop", "", nil, false, Success, ""},
		{"stop whose record cannot be read fails", "stop", "", Generic("record unreadable"), false, ErrGeneric, "record unreadable"},
		{"stop of a stateless agent", "stop", "", nil, true, Success, ""},
		{"probe of a running instance is not 7", "monitor", "", nil, false, ErrGeneric, "runs (as its record shows)"},
		{"probe with nothing running", "monitor", "", Stopped("no record"), false, NotRunning, ""},
		{"probe of a stateless agent", "monitor", "", nil, true, NotRunning, ""},
		{"recurring monitor", "monitor", "10000", nil, false, ErrGeneric, "invalid configuration"},
		{"start", "start", "", nil, false, ErrConfigured, ""},
	}
	for how, env := range bad {
		for _, c := range cases {
			t.Run(how+"/"+c.name, func(t *testing.T) {
				a := testAgent()
				a.Configure = func(r *Request) (any, error) {
					if r.Params.String("mode") == "refused-by-configure" {
						return nil, Configured("mode refused")
					}
					return "configured", nil
				}
				var fromState []string
				if !c.noState {
					a.StopFromState = func(ctx context.Context, r *Request) error {
						fromState = append(fromState, "stop")
						return c.state
					}
					a.ProbeFromState = func(ctx context.Context, r *Request) error {
						fromState = append(fromState, "probe")
						if r.Config != nil {
							t.Error("Config set for a FromState handler")
						}
						return c.state
					}
				}
				e := MapEnv{"OCF_RESKEY_name": "x", "HA_LOGFACILITY": "none", "OCF_RESOURCE_INSTANCE": "policy"}
				for k, v := range env {
					e[k] = v
				}
				if c.interval != "" {
					e["OCF_RESKEY_CRM_meta_interval"] = c.interval
				}
				var out, errb bytes.Buffer
				code := Run(a, "testagent", []string{c.action}, e, Streams{Stdout: &out, Stderr: &errb})
				if code != c.want || !strings.Contains(errb.String(), c.reason) {
					t.Fatalf("code %d, want %d with %q; stderr %q", code, c.want, c.reason, errb.String())
				}
				want := 0
				if !c.noState && (c.action == "stop" || c.action == "monitor" && c.interval == "") {
					want = 1
				}
				if len(fromState) != want {
					t.Fatalf("FromState handlers called %v, want %d call(s)", fromState, want)
				}
			})
		}
	}
}

// Configure's result reaches the handlers; it runs for every action but
// meta-data and usage.
func TestConfigureResultReachesHandlers(t *testing.T) {
	a := testAgent()
	calls := 0
	a.Configure = func(r *Request) (any, error) { calls++; return 42, nil }
	var got any
	a.Handlers["start"] = func(ctx context.Context, r *Request) error { got = r.Config; return nil }
	var out, errb bytes.Buffer
	env := MapEnv{"OCF_RESKEY_name": "x", "HA_LOGFACILITY": "none"}
	if code := Run(a, "testagent", []string{"start"}, env, Streams{Stdout: &out, Stderr: &errb}); code != Success || got != 42 {
		t.Fatalf("code %d, Config %v", code, got)
	}
	Run(a, "testagent", []string{"meta-data"}, env, Streams{Stdout: &out, Stderr: &errb})
	if calls != 1 {
		t.Fatalf("Configure ran %d times, want once (not for meta-data)", calls)
	}
}

// Every action of an instance runs under its lock: a second action waits,
// and one that cannot get it before its deadline fails saying who holds it.
func TestActionsOfOneInstanceDoNotOverlap(t *testing.T) {
	a := testAgent()
	entered := make(chan struct{})
	leave := make(chan struct{})
	a.Handlers["start"] = func(ctx context.Context, r *Request) error {
		close(entered)
		<-leave
		return nil
	}
	env := MapEnv{"OCF_RESKEY_name": "x", "HA_LOGFACILITY": "none", "OCF_RESOURCE_INSTANCE": "locked",
		"OCF_RESKEY_CRM_meta_timeout": "1000"}
	done := make(chan Code)
	go func() {
		var out, errb bytes.Buffer
		done <- Run(a, "testagent", []string{"start"}, env, Streams{Stdout: &out, Stderr: &errb})
	}()
	<-entered
	var out, errb bytes.Buffer
	code := Run(a, "testagent", []string{"stop"}, env, Streams{Stdout: &out, Stderr: &errb})
	if code != ErrGeneric || !strings.Contains(errb.String(), "another action of this instance is running") ||
		!strings.Contains(errb.String(), "start") {
		t.Fatalf("stop beside a running start: code %d, stderr %q", code, errb.String())
	}
	close(leave)
	if code := <-done; code != Success {
		t.Fatalf("start: %d", code)
	}
	// Once the start is done, the stop runs.
	errb.Reset()
	if code := Run(a, "testagent", []string{"stop"}, env, Streams{Stdout: &out, Stderr: &errb}); code != Success {
		t.Fatalf("stop after the start: code %d, stderr %q", code, errb.String())
	}
	// Another instance was never blocked.
	if _, err := instance.Lock(context.Background(), "other", "monitor"); err != nil {
		t.Fatal(err)
	}
}

// A lock that cannot be taken at all fails start but not stop or monitor.
func TestLockUnavailable(t *testing.T) {
	saved := instance.Root
	t.Cleanup(func() { instance.Root = saved })
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o777); err != nil { // others can write it: refused
		t.Fatal(err)
	}
	instance.Root = dir
	for _, c := range []struct {
		action string
		want   Code
	}{{"start", ErrGeneric}, {"stop", Success}, {"monitor", Success}} {
		var out, errb bytes.Buffer
		env := MapEnv{"OCF_RESKEY_name": "x", "HA_LOGFACILITY": "none", "OCF_RESKEY_CRM_meta_interval": "10000"}
		if c.action != "monitor" {
			delete(env, "OCF_RESKEY_CRM_meta_interval")
		}
		code := Run(testAgent(), "testagent", []string{c.action}, env, Streams{Stdout: &out, Stderr: &errb})
		if code != c.want || !strings.Contains(errb.String(), "others can write it") {
			t.Errorf("%s: code %d, want %d; stderr %q", c.action, code, c.want, errb.String())
		}
	}
}

// A handler's error keeps the code of the error it wraps.
func TestWrappedCodeKept(t *testing.T) {
	inner := Installed("haproxy missing")
	for _, err := range []error{fmt.Errorf("starting: %w", inner), errors.Join(errors.New("context"), inner)} {
		if CodeOf(err) != ErrInstalled {
			t.Errorf("%v: code %d, want %d", err, CodeOf(err), ErrInstalled)
		}
	}
}
