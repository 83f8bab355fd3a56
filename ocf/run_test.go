package ocf

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stackha/stackha/metadata"
)

// testAgent is registered only in these tests; its monitor does what the
// "mode" parameter says, so every exit path of the runtime can be driven.
func testAgent() *Agent {
	return &Agent{
		Meta: metadata.Agent{
			Name: "testagent", Version: "1.0", Short: "test agent", Long: "An agent for the runtime's tests.",
			Parameters: []metadata.Parameter{
				{Name: "mode", Type: metadata.String, Default: "ok", Short: "what to do", Long: "What the action does."},
				{Name: "count", Type: metadata.Integer, Default: "3", Short: "a count", Long: "A count.", Range: &metadata.Range{Min: 0, Max: 100}},
				{Name: "wait", Type: metadata.Time, Default: "1s", Short: "a wait", Long: "A wait.", Range: &metadata.Range{Min: int64(time.Millisecond), Max: int64(time.Hour)}},
				{Name: "flag", Type: metadata.Boolean, Default: "false", Short: "a flag", Long: "A flag."},
				{Name: "name", Type: metadata.String, Required: true, Unique: true, Short: "a name", Long: "A name."},
				{Name: "old", Type: metadata.String, Short: "old", Long: "Old.", Unsupported: "never was."},
				{Name: "unique", Type: metadata.Boolean, Default: "false", Short: "u", Long: "U.", Unsupported: "no clones."},
				{Name: "noop", Type: metadata.String, Short: "noop", Long: "Noop.", Ignored: "no effect."},
				{Name: "password", Type: metadata.String, Short: "pw", Long: "Never here.", Unsupported: "use a file.", Secret: true},
				{Name: "pin", Type: metadata.Integer, Short: "pin", Long: "A secret number.", Secret: true},
			},
			Actions: []metadata.Action{
				{Name: "start", Timeout: 20 * time.Second},
				{Name: "stop", Timeout: 20 * time.Second},
				{Name: "monitor", Timeout: 20 * time.Second, Interval: 10 * time.Second},
				{Name: "validate-all", Timeout: 5 * time.Second},
				{Name: "meta-data", Timeout: 5 * time.Second},
			},
		},
		Handlers: map[string]Handler{
			"start": func(ctx context.Context, r *Request) error { return behave(ctx, r) },
			"stop":  func(ctx context.Context, r *Request) error { return behave(ctx, r) },
			"monitor": func(ctx context.Context, r *Request) error {
				if r.Probe() {
					return Stopped("probe")
				}
				return behave(ctx, r)
			},
		},
	}
}

var lastRequest *Request

func behave(ctx context.Context, r *Request) error {
	lastRequest = r
	r.Log.Infof("running %s in mode %s", r.Action, r.Params.String("mode"))
	switch r.Params.String("mode") {
	case "ok":
		return nil
	case "generic":
		return Generic("it broke")
	case "plain":
		return errors.New("plain error")
	case "args":
		return Args("interface eth9 missing")
	case "unimpl":
		return Unimplemented("no")
	case "perm":
		return Perm("need root")
	case "installed":
		return Installed("binary missing")
	case "configured":
		return Configured("bad everywhere")
	case "stopped":
		return Stopped("not running")
	case "wrapped":
		return fmt.Errorf("outer: %w", Installed("inner"))
	case "panic":
		var m map[string]int
		//lint:ignore SA5000 the panic is what this mode is for
		m["x"] = 1
	case "deadline":
		<-ctx.Done()
		return ctx.Err()
	case "hang":
		time.Sleep(time.Hour)
	case "undeclared":
		_ = r.Params.String("nope")
	case "huge": // a 20 MB answer with terminal escapes, as a hostile socket gives
		return Generic("status: %s", strings.Repeat("x\x1b[31m\r\n", 2_000_000))
	case "loghuge":
		r.Log.Infof("service said: %s", strings.Repeat("y\x00\x07", 1_000_000))
	}
	return nil
}

func run(t *testing.T, env MapEnv, args ...string) (Code, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	if env == nil {
		env = MapEnv{}
	}
	if _, ok := env["OCF_RESKEY_name"]; !ok {
		env["OCF_RESKEY_name"] = "x"
	}
	code := Run(testAgent(), "testagent", args, env, Streams{Stdout: &out, Stderr: &errb})
	return code, out.String(), errb.String()
}

func TestExitCodes(t *testing.T) {
	cases := []struct {
		mode   string
		want   Code
		reason string
	}{
		{"ok", Success, ""},
		{"generic", ErrGeneric, "it broke"},
		{"plain", ErrGeneric, "plain error"},
		{"args", ErrArgs, "interface eth9 missing"},
		{"unimpl", ErrUnimplemented, "no"},
		{"perm", ErrPerm, "need root"},
		{"installed", ErrInstalled, "binary missing"},
		{"configured", ErrConfigured, "bad everywhere"},
		{"wrapped", ErrInstalled, "outer: inner"},
		{"panic", ErrGeneric, "internal error in testagent start: assignment to entry in nil map"},
		{"undeclared", ErrGeneric, `parameter "nope" is not declared`},
	}
	for _, c := range cases {
		t.Run(c.mode, func(t *testing.T) {
			code, _, stderr := run(t, MapEnv{"OCF_RESKEY_mode": c.mode}, "start")
			if code != c.want {
				t.Fatalf("code = %d, want %d (stderr %q)", code, c.want, stderr)
			}
			if c.reason == "" {
				if strings.Contains(stderr, "ocf-exit-reason:") {
					t.Fatalf("unexpected exit reason: %q", stderr)
				}
				return
			}
			if !strings.Contains(stderr, "ocf-exit-reason:") || !strings.Contains(stderr, c.reason) {
				t.Fatalf("stderr %q lacks ocf-exit-reason with %q", stderr, c.reason)
			}
			if strings.Contains(stderr, "goroutine ") && !strings.Contains(stderr, "ocf-exit-reason:") {
				t.Fatalf("a bare stack dump: %q", stderr)
			}
		})
	}
}

func TestExitReasonPrefix(t *testing.T) {
	_, _, stderr := run(t, MapEnv{"OCF_RESKEY_mode": "generic", "OCF_EXIT_REASON_PREFIX": "REASON>"}, "start")
	if !strings.Contains(stderr, "REASON>it broke\n") {
		t.Fatalf("stderr %q", stderr)
	}
}

func TestActions(t *testing.T) {
	cases := []struct {
		args   []string
		env    MapEnv
		want   Code
		stdout string
		stderr string
	}{
		{[]string{"usage"}, nil, Success, "usage: testagent", ""},
		{[]string{"help"}, nil, Success, "usage: testagent", ""},
		{nil, nil, ErrArgs, "", "ocf-exit-reason:no action given"},
		{[]string{"frobnicate"}, nil, ErrUnimplemented, "", `ocf-exit-reason:action "frobnicate" is not implemented by testagent`},
		{[]string{"meta-data"}, MapEnv{"OCF_RESKEY_name": ""}, Success, `<resource-agent name="testagent"`, ""},
		{[]string{"validate-all"}, nil, Success, "", ""},
		{[]string{"validate-all"}, MapEnv{"OCF_RESKEY_count": "many"}, ErrConfigured, "", `ocf-exit-reason:parameter count: "many" is not an integer`},
		{[]string{"validate-all"}, MapEnv{"OCF_RESKEY_flag": "maybe"}, ErrConfigured, "", `parameter flag: "maybe" is not a boolean`},
		{[]string{"validate-all"}, MapEnv{"OCF_RESKEY_name": ""}, ErrConfigured, "", "required parameter name is not set"},
		{[]string{"validate-all"}, MapEnv{"OCF_RESKEY_old": "1"}, ErrConfigured, "", `parameter old="1" is not supported: never was.`},
		{[]string{"start"}, MapEnv{"OCF_RESKEY_count": "many"}, ErrConfigured, "", "is not an integer"},
		{[]string{"validate-all"}, MapEnv{"OCF_RESKEY_unique": "no"}, Success, "", ""},
		{[]string{"validate-all"}, MapEnv{"OCF_RESKEY_unique": "true"}, ErrConfigured, "", `parameter unique="true" is not supported: no clones.`},
		{[]string{"validate-all"}, MapEnv{"OCF_RESKEY_password": "hunter2"}, ErrConfigured, "", "parameter password (value not shown) is not supported: use a file."},
		{[]string{"validate-all"}, MapEnv{"OCF_RESKEY_pin": "hunter2"}, ErrConfigured, "", "parameter pin (value not shown): not a valid integer"},
		// stop with a configuration that never parsed: nothing can run.
		{[]string{"stop"}, MapEnv{"OCF_RESKEY_count": "many"}, Success, "", ""},
		// a probe with a broken configuration is "not running", a recurring
		// monitor a plain failure: monitor never stops it cluster-wide.
		{[]string{"monitor"}, MapEnv{"OCF_RESKEY_count": "many"}, NotRunning, "", ""},
		{[]string{"monitor"}, MapEnv{"OCF_RESKEY_count": "many", "OCF_RESKEY_CRM_meta_interval": "10000"}, ErrGeneric, "", "is not an integer"},
		{[]string{"monitor"}, MapEnv{"OCF_RESKEY_mode": "stopped", "OCF_RESKEY_CRM_meta_interval": "10000"}, NotRunning, "", ""},
	}
	for _, c := range cases {
		t.Run(strings.Join(c.args, "_")+c.stderr, func(t *testing.T) {
			code, stdout, stderr := run(t, c.env, c.args...)
			if code != c.want {
				t.Fatalf("code = %d, want %d; stderr %q", code, c.want, stderr)
			}
			if strings.Contains(stdout+stderr, "hunter2") {
				t.Fatalf("a secret value is shown: %q", stderr)
			}
			if !strings.Contains(stdout, c.stdout) || !strings.Contains(stderr, c.stderr) {
				t.Fatalf("stdout %q, stderr %q; want %q / %q", stdout, stderr, c.stdout, c.stderr)
			}
		})
	}
}

func TestProbeDetection(t *testing.T) {
	cases := []struct {
		env   MapEnv
		probe bool
	}{
		{MapEnv{}, true},
		{MapEnv{"OCF_RESKEY_CRM_meta_interval": "0"}, true},
		{MapEnv{"OCF_RESKEY_CRM_meta_interval": "5000"}, false},
	}
	for _, c := range cases {
		code, _, _ := run(t, c.env, "monitor")
		if got := code == NotRunning; got != c.probe {
			t.Errorf("env %v: probe = %v, want %v", c.env, got, c.probe)
		}
	}
}

func TestDeadlineFromTimeout(t *testing.T) {
	t.Run("context", func(t *testing.T) {
		code, _, stderr := run(t, MapEnv{"OCF_RESKEY_mode": "deadline", "OCF_RESKEY_CRM_meta_timeout": "1000"}, "start")
		if code != ErrGeneric || !strings.Contains(stderr, "did not finish within 900ms") {
			t.Fatalf("code %d stderr %q", code, stderr)
		}
		// The deadline is on the request's context: check its arithmetic,
		// not the clock.
		if lastRequest.Timeout != time.Second {
			t.Fatalf("timeout %v", lastRequest.Timeout)
		}
	})
	t.Run("handler ignores context", func(t *testing.T) {
		code, _, stderr := run(t, MapEnv{"OCF_RESKEY_mode": "hang", "OCF_RESKEY_CRM_meta_timeout": "400"}, "start")
		if code != ErrGeneric || !strings.Contains(stderr, "did not finish") {
			t.Fatalf("code %d stderr %q", code, stderr)
		}
	})
	t.Run("declared default", func(t *testing.T) {
		run(t, MapEnv{}, "start")
		if lastRequest.Timeout != 20*time.Second {
			t.Fatalf("timeout %v", lastRequest.Timeout)
		}
	})
}

func TestMargin(t *testing.T) {
	for _, c := range []struct{ in, want time.Duration }{
		{time.Second, 100 * time.Millisecond},
		{500 * time.Millisecond, 100 * time.Millisecond},
		{5 * time.Second, 500 * time.Millisecond},
		{100 * time.Second, 2 * time.Second},
	} {
		if got := Margin(c.in); got != c.want {
			t.Errorf("Margin(%v) = %v, want %v", c.in, got, c.want)
		}
	}
}

func TestMetaAttributes(t *testing.T) {
	run(t, MapEnv{
		"OCF_RESKEY_CRM_meta_interval": "5000", "OCF_RESKEY_CRM_meta_timeout": "30000",
		"OCF_CHECK_LEVEL": "10", "OCF_RESKEY_CRM_meta_clone": "1", "OCF_RESKEY_CRM_meta_clone_max": "2",
		"OCF_RESKEY_CRM_meta_clone_node_max": "1", "OCF_RESKEY_CRM_meta_globally_unique": "false",
		"OCF_RESKEY_CRM_meta_notify": "true", "OCF_RESOURCE_INSTANCE": "haproxy:1",
		"OCF_RESKEY_count": "7", "OCF_RESKEY_flag": "yes",
	}, "monitor")
	r := lastRequest
	want := Clone{IsClone: true, Instance: "1", Max: 2, NodeMax: 1, Notify: true}
	if r.Interval != 5*time.Second || r.Timeout != 30*time.Second || r.CheckLevel != 10 || r.Clone != want ||
		r.Instance != "haproxy:1" || r.Probe() || r.Params.Int("count") != 7 || !r.Params.Bool("flag") ||
		r.Params.IsSet("mode") || !r.Params.IsSet("count") {
		t.Fatalf("request %+v", r)
	}
}

func TestLogFile(t *testing.T) {
	dir := t.TempDir()
	logf := filepath.Join(dir, "ha.log")
	debugf := filepath.Join(dir, "ha-debug.log")
	code, _, stderr := run(t, MapEnv{"HA_LOGFILE": logf, "HA_DEBUGLOG": debugf, "OCF_RESOURCE_INSTANCE": "res1",
		"OCF_RESKEY_noop": "x", "HA_LOGFACILITY": "none"}, "start")
	if code != Success {
		t.Fatalf("code %d: %s", code, stderr)
	}
	b, err := os.ReadFile(logf)
	if err != nil {
		t.Fatal(err)
	}
	log := string(b)
	for _, want := range []string{"testagent(res1)[", "INFO: running start in mode ok", `WARNING: parameter noop="x" is ignored: no effect.`, "start finished in"} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %q:\n%s", want, log)
		}
	}
	if stderr != "" {
		t.Errorf("with a log file, nothing on stderr; got %q", stderr)
	}
	// A successful monitor logs at debug: only in the debug log unless HA_debug.
	run(t, MapEnv{"HA_LOGFILE": logf, "HA_DEBUGLOG": debugf, "HA_LOGFACILITY": "none", "OCF_RESKEY_CRM_meta_interval": "1000"}, "monitor")
	b, _ = os.ReadFile(logf)
	d, _ := os.ReadFile(debugf)
	if strings.Contains(string(b), "DEBUG") || !strings.Contains(string(d), "DEBUG: monitor finished") {
		t.Errorf("debug routing wrong:\nlog:\n%s\ndebug:\n%s", b, d)
	}
	run(t, MapEnv{"HA_LOGFILE": logf, "HA_debug": "1", "HA_LOGFACILITY": "none", "OCF_RESKEY_CRM_meta_interval": "1000"}, "monitor")
	b, _ = os.ReadFile(logf)
	if !strings.Contains(string(b), "DEBUG: monitor finished") {
		t.Errorf("HA_debug=1 did not log debug:\n%s", b)
	}
}

func TestLogToStderrWithoutSinks(t *testing.T) {
	_, _, stderr := run(t, MapEnv{"HA_LOGFACILITY": "none"}, "start")
	if !strings.Contains(stderr, "testagent(-)[") || !strings.Contains(stderr, "INFO: running start") {
		t.Fatalf("stderr %q", stderr)
	}
}
