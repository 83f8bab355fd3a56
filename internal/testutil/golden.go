package testutil

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// Updating reports whether the test binary runs with -update.
func Updating() bool { return *update }

// Golden compares got with testdata/<name> (name defaults to
// <TestName>.golden when empty), and rewrites the file under -update.
func Golden(t testing.TB, name string, got []byte) {
	t.Helper()
	if name == "" {
		name = filepath.FromSlash(t.Name()) + ".golden"
	}
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(want, got) {
		t.Fatalf("%s differs from the golden file:\n--- want\n%s\n--- got\n%s", path, want, got)
	}
}
