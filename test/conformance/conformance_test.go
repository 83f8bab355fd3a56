// Package conformance walks every registered agent: its declaration passes
// metadata.Check; its meta-data validates in both flavours — OCF 1.1 against
// pcs's schema when the caller announces 1.1 (or STACKHA_OCF=1.1), OCF 1.0
// against ra-api-1.dtd otherwise (also when run as nobody); its man page
// renders without a warning; installed where Pacemaker looks (in a private
// mount namespace), crm_resource, pcs and crmsh read it and show every
// parameter; and, where the agent's test-support package registered a
// sandbox (internal/testutil/sandbox), ocf-tester passes. A new agent joins by
// registering. Programs or files this machine lacks make a test skip, naming
// them, and fail under CI=true (internal/testutil/require).
package conformance

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	_ "github.com/stackha/stackha/agents/all"
	"github.com/stackha/stackha/internal/testutil/require"
	"github.com/stackha/stackha/internal/testutil/sandbox"
	"github.com/stackha/stackha/ocf"
)

const (
	dtd = "/usr/share/resource-agents/ra-api-1.dtd"
	rng = "/usr/share/pcs/data/ocf-1.1.rng"
)

// built is the binary every test of the package shares, built once.
var built struct {
	once        sync.Once
	dir         string
	bin, ocfDir string
	err         error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if built.dir != "" {
		os.RemoveAll(built.dir)
	}
	os.Exit(code)
}

// build compiles the real binary (once) into a directory every user can
// read (for the nobody runs) and lays out an OCF provider directory of
// symlinks, one per agent name.
func build(t *testing.T) (bin, ocfDir string) {
	t.Helper()
	require.Command(t, "go")
	built.once.Do(func() { built.bin, built.ocfDir, built.err = buildOnce() })
	if built.err != nil {
		t.Fatal(built.err)
	}
	return built.bin, built.ocfDir
}

func buildOnce() (bin, ocfDir string, err error) {
	dir, err := os.MkdirTemp("/tmp", "stackha-conformance-")
	if err != nil {
		return "", "", err
	}
	built.dir = dir
	if err := os.Chmod(dir, 0o755); err != nil {
		return "", "", err
	}
	bin = filepath.Join(dir, "stackha")
	cmd := exec.Command("go", "build", "-o", bin, "github.com/stackha/stackha/cmd/stackha")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", "", fmt.Errorf("go build: %w\n%s", err, out)
	}
	ocfDir = filepath.Join(dir, "resource.d", "stackha")
	if err := os.MkdirAll(ocfDir, 0o755); err != nil {
		return "", "", err
	}
	for _, n := range ocf.Names() {
		if err := os.Symlink(bin, filepath.Join(ocfDir, n)); err != nil {
			return "", "", err
		}
	}
	return bin, ocfDir, nil
}

// xmllint validates the document b with xmllint's args (--dtdvalid F or
// --relaxng F).
func xmllint(t *testing.T, b []byte, args ...string) {
	t.Helper()
	f := filepath.Join(t.TempDir(), "meta-data.xml")
	if err := os.WriteFile(f, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if msg, err := exec.Command("xmllint", append(append([]string{"--noout"}, args...), f)...).CombinedOutput(); err != nil {
		t.Fatalf("xmllint %s: %v\n%s\n%s", strings.Join(args, " "), err, msg, b)
	}
}

// callerEnv is this process's environment without anything that selects a
// meta-data flavour, plus extra.
func callerEnv(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "OCF_RA_VERSION_") && !strings.HasPrefix(kv, "STACKHA_OCF=") && !strings.HasPrefix(kv, "OCF_CHECK_LEVEL=") {
			env = append(env, kv)
		}
	}
	return append(env, extra...)
}

// flavours are the callers the meta-data action must answer, and the OCF
// version each must get. Pacemaker 2.1.5's crm_resource (--show-metadata and
// --validate alike, and so crmsh 4.4's `crm ra info` and pcs 0.11's `pcs
// resource describe`, which both run crm_resource --show-metadata) passes
// OCF_RA_VERSION_MAJOR=1 OCF_RA_VERSION_MINOR=1, as a throwaway script agent
// that logged its environment showed; ocf-tester passes neither.
var flavours = []struct {
	name string
	env  []string
	v11  bool
}{
	{"1.0 without announcement (ocf-tester)", nil, false},
	{"1.0 announced", []string{"OCF_RA_VERSION_MAJOR=1", "OCF_RA_VERSION_MINOR=0"}, false},
	{"1.0 by STACKHA_OCF", []string{"STACKHA_OCF=1.0"}, false},
	{"1.0 by STACKHA_OCF over a 1.1 caller", []string{"OCF_RA_VERSION_MAJOR=1", "OCF_RA_VERSION_MINOR=1", "STACKHA_OCF=1.0"}, false},
	{"1.1 announced (Pacemaker 2.1)", []string{"OCF_RA_VERSION_MAJOR=1", "OCF_RA_VERSION_MINOR=1"}, true},
	{"1.1 by STACKHA_OCF", []string{"STACKHA_OCF=1.1"}, true},
}

// checkFlavour checks one meta-data document: the flavour's version, its
// DOCTYPE (1.0 only), the agent's name, and validity against the DTD or RNG.
func checkFlavour(t *testing.T, name string, out []byte, v11 bool) {
	t.Helper()
	want, doctype := "<version>1.0</version>", true
	if v11 {
		want, doctype = "<version>1.1</version>", false
	}
	if !bytes.Contains(out, []byte(want)) {
		t.Fatalf("meta-data lacks %s:\n%s", want, out)
	}
	if got := bytes.Contains(out, []byte(`<!DOCTYPE resource-agent SYSTEM "ra-api-1.dtd">`)); got != doctype {
		t.Fatalf("DOCTYPE present: %v, want %v", got, doctype)
	}
	if !bytes.Contains(out, []byte(`<resource-agent name="`+name+`"`)) {
		t.Fatalf("meta-data does not name %s", name)
	}
	if v11 {
		xmllint(t, out, "--relaxng", rng)
	} else {
		xmllint(t, out, "--dtdvalid", dtd)
	}
}

func TestEveryAgent(t *testing.T) {
	if len(ocf.Agents()) == 0 {
		t.Fatal("no agent is registered")
	}
	bin, ocfDir := build(t)
	for _, name := range ocf.Names() {
		t.Run(name, func(t *testing.T) {
			agent := filepath.Join(ocfDir, name)
			a, _ := ocf.Lookup(name)
			t.Run("declaration", func(t *testing.T) {
				if err := a.Check(); err != nil {
					t.Fatal(err)
				}
			})
			t.Run("meta-data functions", func(t *testing.T) {
				require.Command(t, "xmllint")
				require.File(t, dtd, rng)
				m := a.Meta
				if name != m.Name { // an alias: deprecated in favour of the agent's own name
					m.Name, m.ReplacedWith = name, a.Meta.Name
				}
				b10, err := m.XML()
				if err != nil {
					t.Fatal(err)
				}
				checkFlavour(t, name, b10, false)
				b11, err := m.XML11()
				if err != nil {
					t.Fatal(err)
				}
				checkFlavour(t, name, b11, true)
			})
			for _, f := range flavours {
				t.Run("meta-data "+f.name, func(t *testing.T) {
					require.Command(t, "xmllint")
					require.File(t, dtd, rng)
					cmd := exec.Command(agent, "meta-data")
					cmd.Env = callerEnv(f.env...)
					out, err := cmd.Output()
					if err != nil {
						t.Fatalf("meta-data: %v\n%s", err, stderrOf(err))
					}
					checkFlavour(t, name, out, f.v11)
				})
			}
			t.Run("meta-data as nobody", func(t *testing.T) {
				require.Root(t)
				require.Command(t, "su")
				out, err := exec.Command("su", "nobody", "-s", "/bin/sh", "-c", agent+" meta-data").CombinedOutput()
				if err != nil || !bytes.Contains(out, []byte("<resource-agent")) {
					t.Fatalf("meta-data as nobody: %v\n%s", err, out)
				}
			})
			t.Run("man page", func(t *testing.T) { manPage(t, bin, name, a) })
			t.Run("ocf-tester", func(t *testing.T) { ocfTester(t, agent, name, a) })
		})
	}
}

func stderrOf(err error) []byte {
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.Stderr
	}
	return nil
}

func manPage(t *testing.T, bin, name string, a *ocf.Agent) {
	require.Command(t, "groff")
	page, err := exec.Command(bin, "man", name).Output()
	if err != nil {
		t.Fatalf("stackha man %s: %v", name, err)
	}
	cmd := exec.Command("groff", "-man", "-Tutf8", "-ww", "-z")
	cmd.Stdin = bytes.NewReader(page)
	if msg, err := cmd.CombinedOutput(); err != nil || len(bytes.TrimSpace(msg)) > 0 {
		t.Fatalf("groff: %v\n%s", err, msg)
	}
	cmd = exec.Command("groff", "-man", "-Tutf8", "-P-cbou") // plain text: no overstrike bold
	cmd.Stdin = bytes.NewReader(page)
	text, _ := cmd.Output()
	text = bytes.ReplaceAll(text, []byte("\u2212"), []byte("-")) // groff's minus sign
	for _, p := range a.Meta.Parameters {
		if !bytes.Contains(text, []byte(p.Name)) {
			t.Errorf("man page lacks parameter %s", p.Name)
		}
		if r := p.FormatRange(); r != "" && !bytes.Contains(text, []byte(r)) {
			t.Errorf("man page lacks the range %s of %s", r, p.Name)
		}
	}
}

// ocfTester runs resource-agents' ocf-tester on the agent in its sandbox.
// What this machine lacks (ocf-tester, the service's program, a file the
// sandbox needs) skips the test naming it, and fails it under CI.
func ocfTester(t *testing.T, agent, name string, a *ocf.Agent) {
	if name != a.Meta.Name {
		t.Skipf("alias of %s: ocf-tester runs under that name", a.Meta.Name)
	}
	setup, ok := sandbox.Lookup(name)
	if !ok {
		t.Skipf("%s has no sandbox registered in internal/testutil/sandbox: ocf-tester is run by its own integration test", name)
	}
	require.Root(t)
	require.Command(t, "ocf-tester")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	dir := t.TempDir()
	sb, err := setup(ctx, dir)
	if err != nil {
		if what, ok := prerequisite(err, dir); ok {
			missing(t, what)
		}
		t.Fatalf("sandbox: %v", err)
	}
	defer sb.Cleanup()
	// A service that is not installed here makes every action return 5
	// (OCF_ERR_INSTALLED); the agent's validation says what is missing.
	if code, reason := validate(ctx, agent, sb.Params, "10"); code == int(ocf.ErrInstalled) {
		missing(t, "what "+name+" reports as not installed: "+reason)
	}
	if out, err := sandbox.RunOCFTester(ctx, "conformance-"+name, agent, sb.Params); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
}

// validate runs the agent's validate-all at a check level with params and
// returns its exit code and ocf-exit-reason.
func validate(ctx context.Context, agent string, params map[string]string, level string) (int, string) {
	cmd := exec.CommandContext(ctx, agent, "validate-all")
	cmd.Env = callerEnv("OCF_CHECK_LEVEL=" + level)
	for k, v := range params {
		cmd.Env = append(cmd.Env, "OCF_RESKEY_"+k+"="+v)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		code = -1
	}
	return code, exitReason(stderr.String())
}

// exitReason is the last ocf-exit-reason line of an agent's stderr.
func exitReason(stderr string) string {
	reason := ""
	for _, l := range strings.Split(stderr, "\n") {
		if r, ok := strings.CutPrefix(l, "ocf-exit-reason:"); ok {
			reason = r
		}
	}
	return reason
}
