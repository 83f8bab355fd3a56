package crm_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stackha/stackha/internal/testutil/cibtest"
	"github.com/stackha/stackha/internal/testutil/require"
)

// TestAgainstInstalledAgents runs the tests that hand the generated
// configuration and the snippets to crmsh and pcs again, with this tree's
// agents installed where those tools look (crm/strict-check.sh: a private
// mount namespace), so that they check every parameter against the agents'
// real meta-data and nothing is loaded with --force.
func TestAgainstInstalledAgents(t *testing.T) {
	if os.Getenv("STACKHA_AGENTS_INSTALLED") == "1" {
		t.Skip("already the run with the agents installed")
	}
	if testing.Short() {
		t.Skip("-short")
	}
	require.Root(t)
	require.Command(t, "unshare", "mount", "bash", "go", "pcs")
	cibtest.Require(t)

	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	bin := filepath.Join(t.TempDir(), "stackha")
	build := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/stackha")
	build.Dir = ".."
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	if err := os.Chmod(filepath.Dir(bin), 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(ctx, "bash", "crm/strict-check.sh", bin,
		"TestCRMLoadsAndVerifies|TestPCSMatchesCRM|TestSnippets|TestMigrateFromSeed|TestOtherChoicesFail")
	cmd.Dir = ".."
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("with the agents installed: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "ok  \tgithub.com/stackha/stackha/crm/render") {
		t.Fatalf("the inner run did not test crm/render:\n%s", out)
	}
	t.Logf("%s", out)
}
