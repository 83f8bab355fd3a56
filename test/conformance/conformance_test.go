// Package conformance walks every registered agent: its meta-data validates
// against the OCF 1.0 DTD (also when run as nobody), its man page renders
// without a warning, and, where the agent can set up a sandbox on this
// machine, ocf-tester passes. A new agent joins by registering.
package conformance

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	_ "github.com/stackha/stackha/agents/all"
	"github.com/stackha/stackha/ocf"
	"github.com/stackha/stackha/test/require"
)

const dtd = "/usr/share/resource-agents/ra-api-1.dtd"

// build compiles the real binary into a directory every user can read (for
// the nobody runs) and lays out an OCF provider directory of symlinks.
func build(t *testing.T) (bin, ocfDir string) {
	t.Helper()
	dir, err := os.MkdirTemp("/tmp", "stackha-conformance-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	bin = filepath.Join(dir, "stackha")
	cmd := exec.Command("go", "build", "-o", bin, "github.com/stackha/stackha/cmd/stackha")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	ocfDir = filepath.Join(dir, "resource.d", "stackha")
	if err := os.MkdirAll(ocfDir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, n := range ocf.Names() {
		if err := os.Symlink(bin, filepath.Join(ocfDir, n)); err != nil {
			t.Fatal(err)
		}
	}
	return bin, ocfDir
}

func TestEveryAgent(t *testing.T) {
	if len(ocf.Agents()) == 0 {
		t.Fatal("no agent is registered")
	}
	bin, ocfDir := build(t)
	for _, name := range ocf.Names() {
		t.Run(name, func(t *testing.T) {
			agent := filepath.Join(ocfDir, name)
			t.Run("declaration", func(t *testing.T) {
				a, _ := ocf.Lookup(name)
				if err := a.Check(); err != nil {
					t.Fatal(err)
				}
			})
			t.Run("meta-data", func(t *testing.T) {
				require.Command(t, "xmllint")
				require.File(t, dtd)
				out, err := exec.Command(agent, "meta-data").Output()
				if err != nil {
					t.Fatalf("meta-data: %v", err)
				}
				if !bytes.Contains(out, []byte(`<!DOCTYPE resource-agent SYSTEM "ra-api-1.dtd">`)) {
					t.Fatalf("no DOCTYPE:\n%s", out)
				}
				if !bytes.Contains(out, []byte(`<resource-agent name="`+name+`"`)) {
					t.Fatalf("meta-data does not name %s", name)
				}
				f := filepath.Join(t.TempDir(), name+".xml")
				os.WriteFile(f, out, 0o644)
				if msg, err := exec.Command("xmllint", "--noout", "--dtdvalid", dtd, f).CombinedOutput(); err != nil {
					t.Fatalf("xmllint --dtdvalid: %v\n%s", err, msg)
				}
			})
			t.Run("meta-data as nobody", func(t *testing.T) {
				require.Root(t)
				out, err := exec.Command("su", "nobody", "-s", "/bin/sh", "-c", agent+" meta-data").CombinedOutput()
				if err != nil || !bytes.Contains(out, []byte("<resource-agent")) {
					t.Fatalf("meta-data as nobody: %v\n%s", err, out)
				}
			})
			t.Run("man page", func(t *testing.T) {
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
				a, _ := ocf.Lookup(name)
				for _, p := range a.Meta.Parameters {
					if !bytes.Contains(text, []byte(p.Name)) {
						t.Errorf("man page lacks parameter %s", p.Name)
					}
				}
			})
			t.Run("ocf-tester", func(t *testing.T) {
				a, _ := ocf.Lookup(name)
				if a.Sandbox == nil {
					t.Logf("%s declares no sandbox: ocf-tester is run by its own integration test", name)
					return
				}
				if name != a.Meta.Name {
					t.Logf("alias of %s: tested under that name", a.Meta.Name)
					return
				}
				require.Root(t)
				require.Command(t, "ocf-tester")
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
				defer cancel()
				sb, err := a.Sandbox(ctx, t.TempDir())
				if err != nil {
					t.Fatalf("sandbox: %v", err)
				}
				defer sb.Cleanup()
				args := []string{"-n", "conformance-" + name}
				var keys []string
				for k := range sb.Params {
					keys = append(keys, k)
				}
				sort.Strings(keys)
				for _, k := range keys {
					args = append(args, "-o", k+"="+sb.Params[k])
				}
				args = append(args, agent)
				out, err := exec.CommandContext(ctx, "ocf-tester", args...).CombinedOutput()
				if err != nil || !strings.Contains(string(out), "passed all tests") {
					t.Fatalf("ocf-tester %s: %v\n%s", strings.Join(args, " "), err, out)
				}
			})
		})
	}
}
