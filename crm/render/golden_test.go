package render_test

import (
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stackha/stackha/crm/render"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

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

// TestGolden: every example renders to its golden files
// (go test ./crm/render -run TestGolden -update rewrites them).
func TestGolden(t *testing.T) {
	for name := range examples(t) {
		t.Run(name, func(t *testing.T) {
			dir, files := renderExample(t, name)
			if len(files) != 4 {
				t.Fatalf("%d files rendered, want 4", len(files))
			}
			for _, f := range files.Names() {
				got, err := os.ReadFile(filepath.Join(dir, f))
				if err != nil {
					t.Fatal(err)
				}
				golden := filepath.Join("testdata", name, f+".golden")
				if *update {
					if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
						t.Fatal(err)
					}
					if err := os.WriteFile(golden, got, 0o644); err != nil {
						t.Fatal(err)
					}
					continue
				}
				want, err := os.ReadFile(golden)
				if err != nil {
					t.Fatalf("%v (run with -update to create it)", err)
				}
				if string(got) != string(want) {
					t.Errorf("%s differs from %s:\n%s", f, golden, lineDiff(string(want), string(got)))
				}
			}
		})
	}
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
