// Package install checks the built and installed artefacts: a static binary,
// the install layout, and Pacemaker finding the agents.
package install

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	_ "github.com/stackha/stackha/agents/all"
	"github.com/stackha/stackha/internal/testutil"
	"github.com/stackha/stackha/internal/testutil/require"
	"github.com/stackha/stackha/ocf"
)

func makeCmd(t *testing.T, args ...string) string {
	t.Helper()
	cmd := exec.Command("make", args...)
	cmd.Dir = testutil.RepoRoot(t)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("make %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

func TestStaticBinary(t *testing.T) {
	require.Command(t, "make", "file")
	makeCmd(t, "build")
	out, err := exec.Command("file", filepath.Join(testutil.RepoRoot(t), "bin/stackha")).Output()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(out), "statically linked") {
		t.Fatalf("not static: %s", out)
	}
}

// Every agent run pays for every package linked in; these must stay out of
// the built binary (the urfave_cli_no_docs build tag keeps the man/markdown
// generator and its markdown parser out).
func TestBinaryLeavesOutUnwantedModules(t *testing.T) {
	require.Command(t, "make")
	makeCmd(t, "build")
	out, err := exec.Command("go", "version", "-m", filepath.Join(testutil.RepoRoot(t), "bin/stackha")).Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, unwanted := range []string{"github.com/russross/blackfriday", "github.com/cpuguy83/go-md2man"} {
		if strings.Contains(string(out), unwanted) {
			t.Errorf("bin/stackha links %s (built without the urfave_cli_no_docs tag?)", unwanted)
		}
	}
}

func TestInstallLayout(t *testing.T) {
	require.Command(t, "make")
	dest := t.TempDir()
	makeCmd(t, "install", "DESTDIR="+dest)
	bin := filepath.Join(dest, "usr/lib/stackha/stackha")
	if fi, err := os.Stat(bin); err != nil || fi.Mode().Perm() != 0o755 {
		t.Fatalf("binary: %v %v", fi, err)
	}
	for _, name := range ocf.Names() {
		link := filepath.Join(dest, "usr/lib/ocf/resource.d/stackha", name)
		target, err := os.Readlink(link)
		if err != nil || target != "/usr/lib/stackha/stackha" {
			t.Errorf("%s: symlink %q, %v", name, target, err)
		}
		page := filepath.Join(dest, "usr/share/man/man7", "ocf_stackha_"+name+".7")
		if b, err := os.ReadFile(page); err != nil || !strings.HasPrefix(string(b), ".TH") {
			t.Errorf("%s: man page %v", name, err)
		}
	}
	// The real binary must not sit in the agent directory.
	if _, err := os.Stat(filepath.Join(dest, "usr/lib/ocf/resource.d/stackha/stackha")); err == nil {
		t.Error("the binary is in the agent directory: Pacemaker would list it as an agent")
	}
	makeCmd(t, "uninstall", "DESTDIR="+dest)
	left, _ := filepath.Glob(filepath.Join(dest, "usr/lib/ocf/resource.d/stackha/*"))
	if len(left) > 0 {
		t.Errorf("uninstall left %v", left)
	}
}

// systemInstall installs stackha under /usr (root), and uninstalls it at the
// end of the test unless it was installed before.
func systemInstall(t *testing.T) {
	t.Helper()
	_, existed := os.Stat("/usr/lib/ocf/resource.d/stackha")
	makeCmd(t, "install")
	if existed != nil {
		t.Cleanup(func() { makeCmd(t, "uninstall") })
	}
}

// `crm_resource --validate` (Pacemaker 2.1.5) runs validate-all through the
// installed agent: plain --validate passes no OCF_CHECK_LEVEL (the runtime
// checks at level 10), --validate=N passes OCF_CHECK_LEVEL=N;
// OCF_RESOURCE_INSTANCE is "test". A bad parameter is exit 6 with the
// agent's reason at every level.
func TestCrmResourceValidate(t *testing.T) {
	require.Root(t)
	require.Command(t, "make", "crm_resource")
	if _, ok := ocf.Lookup("vip"); !ok {
		t.Skip("this build has no vip agent")
	}
	systemInstall(t)
	for _, level := range []string{"--validate", "--validate=0", "--validate=10"} {
		cmd := exec.Command("crm_resource", level, "--class", "ocf", "--provider", "stackha", "--agent", "vip",
			"--option", "ip=not-an-address")
		out, err := cmd.CombinedOutput()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != int(ocf.ErrConfigured) || !strings.Contains(string(out), "not-an-address") {
			t.Errorf("crm_resource %s with a bad ip: %v (want exit 6 naming the value)\n%s", level, err, out)
		}
	}
}

// Pacemaker's own tool reads the meta-data of an installed agent.
func TestCrmResourceShowsMetadata(t *testing.T) {
	require.Root(t)
	require.Command(t, "make", "crm_resource")
	if len(ocf.Agents()) == 0 {
		t.Fatal("no agent registered")
	}
	name := ocf.Agents()[0].Meta.Name
	if _, ok := ocf.Lookup("vip"); ok {
		name = "vip"
	}
	systemInstall(t)
	out, err := exec.Command("crm_resource", "--show-metadata", "ocf:stackha:"+name).CombinedOutput()
	if err != nil || !strings.Contains(string(out), `<resource-agent name="`+name+`"`) {
		t.Fatalf("crm_resource --show-metadata ocf:stackha:%s: %v\n%s", name, err, out)
	}
}

// The README's agent list is generated from the registry (`make readme`);
// this keeps it from drifting.
func TestReadmeListsEveryAgent(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(testutil.RepoRoot(t), "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	readme := string(b)
	start := strings.Index(readme, "<!-- agents:")
	end := strings.Index(readme, "<!-- /agents -->")
	if start < 0 || end < start {
		t.Fatal("README.md lacks the generated agent list markers")
	}
	section := readme[start:end]
	for _, n := range ocf.Names() {
		if !strings.Contains(section, "`ocf:stackha:"+n+"`") {
			t.Errorf("README agent list lacks %s: run `make readme`", n)
		}
	}
	if got, want := strings.Count(section, "- `ocf:stackha:"), len(ocf.Names()); got != want {
		t.Errorf("README lists %d agents, the registry has %d: run `make readme`", got, want)
	}
}
