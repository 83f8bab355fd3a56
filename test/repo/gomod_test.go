package repo

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stackha/stackha/internal/testutil"
)

// The packager is a module of its own (packaging/go.mod): nfpm and the
// modules it brings never enter the agents' go.mod.
func TestPackagingModuleApart(t *testing.T) {
	root := testutil.RepoRoot(t)
	if _, err := os.Stat(filepath.Join(root, "packaging", "go.mod")); err != nil {
		t.Errorf("packaging/ is no module of its own: %v", err)
	}
	b, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	for _, mod := range []string{"github.com/goreleaser/", "github.com/google/rpmpack", "github.com/blakesmith/ar"} {
		if strings.Contains(string(b), mod) {
			t.Errorf("go.mod requires %s: only packaging/ uses it, and it has its own go.mod", mod)
		}
	}
}
