package metadata

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stackha/stackha/internal/testutil"
	"github.com/stackha/stackha/internal/testutil/require"
)

const (
	dtdPath = "/usr/share/resource-agents/ra-api-1.dtd"
	rngPath = "/usr/share/pcs/data/ocf-1.1.rng"
)

func sample() *Agent {
	return &Agent{
		Name: "sample", Version: "1.2", Short: "A sample agent", Long: "Manages a sample.\n\nSecond paragraph with a -dash and a back\\slash.",
		Parameters: []Parameter{
			{Name: "ip", Type: String, Required: true, Unique: true, Short: "address", Long: "The address to serve."},
			{Name: "count", Type: Integer, Default: "5", Range: &Range{1, 100}, Short: "count", Long: "How many <times> & why."},
			{Name: "timeout", Type: Time, Default: "20s", Range: &Range{int64(time.Second), int64(time.Hour)}, Reloadable: true,
				Short: "timeout", Long: "How long to wait."},
			{Name: "on", Type: Boolean, Default: "true", Short: "switch", Long: "Whether it is on."},
			{Name: "mode", Type: String, Default: "safe", Options: []string{"fast", "safe"}, Reloadable: true, Short: "mode", Long: "How to run."},
			{Name: "oldmode", Type: String, Deprecated: "An old name of mode.", ReplacedWith: "mode", Short: "old mode", Long: "Read when mode is not set."},
			{Name: "host", Type: String, UniqueGroup: "endpoint", Short: "host", Long: "The host."},
			{Name: "port", Type: Integer, UniqueGroup: "endpoint", Range: &Range{1, 65535}, Short: "port", Long: "The port."},
			{Name: "mac", Type: String, Short: "MAC", Long: "A MAC address.", Unsupported: "CLUSTERIP is not implemented."},
			{Name: "opts", Type: String, Short: "options", Long: "Options.", Ignored: "packets are sent in process."},
		},
		Actions: []Action{
			{Name: "start", Timeout: 20 * time.Second},
			{Name: "stop", Timeout: 20 * time.Second},
			{Name: "monitor", Timeout: 20 * time.Second},
			{Name: "monitor", Timeout: 20 * time.Second, Interval: 10 * time.Second, Role: "Started"},
			{Name: "monitor", Timeout: 30 * time.Second, Interval: 60 * time.Second, Depth: 10},
			{Name: "validate-all", Timeout: 20 * time.Second},
			{Name: "meta-data", Timeout: 5 * time.Second},
			{Name: "reload", Timeout: 1500 * time.Millisecond},
			{Name: "reload-agent", Timeout: 10 * time.Second},
		},
	}
}

// alias is a deprecated agent name (as quantum-server is of neutron-server).
func alias() *Agent {
	a := sample()
	a.Name, a.ReplacedWith = "oldsample", "sample"
	return a
}

func TestXMLGolden(t *testing.T) {
	for _, a := range []*Agent{sample(), alias()} {
		b, err := a.XML()
		if err != nil {
			t.Fatal(err)
		}
		testutil.Golden(t, "TestXMLGolden-"+a.Name+".golden", b)
		for _, not := range []string{`name="reload-agent"`, "reloadable=", "unique-group", "select", "deprecated>", "<option"} {
			if strings.Contains(string(b), not) {
				t.Errorf("OCF 1.0 meta-data of %s has the 1.1-only %q", a.Name, not)
			}
		}
	}
}

func TestXML11Golden(t *testing.T) {
	for _, a := range []*Agent{sample(), alias()} {
		b, err := a.XML11()
		if err != nil {
			t.Fatal(err)
		}
		testutil.Golden(t, "TestXML11Golden-"+a.Name+".golden", b)
	}
}

func TestXML11Content(t *testing.T) {
	b, err := sample().XML11()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`<resource-agent name="sample" version="1.2">`, `<version>1.1</version>`,
		`<parameter name="ip" unique-group="ip" required="1">`,
		`<parameter name="host" unique-group="endpoint" required="0">`,
		`<parameter name="timeout" required="0" reloadable="1">`,
		`<content type="select" default="safe">`, `<option value="fast"/>`,
		`<replaced-with name="mode"/>`, `<desc lang="en">An old name of mode.</desc>`,
		`<content type="boolean" default="true"/>`,
		`<action name="monitor" timeout="20s" depth="0"/>`,
		`<action name="validate-all" timeout="20s" depth="0"/>`, `<action name="validate-all" timeout="20s" depth="10"/>`,
		`<action name="reload-agent" timeout="10s"/>`,
	} {
		if !strings.Contains(string(b), want) {
			t.Errorf("OCF 1.1 meta-data lacks %s", want)
		}
	}
	if strings.Contains(string(b), "DOCTYPE") {
		t.Error("OCF 1.1 meta-data names the 1.0 DTD")
	}
}

// validate runs xmllint with args on b.
func validate(t *testing.T, b []byte, args ...string) {
	t.Helper()
	f := filepath.Join(t.TempDir(), "md.xml")
	if err := os.WriteFile(f, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("xmllint", append(append([]string{"--noout"}, args...), f)...).CombinedOutput(); err != nil {
		t.Fatalf("xmllint %v: %v\n%s", args, err, out)
	}
}

func TestXMLValidatesAgainstDTD(t *testing.T) {
	require.Command(t, "xmllint")
	require.File(t, dtdPath)
	for _, a := range []*Agent{sample(), alias()} {
		b, err := a.XML()
		if err != nil {
			t.Fatal(err)
		}
		validate(t, b, "--dtdvalid", dtdPath)
	}
}

func TestXML11ValidatesAgainstRNG(t *testing.T) {
	require.Command(t, "xmllint")
	require.File(t, rngPath)
	for _, a := range []*Agent{sample(), alias()} {
		b, err := a.XML11()
		if err != nil {
			t.Fatal(err)
		}
		validate(t, b, "--relaxng", rngPath)
	}
}

func TestManGolden(t *testing.T) {
	b, err := sample().Man("2026-11-25")
	if err != nil {
		t.Fatal(err)
	}
	testutil.Golden(t, "", b)
	for _, want := range []string{
		"\\fBip\\fR (string, required, unique)", "default: 5", "Not supported by stackha: CLUSTERIP", "back\\eslash",
		"range 1..100", "range 1s..3600s", "one of fast|safe", "reloadable", "deprecated", "Use mode instead.",
		"\\fBreload\\-agent\\fR", "unique with group endpoint",
	} {
		if !strings.Contains(string(b), want) {
			t.Errorf("man page lacks %q", want)
		}
	}
}

func TestCheck(t *testing.T) {
	cases := []struct {
		name   string
		mutate func(a *Agent)
		want   string
	}{
		{"ok", func(a *Agent) {}, ""},
		{"alias ok", func(a *Agent) { a.Name, a.ReplacedWith = "old", "sample" }, ""},
		{"bad name", func(a *Agent) { a.Name = "Bad Name" }, "agent name"},
		{"alias of itself", func(a *Agent) { a.ReplacedWith = "sample" }, "want another agent's name"},
		{"dup param", func(a *Agent) { a.Parameters = append(a.Parameters, a.Parameters[0]) }, "declared twice"},
		{"bad default", func(a *Agent) { a.Parameters[1].Default = "five" }, `default: "five" is not an integer`},
		{"bad type", func(a *Agent) { a.Parameters[1].Type = "float" }, "unknown type"},
		{"required with default", func(a *Agent) { a.Parameters[0].Default = "x" }, "required and has a default"},
		{"no desc", func(a *Agent) { a.Parameters[0].Long = "" }, "descriptions are required"},
		{"integer without range", func(a *Agent) { a.Parameters[1].Range = nil }, "count: integer parameters need a Range"},
		{"time without range", func(a *Agent) { a.Parameters[2].Range = nil }, "timeout: time parameters need a Range"},
		{"range on a string", func(a *Agent) { a.Parameters[0].Range = &Range{0, 1} }, "only for integer and time"},
		{"empty range", func(a *Agent) { a.Parameters[1].Range = &Range{5, 1} }, "range 5..1 is empty"},
		{"negative time range", func(a *Agent) { a.Parameters[2].Range = &Range{-1, 5} }, "below 0"},
		{"default above range", func(a *Agent) { a.Parameters[1].Default = "101" }, `"101" is outside the range 1..100`},
		{"default below time range", func(a *Agent) { a.Parameters[2].Default = "500ms" }, "outside the range 1s..3600s"},
		{"options on an integer", func(a *Agent) { a.Parameters[1].Options = []string{"1"} }, "only for string"},
		{"default not an option", func(a *Agent) { a.Parameters[4].Default = "slow" }, `"slow" is not one of fast, safe`},
		{"option twice", func(a *Agent) { a.Parameters[4].Options = []string{"safe", "safe"} }, "listed twice"},
		{"empty option", func(a *Agent) { a.Parameters[4].Options = []string{"", "safe"} }, "empty"},
		{"replaced with unknown", func(a *Agent) { a.Parameters[5].ReplacedWith = "nomode" }, "not declared"},
		{"replaced with itself", func(a *Agent) { a.Parameters[5].ReplacedWith = "oldmode" }, "replaced with itself"},
		{"replaced with deprecated", func(a *Agent) { a.Parameters[4].Deprecated = "x." }, "deprecated too"},
		{"replaced without reason", func(a *Agent) { a.Parameters[5].Deprecated = "" }, "needs Deprecated"},
		{"deprecated and required", func(a *Agent) { a.Parameters[0].Deprecated = "old." }, "deprecated and required"},
		{"reloadable without action", func(a *Agent) { a.Actions = a.Actions[:len(a.Actions)-1] }, "reload-agent action is not declared"},
		{"reload-agent without reloadable", func(a *Agent) { a.Parameters[2].Reloadable, a.Parameters[4].Reloadable = false, false }, "no parameter is reloadable"},
		{"unsupported reloadable", func(a *Agent) { a.Parameters[8].Reloadable = true }, "unsupported and reloadable"},
		{"group of one", func(a *Agent) { a.Parameters[6].UniqueGroup = "" }, "unique group endpoint has one parameter"},
		{"unique and group", func(a *Agent) { a.Parameters[6].Unique = true }, "Unique and UniqueGroup both set"},
		{"group named as a unique parameter", func(a *Agent) { a.Parameters[6].UniqueGroup, a.Parameters[7].UniqueGroup = "ip", "ip" }, "has the name of the unique parameter ip"},
		{"bad group name", func(a *Agent) { a.Parameters[6].UniqueGroup, a.Parameters[7].UniqueGroup = "a b", "a b" }, "not a valid name"},
		{"unknown action", func(a *Agent) { a.Actions = append(a.Actions, Action{Name: "frobnicate", Timeout: time.Second}) }, "not an OCF action"},
		{"no timeout", func(a *Agent) { a.Actions[0].Timeout = 0 }, "needs a timeout"},
		{"no stop", func(a *Agent) { a.Actions = a.Actions[2:] }, "required action start"},
		{"depth on start", func(a *Agent) { a.Actions[0].Depth = 10 }, "start cannot run at depth 10"},
		{"validate at 20", func(a *Agent) { a.Actions[5].Depth = 20 }, "validate-all cannot run at depth 20"},
		{"bad role", func(a *Agent) { a.Actions[3].Role = "Boss" }, "unknown role"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a := sample()
			c.mutate(a)
			err := a.Check()
			if c.want == "" && err != nil || c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)) {
				t.Fatalf("Check() = %v, want %q", err, c.want)
			}
		})
	}
}

func TestRenderedActions(t *testing.T) {
	a := sample()
	a.Actions = append(a.Actions, Action{Name: "validate-all", Timeout: 40 * time.Second, Depth: 10}, Action{Name: "promote", Timeout: time.Second, Role: "Master"})
	names := func(acts []Action) (out []string) {
		for _, act := range acts {
			out = append(out, act.Name+"/"+FormatDuration(act.Timeout)+"/"+string(rune('0'+act.Depth/10))+"/"+role(act.Role, ocf11))
		}
		return out
	}
	got10 := strings.Join(names(a.renderedActions(ocf10)), " ")
	got11 := strings.Join(names(a.renderedActions(ocf11)), " ")
	// 1.0: one validate-all (the declared depth-0 one), no reload-agent.
	if role("Promoted", ocf10) != "Master" || role("Unpromoted", ocf10) != "Slave" || role("Started", ocf10) != "Started" {
		t.Error("1.0 role names")
	}
	if strings.Count(got10, "validate-all") != 1 || !strings.Contains(got10, "validate-all/20s/0") || strings.Contains(got10, "reload-agent") {
		t.Errorf("1.0 actions: %s", got10)
	}
	// 1.1: the declared depth-10 validate-all, not a copy; Master said Promoted.
	if !strings.Contains(got11, "validate-all/20s/0") || !strings.Contains(got11, "validate-all/40s/1") || strings.Count(got11, "validate-all") != 2 ||
		!strings.Contains(got11, "promote/1s/0/Promoted") || !strings.Contains(got11, "reload-agent") {
		t.Errorf("1.1 actions: %s", got11)
	}
}

func TestParseValue(t *testing.T) {
	cases := []struct {
		typ  Type
		in   string
		ok   bool
		want Value
	}{
		{Integer, " 42 ", true, Value{Raw: " 42 ", Int: 42}},
		{Integer, "4x", false, Value{}},
		{Integer, "9223372036854775807", true, Value{Raw: "9223372036854775807", Int: 9223372036854775807}},
		{Integer, "9223372036854775808", false, Value{}},
		{Integer, "-9223372036854775809", false, Value{}},
		{Boolean, "yes", true, Value{Raw: "yes", Bool: true}},
		{Boolean, "OFF", true, Value{Raw: "OFF"}},
		{Boolean, "maybe", false, Value{}},
		{Boolean, " yes", false, Value{}},
		{Boolean, "Yes", false, Value{}},
		{Time, "20", true, Value{Raw: "20", Dur: 20 * time.Second}},
		{Time, "500ms", true, Value{Raw: "500ms", Dur: 500 * time.Millisecond}},
		{Time, "500 msec", true, Value{Raw: "500 msec", Dur: 500 * time.Millisecond}},
		{Time, "2min", true, Value{Raw: "2min", Dur: 2 * time.Minute}},
		{Time, "3m", true, Value{Raw: "3m", Dur: 3 * time.Minute}},
		{Time, "1hr", true, Value{Raw: "1hr", Dur: time.Hour}},
		{Time, "250us", true, Value{Raw: "250us", Dur: 250 * time.Microsecond}},
		{Time, "1m30s", true, Value{Raw: "1m30s", Dur: 90 * time.Second}},
		{Time, "9223372036", true, Value{Raw: "9223372036", Dur: 9223372036 * time.Second}},
		{Time, "9223372037", false, Value{}},
		{Time, "9223372036854775807", false, Value{}},
		{Time, "18446744073710", false, Value{}},
		{Time, "18446744073710ms", false, Value{}},
		{Time, "99999999999999999999999ms", false, Value{}},
		{Time, "2562048h", false, Value{}},
		{Time, "-1", false, Value{}},
		{Time, "-1s", false, Value{}},
		{Time, "+1", false, Value{}},
		{Time, "soon", false, Value{}},
		{Time, "", false, Value{}},
	}
	for _, c := range cases {
		got, err := ParseValue(c.typ, c.in)
		if (err == nil) != c.ok || c.ok && got != c.want {
			t.Errorf("ParseValue(%s, %q) = %+v, %v", c.typ, c.in, got, err)
		}
	}
}

func TestParameterParse(t *testing.T) {
	a := sample()
	cases := []struct {
		param, in string
		want      string // "" for ok, else part of the error
	}{
		{"count", "1", ""}, {"count", "100", ""}, {"count", "0", "outside the range 1..100"}, {"count", "101", "outside"},
		{"timeout", "1", ""}, {"timeout", "1h", ""}, {"timeout", "999ms", "outside the range 1s..3600s"}, {"timeout", "3601", "outside"},
		{"timeout", "9223372036854775807", "too long"},
		{"mode", "fast", ""}, {"mode", "Fast", "not one of fast, safe"}, {"mode", " fast", "not one of"},
		{"ip", "anything", ""},
	}
	for _, c := range cases {
		p, _ := a.Parameter(c.param)
		_, err := p.Parse(c.in)
		if c.want == "" && err != nil || c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)) {
			t.Errorf("%s.Parse(%q) = %v, want %q", c.param, c.in, err, c.want)
		}
	}
}

// TestParseBoolLikeOcfIsTrue holds ParseBool to resource-agents' own
// ocf_is_true: every candidate word in every spelling ParseBool takes as
// true, the shell takes as true, and the reverse.
func TestParseBoolLikeOcfIsTrue(t *testing.T) {
	const shellfuncs = "/usr/lib/ocf/lib/heartbeat/ocf-shellfuncs"
	require.Command(t, "sh")
	require.File(t, shellfuncs)
	var words []string
	for _, w := range []string{"yes", "true", "1", "ja", "on", "y", "no", "false", "0", "nein", "off", "n", "t", "enable", "2", ""} {
		words = append(words, w, strings.ToUpper(w), strings.ToUpper(w[:min(1, len(w))])+w[min(1, len(w)):], " "+w, w+" ")
	}
	script := `. ` + shellfuncs + ` >/dev/null 2>&1; for w in "$@"; do if ocf_is_true "$w"; then echo 1; else echo 0; fi; done`
	out, err := exec.Command("sh", append([]string{"-c", script, "sh"}, words...)...).Output()
	if err != nil {
		t.Fatal(err)
	}
	shell := strings.Fields(string(out))
	if len(shell) != len(words) {
		t.Fatalf("%d answers for %d words", len(shell), len(words))
	}
	for i, w := range words {
		v, ok := ParseBool(w)
		if got := ok && v; got != (shell[i] == "1") {
			t.Errorf("ParseBool(%q) true = %v, ocf_is_true says %s", w, got, shell[i])
		}
		if ok && !v && shell[i] == "1" {
			t.Errorf("ParseBool(%q) = false, ocf_is_true says true", w)
		}
	}
}

func TestParseBoolFalseWords(t *testing.T) {
	for _, w := range []string{"no", "false", "0", "NO", "FALSE", "False", "nein", "off", "OFF"} {
		if v, ok := ParseBool(w); !ok || v {
			t.Errorf("ParseBool(%q) = %v, %v, want false, true", w, v, ok)
		}
	}
	for _, w := range []string{"", "n", "y", "Off", "maybe", "no ", "2"} {
		if _, ok := ParseBool(w); ok {
			t.Errorf("ParseBool(%q) accepted", w)
		}
	}
}

// BenchmarkXML and BenchmarkXML11 measure one meta-data rendering of the
// sample declaration in each flavour (Pacemaker asks for meta-data once per
// agent and node, ocf-tester and pcs on every call).
func BenchmarkXML(b *testing.B) {
	a := sample()
	for b.Loop() {
		if _, err := a.XML(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkXML11(b *testing.B) {
	a := sample()
	for b.Loop() {
		if _, err := a.XML11(); err != nil {
			b.Fatal(err)
		}
	}
}
