package cluster

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stackha/stackha/test/cluster/harness"
)

// OCF 1.1 on the harness cluster: two nodes in lab mode, stackha's vip
// and haproxy, no keystone (the client asks haproxy's whoami frontend
// through the VIP). One bring-up for the three checks, in order:
//  1. a new haproxy configuration set with crm_resource is applied by
//     reload-agent: no stop or start, the masters keep their pids, no
//     request through the VIP fails;
//  2. a backend losing one of its two servers makes the depth-10 monitor
//     report degraded (190), which crm_mon shows, without a restart;
//  3. a parameter that is not reloadable (binary) restarts haproxy.
//
// The backend of check 2 ("pair") has its two servers in the client's
// namespace: listeners of this test, so one of them can go away.

const (
	pairPortA = 8081
	pairPortB = 8082
	// depth10Interval is the depth-10 monitor's interval.
	depth10Interval = "2s"
)

// ocf11Set is stackha's agent set with a second, depth-10 monitor on
// haproxy (its check_level_10_backends left to the default until check 2
// names the backend).
func ocf11Set(t *testing.T, ctx context.Context) harness.AgentSet {
	t.Helper()
	set, err := harness.Stackha(ctx, buildStackha(t))
	if err != nil {
		t.Fatalf("stackha's agents: %v", err)
	}
	if !set.Stackha("vip") || !set.Stackha("haproxy") {
		t.Fatalf("the stackha binary lacks the vip or haproxy agent (%s)", set.Note)
	}
	set.HAProxy = func(p harness.Paths) string {
		return fmt.Sprintf("primitive haproxy ocf:stackha:haproxy params config=%s "+
			"op monitor interval=1s timeout=10s "+
			"op monitor interval=%s timeout=10s OCF_CHECK_LEVEL=10 "+
			"op start timeout=20s op stop timeout=20s", p.HAProxyCfg, depth10Interval)
	}
	return set
}

// secondConfig is the harness's haproxy.cfg (the same frontends) with a
// backend "pair" of two servers in the client's namespace, checked every
// 500 ms.
func secondConfig(c *harness.Cluster) string {
	return harness.HAProxyConfig(false, c.Specs()) + fmt.Sprintf(`
backend pair
  default-server inter 500ms fall 2 rise 1
  server a %s:%d check
  server b %s:%d check
`, harness.ClientAddr, pairPortA, harness.ClientAddr, pairPortB)
}

// nsListener is an HTTP server listening inside the client's namespace.
type nsListener struct {
	ln  net.Listener
	srv *http.Server
}

// listenInClient opens an HTTP server on addr inside the client's network
// namespace (the socket is created by a thread of cl, which lives there).
func listenInClient(cl *harness.Client, addr string) (*nsListener, error) {
	type res struct {
		ln  net.Listener
		err error
	}
	ch := make(chan res, 1)
	cl.InNamespace(func() {
		ln, err := net.Listen("tcp", addr)
		ch <- res{ln, err}
	})
	r := <-ch
	if r.err != nil {
		return nil, fmt.Errorf("listening on %s in the client namespace: %w", addr, r.err)
	}
	l := &nsListener{ln: r.ln, srv: &http.Server{ReadHeaderTimeout: 2 * time.Second,
		Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "pair") })}}
	go l.srv.Serve(r.ln)
	return l, nil
}

func (l *nsListener) Close() { l.srv.Close() }

// masters returns every node's haproxy master pid.
func masters(t *testing.T, c *harness.Cluster) map[string]int {
	t.Helper()
	m := map[string]int{}
	for _, n := range c.Nodes {
		p, err := n.HAProxyMaster()
		if err != nil {
			t.Fatalf("%v", err)
		}
		m[n.Name] = p.Pid
	}
	return m
}

// setParam sets a parameter of the haproxy primitive as an operator does.
func setParam(ctx context.Context, c *harness.Cluster, name, value string) error {
	_, err := c.Ctl().Run(ctx, "crm_resource", "--resource", "haproxy", "--set-parameter", name, "--parameter-value", value)
	return err
}

// logMark is where each node's Pacemaker log ends now.
type logMark map[string]int64

func markLogs(c *harness.Cluster) logMark {
	m := logMark{}
	for _, n := range c.Nodes {
		if fi, err := os.Stat(pacemakerLogPath(n)); err == nil {
			m[n.Name] = fi.Size()
		}
	}
	return m
}

func pacemakerLogPath(n *harness.Node) string {
	return filepath.Join(n.Dir(), "log-pacemaker", "pacemaker.log")
}

// results returns the operations on resource whose results each node's
// controller logged since mark ("Result of reload-agent operation for
// haproxy on node1: ok"). The CIB status cannot tell a reload-agent from a start: Pacemaker records a
// reload-agent's result as the resource's last start (so that its digests
// are updated).
func results(c *harness.Cluster, mark logMark, resource string) []logResult {
	re := regexp.MustCompile(`Result of (\S+) operation for ` + regexp.QuoteMeta(resource) + ` on (\S+): (.*?) \|`)
	var out []logResult
	for _, n := range c.Nodes {
		f, err := os.Open(pacemakerLogPath(n))
		if err != nil {
			continue
		}
		f.Seek(mark[n.Name], 0)
		data, _ := io.ReadAll(io.LimitReader(f, 64<<20))
		f.Close()
		for _, m := range re.FindAllStringSubmatch(string(data), -1) {
			if m[2] == n.Name {
				out = append(out, logResult{Node: m[2], Op: m[1], Result: m[3]})
			}
		}
	}
	return out
}

// logResult is one "Result of ..." line of a node's controller.
type logResult struct{ Node, Op, Result string }

func (r logResult) String() string { return fmt.Sprintf("%s@%s: %s", r.Op, r.Node, r.Result) }

// resultsOn counts, per node, the logged results of op.
func resultsOn(rs []logResult, op string) map[string]int {
	m := map[string]int{}
	for _, r := range rs {
		if r.Op == op {
			m[r.Node]++
		}
	}
	return m
}

// waitResults waits (up to limit) until the results logged since mark
// satisfy ok, and returns them.
func waitResults(ctx context.Context, c *harness.Cluster, mark logMark, resource string, limit time.Duration, ok func([]logResult) bool) ([]logResult, error) {
	deadline := time.Now().Add(limit)
	for {
		rs := results(c, mark, resource)
		if ok(rs) {
			return rs, nil
		}
		if time.Now().After(deadline) {
			return rs, fmt.Errorf("after %s the operations logged are: %v", limit, rs)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(300 * time.Millisecond):
		}
	}
}

// failCounts lists the fail-count attributes in the CIB status.
func failCounts(ctx context.Context, c *harness.Cluster) ([]string, error) {
	out, err := c.Ctl().Run(ctx, "cibadmin", "--query", "--scope", "status")
	if err != nil {
		return nil, err
	}
	return regexp.MustCompile(`<nvpair[^>]*name="fail-count-[^"]*"[^>]*/>`).FindAllString(out, -1), nil
}

// TestOCF11Cluster runs OCF 1.1's cluster checks.
func TestOCF11Cluster(t *testing.T) {
	requireCluster(t)
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	set := ocf11Set(t, ctx)

	c := up(t, ctx, harness.Options{Agents: set})
	// The backend's servers, in the client namespace (there once the
	// cluster is up).
	lcl, err := harness.NewClient(harness.ClientNetNS(), 1)
	if err != nil {
		t.Fatalf("%v", err)
	}
	defer lcl.Close()
	var lmu sync.Mutex
	listeners := map[int]*nsListener{}
	for _, port := range []int{pairPortA, pairPortB} {
		l, err := listenInClient(lcl, fmt.Sprintf("%s:%d", harness.ClientAddr, port))
		if err != nil {
			t.Fatalf("%v", err)
		}
		listeners[port] = l
	}
	defer func() {
		lmu.Lock()
		defer lmu.Unlock()
		for _, l := range listeners {
			l.Close()
		}
	}()
	cfg2 := filepath.Join(harness.BaseDir, "haproxy-second.cfg")
	if err := os.WriteFile(cfg2, []byte(secondConfig(c)), 0o644); err != nil {
		t.Fatalf("%v", err)
	}

	ok := t.Run("config change is reload-agent", func(t *testing.T) {
		pids := masters(t, c)
		mark := markLogs(c)
		p, err := harness.StartProber(probeURL(c), 50*time.Millisecond, time.Second)
		if err != nil {
			t.Fatalf("%v", err)
		}
		t0 := time.Now()
		time.Sleep(time.Second)
		if err := setParam(ctx, c, "config", cfg2); err != nil {
			p.Stop()
			t.Fatalf("%v", err)
		}
		_, err = waitResults(ctx, c, mark, "haproxy", 60*time.Second, func(rs []logResult) bool {
			return len(resultsOn(rs, "reload-agent")) == len(c.Nodes)
		})
		if err == nil {
			err = c.WaitSettled(ctx, 60*time.Second)
		}
		time.Sleep(time.Second)
		p.Stop()
		if err != nil {
			t.Fatalf("%v", err)
		}
		// Everything logged since the change, the monitors restarted
		// after the reload included.
		rs := results(c, mark, "haproxy")
		sum := harness.Summarize(p.Attempts(t0), t0)
		now := masters(t, c)
		t.Logf("haproxy operations the controllers logged: %v", rs)
		t.Logf("haproxy masters before %v, after %v; client: %d requests through the VIP, %d failed", pids, now, sum.Total, sum.Failed)
		for _, r := range rs {
			if r.Op == "stop" || r.Op == "start" {
				t.Errorf("haproxy %s: the config change restarted it", r)
			}
			// Pacemaker cancels the recurring monitors around a
			// reload-agent and starts them again.
			if r.Result != "ok" && (r.Op != "monitor" || r.Result != "Cancelled") {
				t.Errorf("haproxy %s", r)
			}
		}
		for n, pid := range pids {
			if now[n] != pid {
				t.Errorf("%s: haproxy master pid %d became %d", n, pid, now[n])
			}
		}
		if sum.Failed > 0 || sum.Total == 0 {
			t.Errorf("client through the VIP: %d requests, %d failed (last: %s)", sum.Total, sum.Failed, sum.LastErr)
		}
		checkNoFailures(t, ctx, c)
	})
	if !ok {
		t.FailNow()
	}

	ok = t.Run("backend losing a server is degraded", func(t *testing.T) {
		pids := masters(t, c)
		mark := markLogs(c)
		if err := setParam(ctx, c, "check_level_10_backends", "pair"); err != nil {
			t.Fatalf("%v", err)
		}
		if _, err := waitResults(ctx, c, mark, "haproxy", 60*time.Second, func(rs []logResult) bool {
			return len(resultsOn(rs, "reload-agent")) == len(c.Nodes)
		}); err != nil {
			t.Fatalf("check_level_10_backends: %v", err)
		}
		if err := c.WaitSettled(ctx, 60*time.Second); err != nil {
			t.Fatalf("%v", err)
		}
		lmu.Lock()
		listeners[pairPortB].Close()
		delete(listeners, pairPortB)
		lmu.Unlock()
		t0 := time.Now()
		// Server b is DOWN after 2 failed checks 500 ms apart, then the
		// next depth-10 monitor (every 2 s) reports it on each node.
		var st harness.Status
		var degraded map[string]bool
		for deadline := time.Now().Add(45 * time.Second); time.Now().Before(deadline); time.Sleep(500 * time.Millisecond) {
			if st, err = c.Status(ctx); err == nil {
				if degraded = degradedNodes(st); len(degraded) == len(c.Nodes) {
					break
				}
			}
		}
		text, _ := c.Ctl().Run(ctx, "crm_mon", "-1", "-r")
		t.Logf("crm_mon -1 -r %s after server b went away:\n%s", time.Since(t0).Round(100*time.Millisecond), text)
		t.Logf("haproxy operations the controllers logged since check_level_10_backends=pair: %v", results(c, mark, "haproxy"))
		if len(degraded) != len(c.Nodes) {
			t.Errorf("crm_mon shows haproxy degraded on %v, want every node", degraded)
		}
		for _, n := range c.Nodes {
			// 2.1.5 prints "haproxy 2s-interval monitor on node1
			// returned 'OCF_DEGRADED' at ..." (--show-detail:
			// "haproxy_monitor_2000 on node1 'OCF_DEGRADED' (190): ...").
			re := regexp.MustCompile(`(?m)^\s*\* haproxy[ _]` + depth10Interval + `-interval monitor on ` + n.Name + ` returned 'OCF_DEGRADED'`)
			if !re.MatchString(text) {
				t.Errorf("crm_mon's text has no line matching %s", re)
			}
		}
		if w := st.Where("haproxy"); len(w) != len(c.Nodes) {
			t.Errorf("haproxy started (and not failed) on %v while degraded, want every node", w)
		}
		now := masters(t, c)
		t.Logf("haproxy masters before %v, while degraded %v", pids, now)
		for n, pid := range pids {
			if now[n] != pid {
				t.Errorf("%s: haproxy master pid %d became %d", n, pid, now[n])
			}
		}
		// The server comes back: the depth-10 monitors return 0 again.
		// Pacemaker keeps listing the degraded result (the resource's
		// last failure) until a cleanup; it counted no failure.
		back := markLogs(c)
		l, err := listenInClient(lcl, fmt.Sprintf("%s:%d", harness.ClientAddr, pairPortB))
		if err != nil {
			t.Fatalf("%v", err)
		}
		lmu.Lock()
		listeners[pairPortB] = l
		lmu.Unlock()
		rs, err := waitResults(ctx, c, back, "haproxy", 30*time.Second, func(rs []logResult) bool {
			okOn := map[string]bool{}
			for _, r := range rs {
				if r.Op == "monitor" && r.Result == "ok" {
					okOn[r.Node] = true
				}
			}
			return len(okOn) == len(c.Nodes)
		})
		if err != nil {
			t.Errorf("server b is back: %v", err)
		}
		t.Logf("server b back: %v", rs)
		for _, r := range results(c, mark, "haproxy") {
			if r.Op == "stop" || r.Op == "start" {
				t.Errorf("haproxy %s: degraded must not restart it", r)
			}
		}
		fc, err := failCounts(ctx, c)
		if err != nil {
			t.Fatalf("%v", err)
		}
		for _, f := range fc {
			t.Errorf("degraded counted as a failure: %s", f)
		}
		if st, err := c.Status(ctx); err == nil {
			t.Logf("still listed after the monitors returned 0, until a cleanup: %v", degradedNodes(st))
		}
		if err := c.Cleanup(ctx); err != nil {
			t.Fatalf("%v", err)
		}
		if err := c.WaitSettled(ctx, 60*time.Second); err != nil {
			t.Fatalf("%v", err)
		}
		checkNoFailures(t, ctx, c)
	})
	if !ok {
		t.FailNow()
	}

	t.Run("binary change restarts", func(t *testing.T) {
		pids := masters(t, c)
		mark := markLogs(c)
		// The default, now said explicitly: a change of a parameter that
		// is not reloadable.
		if err := setParam(ctx, c, "binary", "/usr/sbin/haproxy"); err != nil {
			t.Fatalf("%v", err)
		}
		rs, err := waitResults(ctx, c, mark, "haproxy", 60*time.Second, func(rs []logResult) bool {
			return len(resultsOn(rs, "start")) == len(c.Nodes)
		})
		if err == nil {
			err = c.WaitSettled(ctx, 60*time.Second)
		}
		if err != nil {
			t.Fatalf("%v", err)
		}
		now := masters(t, c)
		t.Logf("haproxy operations the controllers logged: %v", rs)
		t.Logf("haproxy masters before %v, after %v", pids, now)
		if n := resultsOn(rs, "stop"); len(n) != len(c.Nodes) {
			t.Errorf("haproxy stopped on %v, want every node", n)
		}
		if n := resultsOn(rs, "reload-agent"); len(n) != 0 {
			t.Errorf("reload-agent on %v for a parameter that is not reloadable", n)
		}
		for n, pid := range pids {
			if now[n] == pid {
				t.Errorf("%s: haproxy master pid %d unchanged: not restarted", n, pid)
			}
		}
	})
}

// degradedNodes returns the nodes on which crm_mon (2.1.5) lists a
// degraded result of a haproxy monitor: Pacemaker keeps the instance
// Started (not failed, no recovery) and lists the result under "Failed
// Resource Actions" as "haproxy_monitor_2000 on node1 'OCF_DEGRADED' (190):
// ... status='complete'" (with --show-detail; without: "haproxy 2s-interval
// monitor on node1 returned 'OCF_DEGRADED' at <time>"), until a monitor returns 0 again.
func degradedNodes(st harness.Status) map[string]bool {
	m := map[string]bool{}
	for _, f := range st.Failures {
		if strings.HasPrefix(f.OpKey, "haproxy_monitor_") && f.ExitCode == 190 && f.ExitStatus == "OCF_DEGRADED" {
			m[f.Node] = true
		}
	}
	return m
}

// checkNoFailures fails t when crm_mon lists a failed action or the CIB
// holds a fail count.
func checkNoFailures(t *testing.T, ctx context.Context, c *harness.Cluster) {
	t.Helper()
	st, err := c.Status(ctx)
	if err != nil {
		t.Fatalf("%v", err)
	}
	for _, f := range st.Failures {
		t.Errorf("failed action: %s on %s: %s (%s) %s", f.OpKey, f.Node, f.ExitStatus, f.Status, f.ExitReason)
	}
	fc, err := failCounts(ctx, c)
	if err != nil {
		t.Fatalf("%v", err)
	}
	for _, f := range fc {
		t.Errorf("fail count: %s", f)
	}
}
