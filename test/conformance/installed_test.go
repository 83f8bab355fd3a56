package conformance

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stackha/stackha/internal/testutil/require"
	"github.com/stackha/stackha/ocf"
)

const ocfRoot = "/usr/lib/ocf/resource.d"

// installed lays out, beside the built provider directory, a copy of
// /usr/lib/ocf/resource.d made of links (every provider of this machine,
// plus stackha's agents) and returns a runner: each command it runs sees
// that copy in place of /usr/lib/ocf/resource.d, through bind mounts in a
// private mount namespace of its own (as crm/strict-check.sh does). Nothing
// changes outside. Root.
func installed(t *testing.T, ocfDir string) func(ctx context.Context, name string, args ...string) *exec.Cmd {
	t.Helper()
	require.Root(t)
	require.Command(t, "unshare", "mount")
	require.File(t, ocfRoot)
	dir := filepath.Join(filepath.Dir(filepath.Dir(ocfDir)), "installed")
	if err := os.MkdirAll(filepath.Join(dir, "orig"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "rd"), 0o755); err != nil {
		t.Fatal(err)
	}
	provs, err := os.ReadDir(ocfRoot)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range provs {
		if p.Name() != "stackha" {
			os.Symlink(filepath.Join(dir, "orig", p.Name()), filepath.Join(dir, "rd", p.Name()))
		}
	}
	if err := os.Symlink(ocfDir, filepath.Join(dir, "rd", "stackha")); err != nil && !os.IsExist(err) {
		t.Fatal(err)
	}
	const script = `mount --bind "$1" "$2/orig" && mount --bind "$2/rd" "$1" && shift 2 && exec "$@"`
	return func(ctx context.Context, name string, args ...string) *exec.Cmd {
		// unshare makes the new mount namespace's mounts private by default.
		cmd := exec.CommandContext(ctx, "unshare", append([]string{"--mount", "--propagation", "private", "--", "sh", "-c", script, "sh", ocfRoot, dir, name}, args...)...)
		cmd.Env = callerEnv()
		return cmd
	}
}

// TestInstalled runs the cluster tools on the installed agents: Pacemaker's
// crm_resource gets OCF 1.1 meta-data valid against pcs's schema, pcs and
// crmsh show every parameter, and crm_resource --validate returns the
// agent's verdict.
func TestInstalled(t *testing.T) {
	require.Root(t)
	_, ocfDir := build(t)
	run := installed(t, ocfDir)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	for _, name := range ocf.Names() {
		a, _ := ocf.Lookup(name)
		t.Run(name, func(t *testing.T) {
			t.Run("crm_resource --show-metadata", func(t *testing.T) {
				require.Command(t, "crm_resource", "xmllint")
				require.File(t, rng)
				out, err := run(ctx, "crm_resource", "--show-metadata", "ocf:stackha:"+name).Output()
				if err != nil {
					t.Fatalf("crm_resource --show-metadata: %v\n%s", err, stderrOf(err))
				}
				// crm_resource announces OCF 1.1 (see flavours).
				checkFlavour(t, name, out, true)
			})
			// pcs 0.11 hides deprecated parameters without --full.
			t.Run("pcs resource describe", func(t *testing.T) {
				require.Command(t, "pcs")
				out, err := run(ctx, "pcs", "resource", "describe", "--full", "ocf:stackha:"+name).CombinedOutput()
				if err != nil {
					t.Fatalf("pcs resource describe: %v\n%s", err, out)
				}
				everyParameter(t, out, a, `(?m)^\s+%s(\s|:|$)`)
			})
			t.Run("crm ra info", func(t *testing.T) {
				require.Command(t, "crm")
				out, err := run(ctx, "crm", "ra", "info", "ocf:stackha:"+name).CombinedOutput()
				if err != nil {
					t.Fatalf("crm ra info: %v\n%s", err, out)
				}
				everyParameter(t, out, a, `(?m)^%s\*? \(`)
			})
			t.Run("crm_resource --validate without parameters", func(t *testing.T) {
				require.Command(t, "crm_resource")
				code, out := crmValidate(ctx, run, name, "", nil)
				// Whatever the agent needs, an empty configuration is answered
				// with an OCF verdict on it, never a crash or "unimplemented".
				switch code {
				case int(ocf.Success), int(ocf.ErrArgs), int(ocf.ErrInstalled), int(ocf.ErrConfigured):
				default:
					t.Fatalf("crm_resource --validate of %s without parameters: code %d\n%s", name, code, out)
				}
			})
		})
	}
	t.Run("crm_resource --validate vip", func(t *testing.T) { validateVIP(t, ctx, run) })
}

// everyParameter checks that a tool's description of the agent names every
// declared parameter on a line of its own (pattern has one %s).
func everyParameter(t *testing.T, out []byte, a *ocf.Agent, pattern string) {
	t.Helper()
	for _, p := range a.Meta.Parameters {
		re := regexp.MustCompile(strings.Replace(pattern, "%s", regexp.QuoteMeta(p.Name), 1))
		if !re.Match(out) {
			t.Errorf("parameter %s is not shown:\n%s", p.Name, out)
			return
		}
	}
}

// crmValidate runs crm_resource --validate on the installed agent (at a
// check level when level is not empty) and returns its exit code, which
// crm_resource 2.1 makes the agent's own (checked with a script agent for 0,
// 1, 2, 5, 6 and 7). Pacemaker 2.1.5's crm_resource passes
// OCF_RA_VERSION_MAJOR=1 OCF_RA_VERSION_MINOR=1 to validate-all, and
// OCF_CHECK_LEVEL only when given --validate=LEVEL; it refuses the short
// form --agent ocf:stackha:vip ("not a known resource", exit 64), hence
// --class, --provider and --agent.
func crmValidate(ctx context.Context, run func(context.Context, string, ...string) *exec.Cmd, agent, level string, params []string) (int, []byte) {
	args := []string{"--class", "ocf", "--provider", "stackha", "--agent", agent, "--validate"}
	if level != "" {
		args[len(args)-1] = "--validate=" + level
	}
	for _, p := range params {
		args = append(args, "--option", p)
	}
	var out bytes.Buffer
	cmd := run(ctx, "crm_resource", args...)
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode(), out.Bytes()
	} else if err != nil {
		return -1, append(out.Bytes(), err.Error()...)
	}
	return 0, out.Bytes()
}

// validateVIP checks crm_resource --validate's codes for good and bad vip
// parameters: 0 for a good configuration, 6 (OCF_ERR_CONFIGURED: wrong on
// every node) for a bad one, and, for a configuration that is right but
// names an interface this node lacks, 0 at check level 0 (parameters only,
// what pcs runs on any node) and a node-local failure (2 or 5) at level 10.
func validateVIP(t *testing.T, ctx context.Context, run func(context.Context, string, ...string) *exec.Cmd) {
	require.Command(t, "crm_resource")
	good := []string{"ip=203.0.113.7", "nic=lo", "cidr_netmask=24"}
	cases := []struct {
		name   string
		level  string
		params []string
		want   []ocf.Code
	}{
		{"good", "", good, []ocf.Code{ocf.Success}},
		{"good at level 0", "0", good, []ocf.Code{ocf.Success}},
		{"good at level 10", "10", good, []ocf.Code{ocf.Success}},
		{"no ip", "", nil, []ocf.Code{ocf.ErrConfigured}},
		{"not an address", "0", []string{"ip=999.1.1.1"}, []ocf.Code{ocf.ErrConfigured}},
		{"not a prefix", "0", []string{"ip=203.0.113.7", "cidr_netmask=33"}, []ocf.Code{ocf.ErrConfigured}},
		{"unsupported parameter", "0", append([]string{"mac=02:00:00:00:00:01"}, good...), []ocf.Code{ocf.ErrConfigured}},
		{"count out of range", "0", append([]string{"arp_count=0"}, good...), []ocf.Code{ocf.ErrConfigured}},
		{"interval that overflows", "0", append([]string{"arp_interval=18446744073710"}, good...), []ocf.Code{ocf.ErrConfigured}},
		{"boolean typo", "0", append([]string{"lvs_support=maybe"}, good...), []ocf.Code{ocf.ErrConfigured}},
		{"missing interface at level 0", "0", []string{"ip=203.0.113.7", "nic=shmetanic0", "cidr_netmask=24"}, []ocf.Code{ocf.Success}},
		{"missing interface at level 10", "10", []string{"ip=203.0.113.7", "nic=shmetanic0", "cidr_netmask=24"}, []ocf.Code{ocf.ErrArgs, ocf.ErrInstalled}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, out := crmValidate(ctx, run, "vip", c.level, c.params)
			for _, w := range c.want {
				if code == int(w) {
					return
				}
			}
			t.Fatalf("crm_resource --validate vip %s (level %q): code %d, want one of %v\n%s", strings.Join(c.params, " "), c.level, code, c.want, out)
		})
	}
}
