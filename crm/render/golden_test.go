package render_test

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stackha/stackha/crm/render"
	"github.com/stackha/stackha/internal/testutil"
)

// outputNames are the files every topology renders to.
var outputNames = []string{"cluster.crm", "cluster.pcs.sh", "corosync.conf", "endpoints.sh", "haproxy.cfg"}

// examples are the topology files of crm/examples, by short name.
func examples(t *testing.T) map[string]string {
	t.Helper()
	paths, err := filepath.Glob("../examples/*.yaml")
	if err != nil || len(paths) == 0 {
		t.Fatalf("no examples in ../examples: %v", err)
	}
	m := map[string]string{}
	for _, p := range paths {
		m[strings.TrimSuffix(filepath.Base(p), ".yaml")] = p
	}
	return m
}

// renderExample renders one example into a fresh directory.
func renderExample(t *testing.T, name string) (string, render.Files) {
	t.Helper()
	dir := t.TempDir()
	files, err := render.RenderFile(filepath.Join("..", "examples", name+".yaml"), dir)
	if err != nil {
		t.Fatal(err)
	}
	return dir, files
}

// renderTopology renders a topology given as text, into a fresh directory.
func renderTopology(t *testing.T, topology string) (render.Files, error) {
	t.Helper()
	file := filepath.Join(t.TempDir(), "topology.yaml")
	if err := os.WriteFile(file, []byte(topology), 0o644); err != nil {
		t.Fatal(err)
	}
	return render.RenderFile(file, t.TempDir())
}

// TestGolden: every example renders to its golden files
// (go test ./crm/render -run TestGolden -update rewrites them).
func TestGolden(t *testing.T) {
	for name := range examples(t) {
		t.Run(name, func(t *testing.T) {
			dir, files := renderExample(t, name)
			if n := topLevel(files); n != len(outputNames) {
				t.Fatalf("%d files rendered at the top, want %d", n, len(outputNames))
			}
			for _, f := range files.Names() {
				got, err := os.ReadFile(filepath.Join(dir, f))
				if err != nil {
					t.Fatal(err)
				}
				testutil.Golden(t, filepath.Join(name, f+".golden"), got)
			}
		})
	}
}

// topLevel counts the files that are not per node (nodes/<node>/...).
func topLevel(files render.Files) int {
	n := 0
	for name := range files {
		if !strings.HasPrefix(name, "nodes/") {
			n++
		}
	}
	return n
}

// lineDiff shows the first differing lines, want then got.
func lineDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	var b strings.Builder
	n := 0
	for i := 0; i < len(w) || i < len(g); i++ {
		var a, c string
		if i < len(w) {
			a = w[i]
		}
		if i < len(g) {
			c = g[i]
		}
		if a != c {
			b.WriteString("line " + strconv.Itoa(i+1) + ":\n- " + a + "\n+ " + c + "\n")
			if n++; n == 5 {
				break
			}
		}
	}
	return b.String()
}
