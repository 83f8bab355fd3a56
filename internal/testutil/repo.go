package testutil

import (
	"os/exec"
	"strings"
	"testing"
)

// RepoRoot is the module's directory (`go list -m`), for tests that run
// make or read files from the top of the tree.
func RepoRoot(t testing.TB) string {
	t.Helper()
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}").Output()
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(out))
}
