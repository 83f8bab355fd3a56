package ocf

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stackha/stackha/metadata"
)

// An invalid instance is refused before any agent code runs; stop succeeds
// touching nothing; meta-data and usage ignore it.
func TestRunRefusesInvalidInstance(t *testing.T) {
	cases := []struct {
		action string
		want   Code
		stdout string
		stderr string
		ran    bool
	}{
		{"start", ErrArgs, "", `ocf-exit-reason:OCF_RESOURCE_INSTANCE "../../x" is not a valid resource id`, false},
		{"monitor", ErrArgs, "", "ocf-exit-reason:", false},
		{"validate-all", ErrArgs, "", "ocf-exit-reason:", false},
		{"stop", Success, "", "nothing of ours can be running", false},
		{"meta-data", Success, "<resource-agent", "", false},
		{"usage", Success, "usage: testagent", "", false},
	}
	for _, c := range cases {
		t.Run(c.action, func(t *testing.T) {
			lastRequest = nil
			code, stdout, stderr := run(t, MapEnv{"OCF_RESOURCE_INSTANCE": "../../x"}, c.action)
			if code != c.want || !strings.Contains(stdout, c.stdout) || !strings.Contains(stderr, c.stderr) {
				t.Fatalf("code %d (want %d), stdout %q, stderr %q", code, c.want, stdout, stderr)
			}
			if ran := lastRequest != nil; ran != c.ran {
				t.Fatalf("handler ran: %t", ran)
			}
			if c.action == "stop" && strings.Contains(stderr, "ocf-exit-reason:") {
				t.Fatalf("a successful stop with an exit reason: %q", stderr)
			}
		})
	}
}

func TestOpTiming(t *testing.T) {
	const decl = 30 * time.Second
	cases := []struct {
		name              string
		meta              map[string]string
		declared          time.Duration
		interval, timeout time.Duration
		warn              string
	}{
		{"none", nil, decl, 0, decl, ""},
		{"both", map[string]string{"interval": "10000", "timeout": "20000"}, decl, 10 * time.Second, 20 * time.Second, ""},
		{"min timeout", map[string]string{"timeout": "1"}, decl, 0, time.Millisecond, ""},
		{"max timeout", map[string]string{"timeout": "604800000"}, decl, 0, MaxTimeout, ""},
		{"zero timeout", map[string]string{"timeout": "0"}, decl, 0, decl, "CRM_meta_timeout: 0 ms is below 1ms"},
		{"timeout above a week", map[string]string{"timeout": "604800001"}, decl, 0, decl, "is above 168h0m0s"},
		{"wrapping timeout", map[string]string{"timeout": "18446744073710"}, decl, 0, decl, "using the declared timeout 30s"},
		{"int64 overflow", map[string]string{"timeout": "99999999999999999999"}, decl, 0, decl, "is not a number"},
		{"negative timeout", map[string]string{"timeout": "-5"}, decl, 0, decl, "below"},
		{"garbage timeout", map[string]string{"timeout": "20s"}, decl, 0, decl, `"20s" is not a number of milliseconds`},
		{"no declared timeout", nil, 0, 0, DefaultTimeout, ""},
		{"silly declared timeout", nil, -time.Second, 0, DefaultTimeout, ""},
		{"huge interval", map[string]string{"interval": "9223372036854775807"}, decl, MaxInterval, decl, "CRM_meta_interval"},
		{"garbage interval", map[string]string{"interval": "x"}, decl, 0, decl, "CRM_meta_interval"},
		{"negative interval", map[string]string{"interval": "-1"}, decl, 0, decl, "below"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			iv, to, warns := opTiming(c.meta, c.declared)
			w := strings.Join(warns, "\n")
			if iv != c.interval || to != c.timeout || (c.warn == "") != (w == "") || !strings.Contains(w, c.warn) {
				t.Fatalf("got %v, %v, %q; want %v, %v, %q", iv, to, w, c.interval, c.timeout, c.warn)
			}
		})
	}
}

// Whatever Pacemaker (or anyone) passes, the timing stays within bounds and
// the deadlines derived from it are ahead and before the timeout.
func FuzzOpTiming(f *testing.F) {
	for _, s := range [][2]string{{"20000", "10000"}, {"18446744073710", "0"}, {"1", "1"}, {"-1", "-1"},
		{"9223372036854775807", "9223372036854775807"}, {"", ""}, {"x", "1e3"}} {
		f.Add(s[0], s[1], int64(20*time.Second))
	}
	f.Fuzz(func(t *testing.T, timeout, interval string, declared int64) {
		iv, to, _ := opTiming(map[string]string{"timeout": timeout, "interval": interval}, time.Duration(declared))
		if to < MinTimeout || to > MaxTimeout || iv < 0 || iv > MaxInterval {
			t.Fatalf("timeout %v, interval %v out of bounds", to, iv)
		}
		m := Margin(to)
		if m <= 0 || to-m <= 0 || to-m/2 <= 0 || to-m/2 > to {
			t.Fatalf("timeout %v: margin %v gives deadlines %v, %v", to, m, to-m, to-m/2)
		}
	})
}

// A silly CRM_meta_timeout falls back to the declared one: the action does
// not fail at once on a wrapped deadline.
func TestWrappingTimeoutFallsBack(t *testing.T) {
	code, _, stderr := run(t, MapEnv{"OCF_RESKEY_CRM_meta_timeout": "18446744073710"}, "start")
	if code != Success || lastRequest.Timeout != 20*time.Second {
		t.Fatalf("code %d, timeout %v, stderr %q", code, lastRequest.Timeout, stderr)
	}
	if !strings.Contains(stderr, "CRM_meta_timeout: 18446744073710 ms is above 168h0m0s; using the declared timeout 20s") {
		t.Fatalf("fallback not logged: %q", stderr)
	}
}

func TestParamRange(t *testing.T) {
	cases := []struct {
		env  MapEnv
		want Code
		msg  string
	}{
		{MapEnv{"OCF_RESKEY_count": "0"}, Success, ""},
		{MapEnv{"OCF_RESKEY_count": "100"}, Success, ""},
		{MapEnv{"OCF_RESKEY_count": "101"}, ErrConfigured, `parameter count: "101" is outside the range 0..100`},
		{MapEnv{"OCF_RESKEY_count": "-1"}, ErrConfigured, `parameter count: "-1" is outside the range 0..100`},
		{MapEnv{"OCF_RESKEY_count": "9223372036854775807"}, ErrConfigured, "outside the range 0..100"},
		{MapEnv{"OCF_RESKEY_wait": "1ms"}, Success, ""},
		{MapEnv{"OCF_RESKEY_wait": "3600"}, Success, ""},
		{MapEnv{"OCF_RESKEY_wait": "3601"}, ErrConfigured, `parameter wait: "3601" is outside the range 1ms..3600s`},
		{MapEnv{"OCF_RESKEY_wait": "0"}, ErrConfigured, `parameter wait: "0" is outside the range 1ms..3600s`},
		{MapEnv{"OCF_RESKEY_wait": "9223372036854775807"}, ErrConfigured, "parameter wait: "},
		{MapEnv{"OCF_RESKEY_pin": "7"}, Success, ""},
	}
	for _, c := range cases {
		code, _, stderr := run(t, c.env, "validate-all")
		if code != c.want || !strings.Contains(stderr, c.msg) {
			t.Errorf("%v: code %d (want %d), stderr %q (want %q)", c.env, code, c.want, stderr, c.msg)
		}
	}
	// A secret out of range is not quoted.
	a := &metadata.Agent{Name: "s", Parameters: []metadata.Parameter{{Name: "pin", Type: metadata.Integer, Secret: true, Range: &metadata.Range{Min: 0, Max: 9}}}}
	_, _, err := ParseParams(a, MapEnv{"OCF_RESKEY_pin": "12345"})
	if err == nil || CodeOf(err) != ErrConfigured || strings.Contains(err.Error(), "12345") || !strings.Contains(err.Error(), "in the range 0..9") {
		t.Fatalf("secret out of range: %v", err)
	}
}

func TestSanitize(t *testing.T) {
	long := strings.Repeat("é", MaxLine) // 2 bytes each
	cases := []struct{ in, want string }{
		{"plain", "plain"},
		{"a\nb", "a; b"},
		{"a\r\nb", "a; b"},
		{"a\tb", "a b"},
		{"a\x1b[31mred\x07", "a[31mred"},
		{"a\x00b\x7f", "ab"},
		{"a\u0085b", "ab"}, // C1 next line
		{"a\xffb", "ab"},
		{"keep \uFFFD", "keep \uFFFD"},
		{"ünïcode", "ünïcode"},
	}
	for _, c := range cases {
		if got := Sanitize(c.in); got != c.want {
			t.Errorf("Sanitize(%q) = %q, want %q", c.in, got, c.want)
		}
	}
	got := Sanitize(long)
	if len(got) > MaxLine || !utf8.ValidString(got) || !strings.HasSuffix(got, "more bytes cut)") {
		t.Fatalf("long: %d bytes, valid %t, ends %q", len(got), utf8.ValidString(got), got[len(got)-30:])
	}
}

func TestExitReasonAndLogCapped(t *testing.T) {
	code, _, stderr := run(t, MapEnv{"OCF_RESKEY_mode": "huge", "HA_LOGFACILITY": "none"}, "start")
	if code != ErrGeneric {
		t.Fatalf("code %d", code)
	}
	for _, line := range strings.Split(strings.TrimSuffix(stderr, "\n"), "\n") {
		if len(line) > MaxLine+100 || strings.ContainsAny(line, "\x1b\r") { // the message is capped; a log line adds its tag
			t.Fatalf("a line of %d bytes or with control bytes: %q...", len(line), line[:min(len(line), 80)])
		}
	}
	if !strings.Contains(stderr, "ocf-exit-reason:status: x[31m; x[31m") {
		t.Fatalf("reason %q...", stderr[:min(len(stderr), 200)])
	}
	logf := filepath.Join(t.TempDir(), "ha.log")
	run(t, MapEnv{"OCF_RESKEY_mode": "loghuge", "HA_LOGFILE": logf, "HA_LOGFACILITY": "none"}, "start")
	b, err := os.ReadFile(logf)
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(strings.TrimSuffix(string(b), "\n"), "\n") {
		if len(line) > MaxLine+100 || strings.ContainsAny(line, "\x00\x07") {
			t.Fatalf("a log line of %d bytes or with control bytes", len(line))
		}
	}
	if !strings.Contains(string(b), "service said: yyy") {
		t.Fatalf("log %q", b[:min(len(b), 300)])
	}
}

// meta-data: OCF 1.1 for a caller that announced it, 1.0 otherwise; an
// alias names the agent that replaces it.
func TestMetaDataFlavour(t *testing.T) {
	saved := xml11
	defer func() { xml11 = saved }()
	var rendered *metadata.Agent
	xml11 = func(m *metadata.Agent) ([]byte, error) { rendered = m; return []byte("<!-- 1.1 -->"), nil }
	a := testAgent()
	a.Aliases = []string{"oldname"}
	cases := []struct {
		name     string
		env      MapEnv
		want     string
		replaced string
	}{
		{"testagent", MapEnv{}, `<version>1.0</version>`, ""},
		{"testagent", MapEnv{"OCF_RA_VERSION_MAJOR": "1", "OCF_RA_VERSION_MINOR": "1"}, "<!-- 1.1 -->", ""},
		{"testagent", MapEnv{"OCF_RA_VERSION_MAJOR": "1", "OCF_RA_VERSION_MINOR": "0"}, `<version>1.0</version>`, ""},
		{"testagent", MapEnv{"STACKHA_OCF": "1.1"}, "<!-- 1.1 -->", ""},
		{"testagent", MapEnv{"STACKHA_OCF": "1.0", "OCF_RA_VERSION_MAJOR": "1", "OCF_RA_VERSION_MINOR": "1"}, `<version>1.0</version>`, ""},
		{"oldname", MapEnv{"STACKHA_OCF": "1.1"}, "<!-- 1.1 -->", "testagent"},
	}
	for _, c := range cases {
		rendered = nil
		var out, errb bytes.Buffer
		code := Run(a, c.name, []string{"meta-data"}, c.env, Streams{Stdout: &out, Stderr: &errb})
		if code != Success || !strings.Contains(out.String(), c.want) {
			t.Errorf("%s %v: code %d, stdout %.120q, stderr %q", c.name, c.env, code, out.String(), errb.String())
			continue
		}
		if rendered != nil && (rendered.Name != c.name || rendered.ReplacedWith != c.replaced) {
			t.Errorf("%s %v: rendered name %q replaced-with %q", c.name, c.env, rendered.Name, rendered.ReplacedWith)
		}
	}
}

// reload-agent is dispatched like any declared action.
func TestReloadAgent(t *testing.T) {
	a := testAgent()
	a.Meta.Actions = append(a.Meta.Actions, metadata.Action{Name: "reload-agent", Timeout: 10 * time.Second})
	a.Meta.Parameters[0].Reloadable = true
	var got *Request
	a.Handlers["reload-agent"] = func(ctx context.Context, r *Request) error { got = r; return nil }
	if err := a.Check(); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	code := Run(a, "testagent", []string{"reload-agent"}, MapEnv{"OCF_RESKEY_name": "x", "OCF_RESKEY_CRM_meta_timeout": "5000"}, Streams{Stdout: &out, Stderr: &errb})
	if code != Success || got == nil || got.Action != "reload-agent" || got.Timeout != 5*time.Second {
		t.Fatalf("code %d, request %+v, stderr %q", code, got, errb.String())
	}
	// Without the declaration it is unimplemented (3), as Pacemaker expects.
	code = Run(testAgent(), "testagent", []string{"reload-agent"}, MapEnv{"OCF_RESKEY_name": "x"}, Streams{Stdout: &out, Stderr: &errb})
	if code != ErrUnimplemented {
		t.Fatalf("undeclared reload-agent: code %d", code)
	}
}

func TestCheckLevel(t *testing.T) {
	cases := []struct {
		env    MapEnv
		action string
		want   int
	}{
		{MapEnv{}, "validate-all", 10},
		{MapEnv{"OCF_CHECK_LEVEL": "0"}, "validate-all", 0},
		{MapEnv{"OCF_CHECK_LEVEL": "10"}, "validate-all", 10},
		{MapEnv{"OCF_CHECK_LEVEL": "x"}, "validate-all", 10},
		{MapEnv{}, "monitor", 0},
		{MapEnv{"OCF_CHECK_LEVEL": "20"}, "monitor", 20},
		{MapEnv{"OCF_CHECK_LEVEL": "-3"}, "monitor", 0},
	}
	for _, c := range cases {
		if got := checkLevel(c.env, c.action); got != c.want {
			t.Errorf("checkLevel(%v, %s) = %d, want %d", c.env, c.action, got, c.want)
		}
	}
}
