package install

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/stackha/stackha/internal/testutil"
)

const (
	module = "github.com/stackha/stackha"
	urfave = "github.com/urfave/cli/v2"
)

// cliImporters are the only packages that may import urfave/cli: the
// command line is not the runtime's business.
var cliImporters = map[string]bool{module + "/cmd/stackha": true, module + "/cmd/stackha/cli": true}

func goList(t *testing.T, args ...string) []string {
	t.Helper()
	cmd := exec.Command("go", append([]string{"list"}, args...)...)
	cmd.Dir = testutil.RepoRoot(t)
	out, err := cmd.Output()
	if err != nil {
		msg := ""
		if ee, ok := err.(*exec.ExitError); ok {
			msg = string(ee.Stderr)
		}
		t.Fatalf("go list %s: %v\n%s", strings.Join(args, " "), err, msg)
	}
	return strings.Split(strings.TrimSpace(string(out)), "\n")
}

// The OCF runtime imports neither the command line library nor any agent
// (its dependencies, not its tests, are what an agent run links).
func TestRuntimeImportsNoCLINorAgent(t *testing.T) {
	for _, dep := range goList(t, "-deps", "-f", "{{.ImportPath}}", "./ocf") {
		if dep == urfave || strings.HasPrefix(dep, urfave+"/") || strings.HasPrefix(dep, module+"/agents/") ||
			strings.HasPrefix(dep, module+"/cmd/") || strings.HasPrefix(dep, module+"/crm/") {
			t.Errorf("ocf depends on %s", dep)
		}
	}
}

// Only cmd/stackha and its cli package import urfave/cli (production
// imports; a test may drive anything).
func TestOnlyTheCommandLineImportsCLI(t *testing.T) {
	for _, line := range goList(t, "-f", "{{.ImportPath}} {{join .Imports \" \"}}", "./...") {
		pkg, imports, _ := strings.Cut(line, " ")
		for _, imp := range strings.Fields(imports) {
			if imp == urfave && !cliImporters[pkg] {
				t.Errorf("%s imports %s: only %v may", pkg, urfave, keys(cliImporters))
			}
		}
	}
}

func keys(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
