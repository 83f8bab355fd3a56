package openstack

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stackha/stackha/internal/testutil"
	"github.com/stackha/stackha/internal/testutil/openstacktest"
	"github.com/stackha/stackha/internal/testutil/require"
	"github.com/stackha/stackha/ocf"
)

// serverCPU is the CPU time keystone's session has used so far.
func serverCPU(t *testing.T, sid int) time.Duration {
	t.Helper()
	var ticks uint64
	for _, pid := range sessionPIDs(t, sid) {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			continue
		}
		f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
		u, _ := strconv.ParseUint(f[11], 10, 64) // field 14 utime
		s, _ := strconv.ParseUint(f[12], 10, 64) // field 15 stime
		ticks += u + s
	}
	return time.Duration(ticks) * 10 * time.Millisecond // USER_HZ = 100
}

type sample struct{ wall, cpu, server time.Duration }

// measure runs cmd n times and returns the median wall time, client CPU
// (user+system of the command and its children) and keystone's CPU per run.
func measure(t *testing.T, n, sid int, mk func() *exec.Cmd) sample {
	t.Helper()
	var walls, cpus []time.Duration
	s0 := serverCPU(t, sid)
	for i := 0; i < n; i++ {
		cmd := mk()
		t0 := time.Now()
		out, err := cmd.CombinedOutput()
		wall := time.Since(t0)
		if err != nil {
			t.Fatalf("%s: %v\n%s", strings.Join(cmd.Args[:2], " "), err, out)
		}
		walls = append(walls, wall)
		cpus = append(cpus, cmd.ProcessState.UserTime()+cmd.ProcessState.SystemTime())
	}
	return sample{wall: testutil.Median(walls), cpu: testutil.Median(cpus), server: (serverCPU(t, sid) - s0) / time.Duration(n)}
}

// TestBenchMonitor (make bench-openstack) measures a depth-0 monitor of a
// real keystone — the stackha agent exec'd as Pacemaker does — against
// what the old openstack-resource-agents' monitor ran, `openstack token
// issue`, in the same run on the same keystone. It prints figures and
// asserts nothing about them.
func TestBenchMonitor(t *testing.T) {
	if os.Getenv("STACKHA_BENCH") != "1" {
		t.Skip("a benchmark: run it with make bench-openstack (STACKHA_BENCH=1)")
	}
	require.Root(t)
	require.Command(t, "keystone-manage", "openstack")
	runs, _ := strconv.Atoi(os.Getenv("STACKHA_BENCH_RUNS"))
	if runs <= 0 {
		runs = 30
	}
	oldRuns := max(3, runs/6)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	dir := t.TempDir()
	k, err := openstacktest.SetupKeystone(ctx, dir, true)
	if err != nil {
		t.Fatal(err)
	}
	params := k.Params()
	t.Cleanup(func() { runAgent(t, "keystone", "stop", params, runOpts{timeoutMS: 30000}) })
	wantCode(t, "start", runAgent(t, "keystone", "start", params, runOpts{timeoutMS: 60000}), ocf.Success)
	sid := pidOf(t, k.PIDFile)
	agent := buildAgent(t, "keystone")

	env := []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "OCF_ROOT=/usr/lib/ocf", "OCF_RESOURCE_INSTANCE=" + testInstance,
		"OCF_RESKEY_CRM_meta_timeout=20000", "OCF_RESKEY_CRM_meta_interval=10000", "HA_LOGFACILITY=none"}
	for k, v := range params {
		env = append(env, "OCF_RESKEY_"+k+"="+v)
	}
	ours := func() *exec.Cmd {
		c := exec.Command(agent, "monitor")
		c.Env = env
		return c
	}
	// The old agent passed --os-password on the command line; the same
	// client run with the password in its environment costs the same.
	old := func() *exec.Cmd {
		c := exec.Command("openstack", "token", "issue", "-f", "value", "-c", "id")
		c.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "HOME=" + dir, "LANG=C.UTF-8",
			fmt.Sprintf("OS_AUTH_URL=http://127.0.0.1:%d/v3", k.Port), "OS_USERNAME=admin", "OS_PASSWORD=" + k.Password,
			"OS_PROJECT_NAME=admin", "OS_USER_DOMAIN_NAME=Default", "OS_PROJECT_DOMAIN_NAME=Default", "OS_IDENTITY_API_VERSION=3"}
		return c
	}
	measure(t, 3, sid, ours) // warm the page cache
	measure(t, 1, sid, old)
	a := measure(t, runs, sid, ours)
	b := measure(t, oldRuns, sid, old)
	ratio := func(x, y time.Duration) string {
		if x <= 0 {
			return "-"
		}
		return fmt.Sprintf("%.0fx", float64(y)/float64(x))
	}
	ms := func(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond)) }
	fmt.Printf("\nkeystone monitor, median of %d (stackha) and %d (old) runs, same keystone, same run\n\n", runs, oldRuns)
	fmt.Printf("| check | wall | client CPU | keystone CPU per check |\n|---|---|---|---|\n")
	fmt.Printf("| stackha keystone monitor (depth 0, exec'd) | %s | %s | %s |\n", ms(a.wall), ms(a.cpu), ms(a.server))
	fmt.Printf("| old agent: `openstack token issue` | %s | %s | %s |\n", ms(b.wall), ms(b.cpu), ms(b.server))
	fmt.Printf("| stackha is cheaper by | %s | %s | %s |\n\n", ratio(a.wall, b.wall), ratio(a.cpu, b.cpu), ratio(a.server, b.server))
}
