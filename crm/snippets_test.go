package crm_test

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stackha/stackha/crm/render"
	"github.com/stackha/stackha/internal/testutil/cibtest"
)

func snippets(t *testing.T) []string {
	t.Helper()
	s, err := filepath.Glob("snippets/*.crm")
	if err != nil || len(s) < 6 {
		t.Fatalf("snippets: %v %v", s, err)
	}
	return s
}

func agents(t *testing.T, files ...string) []string {
	t.Helper()
	var a []string
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range regexp.MustCompile(`ocf:stackha:([a-z][a-z0-9-]*)`).FindAllStringSubmatch(string(b), -1) {
			if !slices.Contains(a, m[1]) {
				a = append(a, m[1])
			}
		}
	}
	return a
}

// TestSnippetsLoadAlone: each snippet loads into an empty CIB on its own
// without an error from crmsh, but for one: a CIB with resources and
// neither fencing nor stonith-enabled=false is refused by the check crmsh
// runs after its commit. That is the properties snippet's concern: with it
// loaded too, crm_verify passes.
func TestSnippetsLoadAlone(t *testing.T) {
	cibtest.Require(t)
	for _, s := range snippets(t) {
		t.Run(filepath.Base(s), func(t *testing.T) {
			t.Parallel()
			b, err := os.ReadFile(s)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(string(b), "# ") || !strings.Contains(string(b), "Load:  crm configure load update "+filepath.Base(s)) {
				t.Errorf("%s does not open with its comment and load command", s)
			}
			strict := cibtest.AgentsInstalled(agents(t, s)...)
			cib := cibtest.Empty(t, t.TempDir(), "cib.xml")
			cibtest.Load(t, cib, s, strict, cibtest.NoFencing(), cibtest.NoQuorum())
			if strings.Contains(s, "properties") {
				cibtest.Verify(t, cib)
				return
			}
			cibtest.Load(t, cib, "snippets/10-properties.crm", strict)
			cibtest.Verify(t, cib)
		})
	}
}

// TestSnippetsAreTheSeedRendered: all snippets together make the same
// configuration as `stackha render` of the lab topology
// (examples/seed.yaml).
func TestSnippetsAreTheSeedRendered(t *testing.T) {
	cibtest.Require(t)
	all := snippets(t)
	strict := cibtest.AgentsInstalled(agents(t, all...)...)
	fromSnippets := cibtest.Empty(t, t.TempDir(), "snippets.xml")
	for _, s := range all {
		cibtest.Load(t, fromSnippets, s, strict)
	}
	cibtest.Verify(t, fromSnippets)

	dir := t.TempDir()
	if _, err := render.RenderFile("examples/seed.yaml", dir); err != nil {
		t.Fatal(err)
	}
	rendered := cibtest.Empty(t, t.TempDir(), "rendered.xml")
	cibtest.Load(t, rendered, filepath.Join(dir, "cluster.crm"), strict)

	a, b := cibtest.Configuration(t, fromSnippets), cibtest.Configuration(t, rendered)
	if a != b {
		al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
		for i := 0; i < len(al) && i < len(bl); i++ {
			if al[i] != bl[i] {
				t.Fatalf("snippets and the rendered lab topology (seed.yaml) differ at line %d:\nsnippets: %s\nrendered: %s", i+1, al[i], bl[i])
			}
		}
		t.Fatalf("snippets and the rendered lab topology (seed.yaml) differ in length: %d and %d lines", len(al), len(bl))
	}
}
