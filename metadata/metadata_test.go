package metadata

import (
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stackha/stackha/test/require"
)

var update = flag.Bool("update", false, "rewrite the golden files")

func sample() *Agent {
	return &Agent{
		Name: "sample", Version: "1.2", Short: "A sample agent", Long: "Manages a sample.\n\nSecond paragraph with a -dash and a back\\slash.",
		Parameters: []Parameter{
			{Name: "ip", Type: String, Required: true, Unique: true, Short: "address", Long: "The address to serve."},
			{Name: "count", Type: Integer, Default: "5", Short: "count", Long: "How many <times> & why."},
			{Name: "on", Type: Boolean, Default: "true", Short: "switch", Long: "Whether it is on."},
			{Name: "mac", Type: String, Short: "MAC", Long: "A MAC address.", Unsupported: "CLUSTERIP is not implemented."},
			{Name: "opts", Type: String, Short: "options", Long: "Options.", Ignored: "packets are sent in process."},
		},
		Actions: []Action{
			{Name: "start", Timeout: 20 * time.Second},
			{Name: "stop", Timeout: 20 * time.Second},
			{Name: "monitor", Timeout: 20 * time.Second, Interval: 10 * time.Second},
			{Name: "monitor", Timeout: 30 * time.Second, Interval: 60 * time.Second, Depth: 10},
			{Name: "validate-all", Timeout: 20 * time.Second},
			{Name: "meta-data", Timeout: 5 * time.Second},
			{Name: "reload", Timeout: 1500 * time.Millisecond},
		},
	}
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if string(want) != string(got) {
		t.Fatalf("%s differs from the golden file:\n--- want\n%s\n--- got\n%s", name, want, got)
	}
}

func TestXMLGolden(t *testing.T) {
	b, err := sample().XML()
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "TestXMLGolden.golden", b)
}

func TestXMLValidatesAgainstDTD(t *testing.T) {
	require.Command(t, "xmllint")
	require.File(t, "/usr/share/resource-agents/ra-api-1.dtd")
	b, err := sample().XML()
	if err != nil {
		t.Fatal(err)
	}
	f := filepath.Join(t.TempDir(), "md.xml")
	os.WriteFile(f, b, 0o644)
	if out, err := exec.Command("xmllint", "--noout", "--dtdvalid", "/usr/share/resource-agents/ra-api-1.dtd", f).CombinedOutput(); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
}

func TestManGolden(t *testing.T) {
	b, err := sample().Man("2026-11-25")
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "TestManGolden.golden", b)
	for _, want := range []string{"\\fBip\\fR (string, required, unique)", "default: 5", "Not supported by stackha: CLUSTERIP", "back\\eslash"} {
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
		{"bad name", func(a *Agent) { a.Name = "Bad Name" }, "agent name"},
		{"dup param", func(a *Agent) { a.Parameters = append(a.Parameters, a.Parameters[0]) }, "declared twice"},
		{"bad default", func(a *Agent) { a.Parameters[1].Default = "five" }, `default: "five" is not an integer`},
		{"bad type", func(a *Agent) { a.Parameters[1].Type = "float" }, "unknown type"},
		{"required with default", func(a *Agent) { a.Parameters[0].Default = "x" }, "required and has a default"},
		{"no desc", func(a *Agent) { a.Parameters[0].Long = "" }, "descriptions are required"},
		{"unknown action", func(a *Agent) { a.Actions = append(a.Actions, Action{Name: "frobnicate", Timeout: time.Second}) }, "not an OCF action"},
		{"no timeout", func(a *Agent) { a.Actions[0].Timeout = 0 }, "needs a timeout"},
		{"no stop", func(a *Agent) { a.Actions = a.Actions[2:] }, "required action start"},
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

func TestParseValue(t *testing.T) {
	cases := []struct {
		typ  Type
		in   string
		ok   bool
		want Value
	}{
		{Integer, " 42 ", true, Value{Raw: " 42 ", Int: 42}},
		{Integer, "4x", false, Value{}},
		{Boolean, "yes", true, Value{Raw: "yes", Bool: true}},
		{Boolean, "OFF", true, Value{Raw: "OFF"}},
		{Boolean, "maybe", false, Value{}},
		{Time, "20", true, Value{Raw: "20", Dur: 20 * time.Second}},
		{Time, "500ms", true, Value{Raw: "500ms", Dur: 500 * time.Millisecond}},
		{Time, "2min", true, Value{Raw: "2min", Dur: 2 * time.Minute}},
		{Time, "1m30s", true, Value{Raw: "1m30s", Dur: 90 * time.Second}},
		{Time, "-1", false, Value{}},
		{Time, "soon", false, Value{}},
	}
	for _, c := range cases {
		got, err := ParseValue(c.typ, c.in)
		if (err == nil) != c.ok || c.ok && got != c.want {
			t.Errorf("ParseValue(%s, %q) = %+v, %v", c.typ, c.in, got, err)
		}
	}
}

func FuzzParseDuration(f *testing.F) {
	for _, s := range []string{"20", "5s", "500ms", "2min", "1h", "", "-3", "9999999999999999999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseDuration(s)
		if err == nil && d < 0 {
			t.Fatalf("negative duration %v from %q", d, s)
		}
	})
}
