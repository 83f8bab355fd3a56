package openstack

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stackha/stackha/internal/testutil/nodelock"
	"github.com/stackha/stackha/internal/testutil/openstacktest/nodesvc"
	"github.com/stackha/stackha/internal/testutil/require"
	"github.com/stackha/stackha/ocf"
	"github.com/stackha/stackha/test/sysnode"
)

// serviceFigures are what one service cost, for the summary.
type serviceFigures struct {
	name          string
	setup, start  time.Duration
	rssKiB, procs int
}

// TestSysnodeServices is the real-services tier: every catalog row that
// Debian 12 packages (but keystone, whose unit TestSysnodeKeystoneUnit
// drives; here it is the identity service the others check tokens with),
// one after the other in one node whose pid 1 is systemd, by its packaged
// unit in run_mode=systemd: probe, a broken config (start fails with the
// unit's own reason), start, monitor at depths 0, 10 and 20, a hung
// service (SIGSTOP), a restart by hand behind the cluster's back, stop,
// kill -9 of the main process (uwsgi's master), stop.
func TestSysnodeServices(t *testing.T) {
	require.Root(t)
	rows := nodesvc.Rows()[1:]
	need := []string{sysnode.SystemdPath, "/lib/systemd/system/keystone.service"}
	for _, r := range rows {
		need = append(need, "/lib/systemd/system/"+r.Unit, "/etc/init.d/"+strings.TrimSuffix(r.Unit, ".service"))
		if r.UWSGIIni != "" {
			need = append(need, r.UWSGIIni)
		}
	}
	require.File(t, need...)
	require.Command(t, "nsenter", "unshare", "systemctl", "journalctl", "keystone-manage", "uwsgi_python3", "go", "rabbitmqctl")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()

	addr := netip.MustParseAddr("192.0.2.11")
	k := sysnode.Keystone{Addr: addr, Processes: nodesvc.Processes}
	env := nodesvc.Env{Addr: addr, Keystone: fmt.Sprintf("http://%s:%d", addr, sysnode.KeystonePort)}
	defaults, err := nodesvc.Defaults(addr, nodesvc.Rows())
	if err != nil {
		t.Fatal(err)
	}
	files := k.Files()
	files[nodeBinary] = sysnode.File{Data: nodeAgentBinary(t, ctx), Mode: 0o755}
	dropIns, err := nodesvc.DrainDropIns(addr, rows)
	if err != nil {
		t.Fatal(err)
	}
	for p, f := range dropIns {
		files[p] = f
	}
	const creds = "/etc/stackha/keystone-admin.openrc"
	files[creds] = sysnode.File{Mode: 0o600, Data: []byte(fmt.Sprintf(
		"OS_AUTH_URL=%s\nOS_USERNAME=admin\nOS_PASSWORD=%s\nOS_PROJECT_NAME=admin\nOS_USER_DOMAIN_NAME=Default\nOS_PROJECT_DOMAIN_NAME=Default\n",
		k.URL(), sysnode.KeystonePassword))}
	var specs []*nodesvc.Service
	var users []string
	for _, r := range rows {
		s, err := nodesvc.For(r)
		if err != nil {
			t.Fatal(err)
		}
		f, err := s.Files(env, defaults)
		if err != nil {
			t.Fatal(err)
		}
		for p, v := range f {
			if old, ok := files[p]; ok && string(old.Data) != string(v.Data) {
				t.Fatalf("%s: two services write %s differently", r.Name, p)
			}
			files[p] = v
		}
		specs = append(specs, s)
		if !contains(users, s.User) {
			users = append(users, s.User)
		}
	}
	t.Log(nodesvc.Changes(env))

	l, err := sysnode.New(ctx, sysnode.Options{Nodes: []sysnode.Spec{{Name: "n1", Addr: addr, Files: files}}, Log: testWriter{t}})
	nodelock.Check(t, "booting the node", err)
	t.Cleanup(func() {
		if err := l.Close(); err != nil {
			t.Errorf("teardown: %v", err)
		}
	})
	// about 7 minutes beside another package on two cores (421 s in a go
	// test ./... run), and the package's tests after it about one more:
	// under go test's 10 minutes, with the package's earlier tests, it
	// skips saying so (make check gives the package 40)
	nodelock.Budget(t, 9*time.Minute)
	n := l.Node("n1")
	if _, err := n.Boot(ctx, time.Minute); err != nil {
		t.Fatal(err)
	}
	t0 := time.Now()
	if err := k.Setup(ctx, n); err != nil {
		t.Fatal(err)
	}
	if err := n.Start(ctx, "keystone.service"); err != nil {
		t.Fatal(err)
	}
	if _, err := k.WaitVersion(ctx, l, 2*time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := nodesvc.ServiceUsers(ctx, l, k, users...); err != nil {
		t.Fatal(err)
	}
	t.Logf("keystone (its unit) answers and holds the service users %v, %s after boot", users, time.Since(t0).Round(time.Millisecond))

	var figs []serviceFigures
	for _, s := range specs {
		t.Run(s.Row.Name, func(t *testing.T) {
			f := serviceCycle(t, ctx, l, n, addr, s, defaults, creds)
			figs = append(figs, f)
		})
	}
	t.Log("service        setup(schema)  agent start  RSS of the unit (processes)")
	for _, f := range figs {
		t.Logf("%-14s %13s %12s  %d MiB (%d)", f.name, f.setup.Round(100*time.Millisecond), f.start.Round(100*time.Millisecond), f.rssKiB/1024, f.procs)
	}
}

// serviceCycle drives one service's unit through the agent.
func serviceCycle(t *testing.T, ctx context.Context, l *sysnode.Lab, n *sysnode.Node, addr netip.Addr, s *nodesvc.Service, defaults map[string][]byte, creds string) serviceFigures {
	row, unit := s.Row, s.Row.Unit
	fig := serviceFigures{name: row.Name}
	t0 := time.Now()
	if out, err := n.Script(ctx, s.Setup()); err != nil {
		t.Fatalf("setup: %v\n%s", err, out)
	}
	fig.setup = time.Since(t0)
	t.Logf("setup (schema) of %s: %s", row.Name, fig.setup.Round(100*time.Millisecond))
	for _, u := range s.Needs {
		if err := n.Start(ctx, u); err != nil {
			j, _ := n.Journal(ctx, u)
			t.Fatalf("%v\n%s", err, j)
		}
	}
	t.Cleanup(func() {
		for i := len(s.Needs) - 1; i >= 0; i-- {
			n.Stop(context.Background(), s.Needs[i])
		}
	})
	if s.Ready != "" {
		waitScript(t, ctx, n, s.Ready, 2*time.Minute)
	}
	url := fmt.Sprintf("http://%s:%s%s", addr, row.Port, row.VersionPath)
	a := nodeAgent{t: t, agent: row.Name, n: n, params: map[string]string{"url": url, "probe_timeout": "2s", "credentials": creds}}
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
			j, _ := n.Journal(ctx, unit)
			t.Fatalf("%s: exit %d (%q), want %d with %q\n%s\njournal of %s:\n%s", what, c, r, code, reason, out, unit, lastLines(j, 30))
		}
		t.Logf("%s: exit %d %s", what, c, r)
	}
	op := func(action string, timeout time.Duration) (ocf.Code, string, string) {
		return a.run(ctx, action, timeout, 0, 0, nil)
	}
	monitor := func(depth int) (ocf.Code, string, string) {
		return a.run(ctx, "monitor", 30*time.Second, 10*time.Second, depth, nil)
	}
	dropin := "/run/systemd/system/" + unit + ".d/" + dropInName

	c, r, out := op("monitor", 20*time.Second)
	want("probe", ocf.NotRunning, "", c, r, out)
	c, r, out = op("validate-all", 20*time.Second)
	want("validate-all", ocf.Success, "", c, r, out)

	// a broken configuration: start fails with the unit's own reason
	path, data, restore, says := s.Broken(defaults)
	if err := n.WriteFile(ctx, path, sysnode.File{Data: data, Mode: 0o644}); err != nil {
		t.Fatal(err)
	}
	c, r, out = op("start", 2*time.Minute)
	want("start with a broken config ("+path+")", ocf.ErrGeneric, says, c, r, out)
	t.Logf("unit after the failed start: %s/%s, result %s", show("ActiveState"), show("SubState"), show("Result"))
	c, r, out = op("stop", time.Minute)
	want("stop after the failed start", ocf.Success, "", c, r, out)
	if restore == nil {
		_, err := n.Run(ctx, "rm", path)
		if err != nil {
			t.Fatal(err)
		}
	} else if err := n.WriteFile(ctx, path, sysnode.File{Data: restore}); err != nil {
		t.Fatal(err)
	}

	drains := row.DrainFile != "" || row.DrainAgentPort != 0
	agentHP := net.JoinHostPort(addr.String(), strconv.Itoa(row.DrainAgentPort))
	if drains { // from here on the agent drains before it stops
		for k, v := range drainParams {
			a.params[k] = v
		}
		if row.DrainFile == "" {
			a.params["drain_agent_port"] = strconv.Itoa(row.DrainAgentPort)
		}
	}
	t0 = time.Now()
	c, r, out = op("start", 4*time.Minute)
	fig.start = time.Since(t0)
	want("start", ocf.Success, "", c, r, out)
	t.Logf("start of %s through the agent: %s", unit, fig.start.Round(time.Millisecond))
	if drains && row.DrainFile == "" {
		if word, why := agentSays(ctx, l, agentHP); word != "ready\n" {
			t.Errorf("after start the drain agent on %s answers %q (%s), want ready", agentHP, word, why)
		}
	}
	if _, err := n.Run(ctx, "test", "-f", dropin); err != nil {
		t.Fatalf("no drop-in after start: %v", err)
	}
	if v := show("Restart"); v != "no" {
		t.Errorf("Restart=%s after start, want no (the drop-in)", v)
	}
	fig.rssKiB, fig.procs = unitRSS(t, ctx, n, unit)
	t.Logf("%s: %d processes, RSS %d MiB in all", unit, fig.procs, fig.rssKiB/1024)
	for _, depth := range []int{0, 10, 20} {
		c, r, out = monitor(depth)
		want(fmt.Sprintf("monitor depth %d", depth), ocf.Success, "", c, r, out)
	}

	// hung: every process of the unit stopped
	if _, err := n.Systemctl(ctx, "kill", "-s", "SIGSTOP", unit); err != nil {
		t.Fatal(err)
	}
	c, r, out = monitor(0)
	n.Systemctl(ctx, "kill", "-s", "SIGCONT", unit)
	want("monitor of a hung (SIGSTOP) service", ocf.ErrGeneric, "probe_timeout 2s): the service hangs", c, r, out)
	waitMonitor(t, ctx, monitor, time.Minute)

	// restarted by hand behind the cluster's back: the drop-in stays, the
	// monitor answers 0 again once the service is back
	pid := show("MainPID")
	if _, err := n.Systemctl(ctx, "restart", unit); err != nil {
		t.Fatal(err)
	}
	c, r, _ = monitor(0)
	t.Logf("monitor right after systemctl restart: exit %d %s", c, r)
	took := waitMonitor(t, ctx, monitor, 2*time.Minute)
	t.Logf("monitor answers 0 again %s after systemctl restart (main pid %s, was %s)", took.Round(time.Millisecond), show("MainPID"), pid)
	if v := show("Restart"); v != "no" {
		t.Errorf("Restart=%s after a restart by hand", v)
	}

	if drains {
		// a request held open in it when the stop begins is answered
		hp := net.JoinHostPort(addr.String(), row.Port)
		sign := healthcheckSays503(l, hp, row.HealthcheckPath)
		if row.DrainFile == "" {
			sign = agentSaysDrain(l, agentHP)
		}
		out = drainedStop(t, ctx, l, a, hp, sign, getRequest(hp, row.VersionPath), http.StatusOK, http.StatusMultipleChoices)
		if row.DrainFile == "" {
			if word, _ := agentSays(ctx, l, agentHP); word != "" {
				t.Errorf("after stop the drain agent on %s still answers %q", agentHP, word)
			}
		}
	} else {
		c, r, out = op("stop", 2*time.Minute)
		want("stop", ocf.Success, "", c, r, out)
	}
	switch st, res := show("ActiveState"), show("Result"); {
	case st == "inactive":
	case st == "failed" && res == "timeout":
		t.Logf("after stop: unit failed, result timeout (it did not end on SIGTERM within TimeoutStopSec; systemd killed it)")
	case st == "failed" && res == "signal" && strings.Contains(out, "killing every process of it with SIGKILL"):
		// Debian's uwsgi hung on SIGTERM past the operation's deadline
		// (its unit's TimeoutStopSec is longer): the agent killed it,
		// as stopJob does, and said so.
		t.Logf("after stop: unit failed, result signal (it did not end on SIGTERM before the operation's deadline; the agent killed it)")
	default:
		t.Errorf("after stop: %s (result %s)", st, res)
	}
	if _, err := n.Run(ctx, "test", "-e", filepath.Dir(dropin)); err == nil {
		t.Errorf("after stop: %s is still there", filepath.Dir(dropin))
	}
	if v := show("Restart"); v != "on-failure" {
		t.Errorf("after stop: Restart=%s, want Debian's on-failure", v)
	}

	// kill -9 of the main process (uwsgi's master): the unit fails, systemd
	// does not restart it, the monitor says not running with the unit's
	// result
	c, r, out = op("start", 4*time.Minute)
	want("start again", ocf.Success, "", c, r, out)
	pid = show("MainPID")
	if _, err := n.Run(ctx, "kill", "-9", pid); err != nil {
		t.Fatal(err)
	}
	waitUnitState(t, ctx, show, "failed", time.Minute)
	// 7 is no error: the runtime writes no ocf-exit-reason for it, the
	// agent's log line says the unit's result
	c, r, out = monitor(0)
	want("monitor after kill -9 of the main process", ocf.NotRunning, "", c, r, out)
	if says := "unit " + unit + " failed (failed, result signal)"; !strings.Contains(out, says) {
		t.Fatalf("monitor after kill -9: the output does not say %q:\n%s", says, out)
	}
	t.Logf("monitor after kill -9 says: unit %s failed (failed, result signal)", unit)
	if nr := show("NRestarts"); nr != "0" {
		t.Errorf("after kill -9: NRestarts %s: systemd restarted it", nr)
	}
	c, r, out = op("stop", time.Minute)
	want("stop of the dead unit", ocf.Success, "", c, r, out)
	if _, err := n.Systemctl(ctx, "reset-failed", unit); err != nil {
		t.Fatal(err)
	}
	c, r, out = op("monitor", 20*time.Second)
	want("probe after stop", ocf.NotRunning, "", c, r, out)
	return fig
}

// nodeAgentBinary builds stackha for the node.
func nodeAgentBinary(t *testing.T, ctx context.Context) []byte {
	bin := filepath.Join(t.TempDir(), "stackha")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "github.com/stackha/stackha/cmd/stackha")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	b, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// unitRSS sums the resident memory of the unit's processes (ps's unit
// column: the process's systemd unit).
func unitRSS(t *testing.T, ctx context.Context, n *sysnode.Node, unit string) (kib, procs int) {
	out, err := n.Run(ctx, "ps", "-e", "-o", "rss=,unit=")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(out, "\n") {
		f := strings.Fields(l)
		if len(f) == 2 && f[1] == unit {
			v, _ := strconv.Atoi(f[0])
			kib += v
			procs++
		}
	}
	return kib, procs
}

// waitScript runs a check in the node until it exits 0, within limit.
func waitScript(t *testing.T, ctx context.Context, n *sysnode.Node, script string, limit time.Duration) {
	t.Helper()
	t0 := time.Now()
	for {
		out, err := n.Script(ctx, script)
		if err == nil {
			t.Logf("ready after %s: %s", time.Since(t0).Round(time.Millisecond), script)
			return
		}
		if time.Since(t0) > limit {
			t.Fatalf("not ready after %s: %s: %v\n%s", limit, script, err, out)
		}
		time.Sleep(time.Second)
	}
}

// waitUnitState polls the unit's ActiveState until it is want, within
// limit.
func waitUnitState(t *testing.T, ctx context.Context, show func(string) string, want string, limit time.Duration) {
	t.Helper()
	t0 := time.Now()
	for st := show("ActiveState"); st != want; st = show("ActiveState") {
		if time.Since(t0) > limit {
			t.Fatalf("unit still %s after %s, want %s", st, limit, want)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func contains(l []string, s string) bool {
	for _, v := range l {
		if v == s {
			return true
		}
	}
	return false
}

func lastLines(s string, n int) string {
	l := strings.Split(strings.TrimSpace(s), "\n")
	if len(l) > n {
		l = l[len(l)-n:]
	}
	return strings.Join(l, "\n")
}
