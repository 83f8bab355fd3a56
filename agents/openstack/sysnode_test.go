package openstack

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stackha/stackha/catalog"
	"github.com/stackha/stackha/internal/testutil/nodelock"
	"github.com/stackha/stackha/internal/testutil/openstacktest/nodesvc"
	"github.com/stackha/stackha/internal/testutil/require"
	"github.com/stackha/stackha/ocf"
	"github.com/stackha/stackha/test/sysnode"
)

// nodeAgent runs the built agent binary in a node, as Pacemaker would.
type nodeAgent struct {
	t      *testing.T
	agent  string // the agent's name ("" is keystone)
	n      *sysnode.Node
	params map[string]string
}

const nodeBinary = "/usr/local/sbin/stackha-sysnode-test"

// run runs one action with the OCF environment; it returns the exit code,
// the exit reason and the whole output.
func (a nodeAgent) run(ctx context.Context, action string, timeout time.Duration, interval time.Duration, depth int, extra map[string]string) (ocf.Code, string, string) {
	agent, instance := a.agent, a.agent
	if agent == "" {
		agent, instance = "keystone", "ks"
	}
	env := []string{"env", "-i", "PATH=/usr/sbin:/usr/bin:/sbin:/bin", "OCF_ROOT=/usr/lib/ocf", "OCF_RESOURCE_INSTANCE=" + instance,
		"HA_LOGFACILITY=none", fmt.Sprintf("OCF_RESKEY_CRM_meta_timeout=%d", timeout.Milliseconds()),
		fmt.Sprintf("OCF_RESKEY_CRM_meta_interval=%d", interval.Milliseconds())}
	if depth > 0 {
		env = append(env, fmt.Sprintf("OCF_CHECK_LEVEL=%d", depth))
	}
	for k, v := range a.params {
		if _, ok := extra[k]; !ok {
			env = append(env, "OCF_RESKEY_"+k+"="+v)
		}
	}
	for k, v := range extra {
		env = append(env, "OCF_RESKEY_"+k+"="+v)
	}
	out, err := a.n.Run(ctx, append(env, nodeBinary, agent, action)...)
	code := ocf.Success
	if ee := (*exec.ExitError)(nil); errors.As(err, &ee) {
		code = ocf.Code(ee.ExitCode())
	} else if err != nil {
		a.t.Fatalf("%s: %v", action, err)
	}
	reason := ""
	for _, l := range strings.Split(out, "\n") {
		if r, ok := strings.CutPrefix(l, "ocf-exit-reason:"); ok {
			reason = r
		}
	}
	return code, reason, out
}

// TestSysnodeKeystoneUnit runs the agent in run_mode=systemd against
// Debian 12's keystone unit in a node whose pid 1 is systemd: probe,
// start (the drop-in in effect), monitor at every depth, and the faults.
func TestSysnodeKeystoneUnit(t *testing.T) {
	require.Root(t)
	require.File(t, sysnode.SystemdPath, "/lib/systemd/system/keystone.service", "/etc/init.d/keystone", "/etc/keystone/keystone-uwsgi.ini")
	require.Command(t, "nsenter", "unshare", "systemctl", "journalctl", "keystone-manage", "uwsgi_python3", "go")
	ctx, cancel := context.WithTimeout(context.Background(), 12*time.Minute)
	defer cancel()

	bin := filepath.Join(t.TempDir(), "stackha")
	if out, err := exec.CommandContext(ctx, "go", "build", "-o", bin, "github.com/stackha/stackha/cmd/stackha").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	b, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	k := sysnode.Keystone{Addr: netip.MustParseAddr("192.0.2.11"), Processes: 2}
	files := k.Files()
	files[nodeBinary] = sysnode.File{Data: b, Mode: 0o755}
	dropIns, err := nodesvc.DrainDropIns(k.Addr, []*catalog.Service{catalog.Lookup("keystone")})
	if err != nil {
		t.Fatal(err)
	}
	for p, f := range dropIns {
		files[p] = f
	}
	files["/etc/stackha/keystone-admin.openrc"] = sysnode.File{Mode: 0o600, Data: []byte(fmt.Sprintf(
		"OS_AUTH_URL=%s\nOS_USERNAME=admin\nOS_PASSWORD=%s\nOS_PROJECT_NAME=admin\nOS_USER_DOMAIN_NAME=Default\nOS_PROJECT_DOMAIN_NAME=Default\n",
		k.URL(), sysnode.KeystonePassword))}
	l, err := sysnode.New(ctx, sysnode.Options{Nodes: []sysnode.Spec{{Name: "n1", Addr: k.Addr, Files: files}}, Log: testWriter{t}})
	nodelock.Check(t, "booting the node", err)
	t.Cleanup(func() {
		if err := l.Close(); err != nil {
			t.Errorf("teardown: %v", err)
		}
	})
	nodelock.Budget(t, 2*time.Minute)
	n := l.Node("n1")
	if _, err := n.Boot(ctx, time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := k.Setup(ctx, n); err != nil {
		t.Fatal(err)
	}
	a := nodeAgent{t: t, n: n, params: map[string]string{"url": fmt.Sprintf("http://%s:%d/", k.Addr, sysnode.KeystonePort),
		"probe_timeout": "2s", "credentials": "/etc/stackha/keystone-admin.openrc"}}
	const unit = "keystone.service"
	dropin := "/run/systemd/system/" + unit + ".d/" + dropInName
	show := func(prop string) string {
		out, err := n.Systemctl(ctx, "show", "-p", prop, "--value", unit)
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimSpace(out)
	}
	want := func(what string, code ocf.Code, reason string, c ocf.Code, r, out string) {
		t.Helper()
		if c != code || !strings.Contains(r, reason) {
			t.Fatalf("%s: exit %d (%q), want %d with %q\n%s", what, c, r, code, reason, out)
		}
		t.Logf("%s: exit %d %s", what, c, r)
	}
	op := func(action string, timeout time.Duration) (ocf.Code, string, string) {
		return a.run(ctx, action, timeout, 0, 0, nil)
	}
	monitor := func(depth int) (ocf.Code, string, string) {
		return a.run(ctx, "monitor", 30*time.Second, 10*time.Second, depth, nil)
	}
	timed := func(action string, timeout time.Duration) (ocf.Code, string, string, time.Duration) {
		t0 := time.Now()
		c, r, out := op(action, timeout)
		return c, r, out, time.Since(t0)
	}

	c, r, out := op("monitor", 20*time.Second)
	want("probe", ocf.NotRunning, "", c, r, out)
	c, r, out = op("validate-all", 20*time.Second)
	want("validate-all", ocf.Success, "", c, r, out)

	// Debian's /etc/default/keystone as shipped (no DAEMON_ARGS): uwsgi
	// would listen on every address
	keep, err := n.Run(ctx, "cat", "/etc/default/keystone")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := n.Run(ctx, "rm", "/etc/default/keystone"); err != nil {
		t.Fatal(err)
	}
	c, r, out = op("validate-all", 20*time.Second)
	want("validate-all without /etc/default/keystone", ocf.ErrConfigured, `write DAEMON_ARGS="--http-socket 192.0.2.11:5000 --ini /etc/keystone/keystone-uwsgi.ini" in /etc/default/keystone`, c, r, out)
	c, r, out = op("start", time.Minute)
	want("start without /etc/default/keystone", ocf.ErrConfigured, "/etc/default/keystone", c, r, out)
	if st := show("ActiveState"); st != "inactive" {
		t.Fatalf("a start refused at validation left the unit %s", st)
	}

	// a broken configuration: the unit's own reason in the exit reason
	broken := strings.Replace(keep, "--ini /etc/keystone/keystone-uwsgi.ini", "--ini /etc/keystone/no-such-uwsgi.ini", 1)
	if err := n.WriteFile(ctx, "/etc/default/keystone", sysnode.File{Data: []byte(broken)}); err != nil {
		t.Fatal(err)
	}
	c, r, out = op("start", time.Minute)
	want("start with a broken config", ocf.ErrGeneric, "no-such-uwsgi.ini", c, r, out)
	c, r, out = op("stop", time.Minute)
	want("stop after the failed start", ocf.Success, "", c, r, out)
	if err := n.WriteFile(ctx, "/etc/default/keystone", sysnode.File{Data: []byte(keep)}); err != nil {
		t.Fatal(err)
	}

	c, r, out, took := timed("start", 4*time.Minute)
	want("start", ocf.Success, "", c, r, out)
	t.Logf("start of %s through the agent: %s", unit, took.Round(time.Millisecond))
	if _, err := n.Run(ctx, "test", "-f", dropin); err != nil {
		t.Fatalf("no drop-in after start: %v", err)
	}
	if v := show("Restart"); v != "no" {
		t.Errorf("Restart=%s after start, want no (the drop-in)", v)
	}
	if v := show("Description"); v != "Cluster Controlled "+unit {
		t.Errorf("Description=%q", v)
	}
	for _, depth := range []int{0, 10, 20} {
		c, r, out = monitor(depth)
		want(fmt.Sprintf("monitor depth %d", depth), ocf.Success, "", c, r, out)
	}

	// SIGSTOP of every process of the unit: monitor fails within
	// probe_timeout
	if _, err := n.Systemctl(ctx, "kill", "-s", "SIGSTOP", unit); err != nil {
		t.Fatal(err)
	}
	t0 := time.Now()
	c, r, out = monitor(0)
	stopped := time.Since(t0)
	n.Systemctl(ctx, "kill", "-s", "SIGCONT", unit)
	want("monitor of a stopped (SIGSTOP) service", ocf.ErrGeneric, "", c, r, out)
	if stopped > 4*time.Second {
		t.Errorf("monitor of a SIGSTOPped service took %s (probe_timeout 2s)", stopped)
	}
	t.Logf("monitor of a SIGSTOPped keystone failed after %s", stopped.Round(time.Millisecond))
	waitMonitor(t, ctx, monitor, time.Minute)

	// restarted by hand behind the cluster: still the recorded unit; the
	// monitor fails while keystone loads, then answers 0
	if _, err := n.Systemctl(ctx, "restart", unit); err != nil {
		t.Fatal(err)
	}
	c, r, _ = monitor(0)
	t.Logf("monitor right after systemctl restart: exit %d %s", c, r)
	took = waitMonitor(t, ctx, monitor, 2*time.Minute)
	t.Logf("monitor answers 0 again %s after systemctl restart", took.Round(time.Millisecond))
	if v := show("Restart"); v != "no" {
		t.Errorf("Restart=%s after a restart by hand", v)
	}

	// kill -9 of uwsgi's master: monitor fails, systemd does not restart it
	pid := show("MainPID")
	if _, err := n.Run(ctx, "kill", "-9", pid); err != nil {
		t.Fatal(err)
	}
	time.Sleep(3 * time.Second)
	c, r, out = monitor(0)
	want("monitor after kill -9 of the master", ocf.NotRunning, "", c, r, out)
	if st, nr := show("ActiveState"), show("NRestarts"); st == "active" || st == "activating" || nr != "0" {
		t.Errorf("after kill -9: %s, NRestarts %s: systemd restarted it", st, nr)
	}
	t.Logf("after kill -9 of pid %s: unit %s, result %s, NRestarts %s", pid, show("ActiveState"), show("Result"), show("NRestarts"))
	c, r, out = op("stop", time.Minute)
	want("stop of the dead unit", ocf.Success, "", c, r, out)

	// without a drain (what we replace: a stop under the requests), a token
	// request held open in keystone when the stop begins is lost
	c, r, out = op("start", 4*time.Minute)
	want("start, no drain", ocf.Success, "", c, r, out)
	hp := fmt.Sprintf("%s:%d", k.Addr, sysnode.KeystonePort)
	held, err := holdRequest(ctx, l, hp, postRequest(hp, "/v3/auth/tokens", k.TokenRequest()))
	if err != nil {
		t.Fatal(err)
	}
	c, r, out = op("stop", time.Minute)
	want("stop, no drain", ocf.Success, "", c, r, out)
	if status, err := held.finish(); err == nil && status == http.StatusCreated {
		t.Errorf("a token request held open through a stop without a drain was answered 201: the comparison shows nothing")
	} else {
		t.Logf("without a drain, the token request held open through the stop: %d, %v", status, err)
	}

	// drain before stop (render's drop-in installed): a token request
	// held open in keystone when the stop begins is answered
	for k, v := range drainParams {
		a.params[k] = v
	}
	if _, err := n.Run(ctx, "touch", "/etc/keystone/healthcheck_disable"); err != nil {
		t.Fatal(err)
	}
	c, r, out, took = timed("start", 4*time.Minute)
	want("start again", ocf.Success, "", c, r, out)
	t.Logf("second start of %s through the agent: %s", unit, took.Round(time.Millisecond))
	if _, err := n.Run(ctx, "test", "-e", "/etc/keystone/healthcheck_disable"); err == nil {
		t.Error("start left the disable file")
	}
	drainedStop(t, ctx, l, a, hp, healthcheckSays503(l, hp, "/healthcheck"), postRequest(hp, "/v3/auth/tokens", k.TokenRequest()), http.StatusCreated)
	// Debian's uwsgi often does not end on SIGTERM (a worker deadlocks in
	// Python's finalization, uwsgi_lock_fast): systemd kills it after the
	// unit's TimeoutStopSec=15 and the unit ends failed with result
	// timeout. Stopped either way.
	switch st, res := show("ActiveState"), show("Result"); {
	case st == "inactive":
	case st == "failed" && res == "timeout":
		t.Logf("after stop: unit failed, result timeout (uwsgi did not end on SIGTERM within TimeoutStopSec; systemd killed it)")
	default:
		j, _ := n.Run(ctx, "journalctl", "--no-pager", "-o", "short-precise", "-n", "60")
		t.Errorf("after stop: %s (result %s)\njournal:\n%s", st, res, j)
	}
	if _, err := n.Run(ctx, "test", "-e", filepath.Dir(dropin)); err == nil {
		t.Errorf("after stop: %s is still there", filepath.Dir(dropin))
	}
	if v := show("Restart"); v != "on-failure" {
		t.Errorf("after stop: Restart=%s, want Debian's on-failure", v)
	}
	c, r, out = op("monitor", 20*time.Second)
	want("probe after stop", ocf.NotRunning, "", c, r, out)
}

// waitMonitor runs monitor until it answers 0, within limit.
func waitMonitor(t *testing.T, ctx context.Context, monitor func(int) (ocf.Code, string, string), limit time.Duration) time.Duration {
	t.Helper()
	t0 := time.Now()
	for {
		c, r, _ := monitor(0)
		if c == ocf.Success {
			return time.Since(t0)
		}
		if time.Since(t0) > limit {
			t.Fatalf("monitor still %d (%s) after %s", c, r, limit)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
