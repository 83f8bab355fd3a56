package openstack

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stackha/stackha/internal/testutil/openstacktest"
	"github.com/stackha/stackha/internal/testutil/require"
	"github.com/stackha/stackha/internal/testutil/sandbox"
)

// buildAgent compiles stackha into a directory everyone can read (ocf-tester
// runs meta-data as nobody) and links the agent's name to it.
func buildAgent(t *testing.T, name string) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "sho-ocft-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	os.Chmod(dir, 0o755)
	bin := filepath.Join(dir, "stackha")
	cmd := exec.Command("go", "build", "-o", bin, "github.com/stackha/stackha/cmd/stackha")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	link := filepath.Join(dir, name)
	if err := os.Symlink(bin, link); err != nil {
		t.Fatal(err)
	}
	return link
}

// TestOCFTester runs resource-agents' ocf-tester on the keystone and
// glance-api agents, each driving a real service in run_mode=process.
func TestOCFTester(t *testing.T) {
	require.Root(t)
	require.Command(t, "ocf-tester", "go")
	for _, name := range []string{"keystone", "glance-api"} {
		t.Run(name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
			defer cancel()
			dir := t.TempDir()
			var svc *openstacktest.Service
			switch name {
			case "keystone":
				require.Command(t, "keystone-manage")
				k, err := openstacktest.SetupKeystone(ctx, dir, true)
				if err != nil {
					t.Fatal(err)
				}
				svc = &k.Service
			case "glance-api":
				require.Command(t, "glance-manage")
				g, err := openstacktest.SetupGlance(ctx, dir)
				if err != nil {
					t.Fatal(err)
				}
				svc = g
			}
			t.Cleanup(svc.Stop)
			params := svc.Params()
			agent := buildAgent(t, name)
			// ocf-tester aborts without a stop when an action fails: the
			// agent's own stop then ends the service and removes its record
			// from /run/stackha (this test runs the real binary)
			t.Cleanup(func() { stopAgent(t, agent, "sho-"+name, params) })
			out, err := sandbox.RunOCFTester(ctx, "sho-"+name, agent, params)
			if err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			t.Logf("%s", strings.TrimSpace(string(out)))
		})
	}
}

// stopAgent runs the agent binary's stop for instance, as Pacemaker would.
func stopAgent(t *testing.T, agent, instance string, params map[string]string) {
	cmd := exec.Command(agent, "stop")
	cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "OCF_ROOT=/usr/lib/ocf", "OCF_RESOURCE_INSTANCE=" + instance,
		"OCF_RESKEY_CRM_meta_timeout=30000", "HA_LOGFACILITY=none"}
	for k, v := range params {
		cmd.Env = append(cmd.Env, "OCF_RESKEY_"+k+"="+v)
	}
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("stop of %s after ocf-tester: %v\n%s", instance, err, out)
	}
}
