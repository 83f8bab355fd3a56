package cluster

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"syscall"
	"time"
)

// Expectation is what a fault should lead to with a given agent set.
type Expectation int

const (
	// Recover: detected (where detection applies) and recovered.
	Recover Expectation = iota
	// NoRecovery: the agents of this set cannot see the fault (a known gap
	// of the old agents); the run checks that it indeed stays broken
	// for the observation window, which is what the table reports.
	NoRecovery
	// Skip: the fault needs an agent this set does not have.
	Skip
)

// FaultResult is one row of the results table.
type FaultResult struct {
	Set      string
	ID       int
	Name     string
	Expect   Expectation
	Skip     string // why it did not run
	Client   Summary
	Detected time.Duration // from the fault to Pacemaker's first failure record; 0: none
	Recovery time.Duration // from the fault to recovered; 0: not recovered
	Outcome  string
	NoDetect bool // detection does not apply (an operator's action)
	// Bad is set when the fault was handled, but not as it must be (a
	// monitor that Pacemaker had to time out instead of one that failed).
	Bad string
	OK  bool // met its expectation
	Err error
}

// Fault is one injected failure.
type Fault struct {
	ID     int
	Name   string
	Expect func(AgentSet) (Expectation, string)
	// Inject does the harm and observes; it fills Detected, Recovery and
	// Outcome, and returns a function that undoes what the cluster does
	// not undo itself (nil when nothing is left to undo).
	Inject func(ctx context.Context, f *FaultEnv, r *FaultResult) (restore func(context.Context) error, err error)
}

// FaultEnv is what a fault works with.
type FaultEnv struct {
	C      *Cluster
	P      *Prober // keystone through the VIP, answers name the node
	Set    AgentSet
	T0     time.Time
	client *Client
}

// observation window for faults a set cannot recover from, and the limit
// for those it should.
const (
	noRecoveryWindow = 15 * time.Second
	recoveryLimit    = 45 * time.Second
)

func always(AgentSet) (Expectation, string) { return Recover, "" }

// Faults are the failures the issue lists, in the order they run on one
// cluster (link down and node loss last: they change the most).
var Faults = []Fault{
	{ID: 1, Name: "node standby and back (stickiness)", Expect: always, Inject: faultStandby},
	{ID: 2, Name: "kill -9 haproxy master on the active node", Expect: always, Inject: faultKillHAProxy},
	{ID: 3, Name: "VIP deleted behind Pacemaker's back", Expect: always, Inject: faultDeleteVIP},
	{ID: 5, Name: "keystone killed on the active node", Expect: always, Inject: faultKillKeystone},
	{ID: 6, Name: "keystone hung (SIGSTOP) on the active node", Expect: func(s AgentSet) (Expectation, string) {
		if !s.Stackha("keystone") {
			return NoRecovery, "ocf:heartbeat:anything only checks the pid"
		}
		return Recover, ""
	}, Inject: faultStopKeystone},
	{ID: 7, Name: "broken haproxy.cfg, then reload", Expect: func(s AgentSet) (Expectation, string) {
		if !s.Stackha("haproxy") {
			return Skip, "needs ocf:stackha:haproxy (haproxy via ocf:heartbeat:anything has no reload)"
		}
		return Recover, ""
	}, Inject: faultBrokenReload},
	{ID: 4, Name: "active node's link down (switch port down: no carrier)", Expect: func(s AgentSet) (Expectation, string) {
		if !s.Stackha("vip") {
			return NoRecovery, "IPaddr2 does not look at the link"
		}
		return Recover, ""
	}, Inject: faultLinkDown},
	{ID: 8, Name: "corosync killed on the active node (no fencing)", Expect: always, Inject: faultKillCorosync},
}

// RunFaults injects each fault in turn on the running cluster c, with a
// client requesting keystone through the VIP every 50 ms, and returns a
// row per fault. only, when non-empty, selects faults by ID. It stops at
// the first fault that leaves the cluster unusable.
func RunFaults(ctx context.Context, c *Cluster, set AgentSet, only map[int]bool, log io.Writer) []FaultResult {
	l := &logger{w: log, start: time.Now()}
	var rows []FaultResult
	cl, err := NewClient(ClientNetNS(), 2)
	if err != nil {
		return []FaultResult{{Set: set.Name, Name: "client", Err: err}}
	}
	defer cl.Close()
	for _, f := range Faults {
		if len(only) > 0 && !only[f.ID] {
			continue
		}
		exp, why := f.Expect(set)
		r := FaultResult{Set: set.Name, ID: f.ID, Name: f.Name, Expect: exp}
		if exp == Skip {
			r.Skip, r.OK = why, true
			l.Printf("fault %d (%s): skipped: %s", f.ID, f.Name, why)
			rows = append(rows, r)
			continue
		}
		l.Printf("fault %d (%s) with %s agents", f.ID, f.Name, set.Name)
		r = runFault(ctx, c, set, cl, f, r, l)
		if exp == NoRecovery && why != "" {
			r.Outcome += " (" + why + ")"
		}
		rows = append(rows, r)
		l.Printf("  -> %s", rowText(r))
		if r.Err != nil {
			l.Printf("  stopping: the cluster may not be usable after this error")
			break
		}
	}
	return rows
}

func runFault(ctx context.Context, c *Cluster, set AgentSet, cl *Client, f Fault, r FaultResult, l *logger) FaultResult {
	fctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	p, err := StartProber(fmt.Sprintf("http://%s:%d/v3", VIP, KeystonePort), 50*time.Millisecond, time.Second)
	if err != nil {
		r.Err = err
		return r
	}
	// A healthy start: a successful answer before the fault.
	warm, wcancel := context.WithTimeout(fctx, 20*time.Second)
	_, err = p.WaitFor(warm, time.Now(), func(a Attempt) bool { return a.OK })
	wcancel()
	if err != nil {
		p.Stop()
		r.Err = fmt.Errorf("no answer through the VIP before the fault: %w", err)
		return r
	}
	env := &FaultEnv{C: c, P: p, Set: set, T0: time.Now(), client: cl}
	restore, err := f.Inject(fctx, env, &r)
	// Keep watching a moment after the outcome: late failures count.
	time.Sleep(time.Second)
	p.Stop()
	r.Client = Summarize(p.Attempts(env.T0), env.T0)
	if err != nil {
		r.Err = err
	}
	if restore != nil {
		if rerr := restore(fctx); rerr != nil && r.Err == nil {
			r.Err = fmt.Errorf("restoring after the fault: %w", rerr)
		}
	}
	if r.Err == nil && f.ID != 8 {
		if err := c.Cleanup(fctx); err != nil {
			r.Err = err
		} else if err := c.WaitSettled(fctx, 90*time.Second); err != nil {
			r.Err = fmt.Errorf("the cluster did not settle after the fault: %w", err)
		}
	}
	switch r.Expect {
	case Recover:
		r.OK = r.Err == nil && r.Recovery > 0 && r.Bad == ""
	case NoRecovery:
		r.OK = r.Err == nil && r.Recovery == 0
	}
	return r
}

// since returns the time since the fault.
func (f *FaultEnv) since() time.Duration { return time.Since(f.T0) }

// waitUntil polls cond every 100 ms up to limit; it returns the time from
// the fault at which cond first held, 0 when it never did.
func (f *FaultEnv) waitUntil(ctx context.Context, limit time.Duration, cond func(context.Context) bool) time.Duration {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		if cond(ctx) {
			return f.since()
		}
		select {
		case <-ctx.Done():
			return 0
		case <-time.After(100 * time.Millisecond):
		}
	}
	return 0
}

// failed reports whether Pacemaker has recorded a failure of resource on
// node (any operation).
func (f *FaultEnv) failed(ctx context.Context, resource, node string) bool {
	_, ok := f.failure(ctx, resource, node)
	return ok
}

// failure returns the failure Pacemaker recorded for resource on node.
func (f *FaultEnv) failure(ctx context.Context, resource, node string) (Failure, bool) {
	st, err := f.C.Status(ctx)
	if err != nil {
		return Failure{}, false
	}
	for _, fl := range st.Failures {
		if strings.HasPrefix(fl.OpKey, resource+"_") && fl.Node == node {
			return fl, true
		}
	}
	return Failure{}, false
}

func (f *FaultEnv) settled(ctx context.Context) bool {
	st, err := f.C.Status(ctx)
	return err == nil && f.C.Settled(st) == nil
}

// answeredBy waits for a successful request through the VIP, started after
// the fault, answered by node; it returns when it ended (0: none in limit).
func (f *FaultEnv) answeredBy(ctx context.Context, node string, limit time.Duration) time.Duration {
	wctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	a, err := f.P.WaitFor(wctx, f.T0, func(a Attempt) bool { return a.OK && a.Node == node })
	if err != nil {
		return 0
	}
	return a.End.Sub(f.T0)
}

// keystoneUp reports whether keystone answers on node's own address.
func (f *FaultEnv) keystoneUp(ctx context.Context, n *Node) bool {
	r, err := f.client.Get(ctx, fmt.Sprintf("http://%s:%d/v3", n.Addr, KeystonePort), 500*time.Millisecond)
	return err == nil && r.Status == 200
}

func (f *FaultEnv) active(ctx context.Context) (*Node, error) { return f.C.VIPNode(ctx) }

func faultStandby(ctx context.Context, f *FaultEnv, r *FaultResult) (func(context.Context) error, error) {
	from, err := f.active(ctx)
	if err != nil {
		return nil, err
	}
	to := f.C.Other(from)
	r.NoDetect = true
	f.T0 = time.Now()
	if err := f.C.Standby(ctx, from, true); err != nil {
		return nil, err
	}
	r.Recovery = f.answeredBy(ctx, to.Name, recoveryLimit)
	if r.Recovery == 0 {
		return nil, fmt.Errorf("no answer from %s after %s went to standby", to.Name, from.Name)
	}
	if err := f.C.WaitSettled(ctx, 60*time.Second); err != nil {
		return nil, err
	}
	back := time.Now()
	if err := f.C.Standby(ctx, from, false); err != nil {
		return nil, err
	}
	if err := f.C.WaitSettled(ctx, 60*time.Second); err != nil {
		return nil, err
	}
	// Once back, the node's keystone starts behind haproxy's health checks:
	// count what failed from then on apart.
	time.Sleep(3 * time.Second)
	var afterBack int
	for _, a := range f.P.Attempts(back) {
		if !a.OK {
			afterBack++
		}
	}
	now, err := f.active(ctx)
	if err != nil {
		return nil, err
	}
	if now != to {
		r.Recovery = 0
		return nil, fmt.Errorf("the VIP moved back to %s when it came back online (stickiness)", now.Name)
	}
	r.Outcome = fmt.Sprintf("VIP %s -> %s; stayed on %s when %s came back", from.Name, to.Name, to.Name, from.Name)
	if afterBack > 0 {
		r.Outcome += fmt.Sprintf(" (%d of the failed requests came after %s was back, while its services started)", afterBack, from.Name)
	}
	return nil, nil
}

// detect waits for Pacemaker's first failure record of resource on node
// and records when it came; false, with the outcome said, if it never did.
func (f *FaultEnv) detect(ctx context.Context, r *FaultResult, resource, node string) bool {
	r.Detected = f.waitUntil(ctx, recoveryLimit, func(ctx context.Context) bool { return f.failed(ctx, resource, node) })
	if r.Detected == 0 {
		r.Outcome = "not detected"
		return false
	}
	return true
}

func faultKillHAProxy(ctx context.Context, f *FaultEnv, r *FaultResult) (func(context.Context) error, error) {
	n, err := f.active(ctx)
	if err != nil {
		return nil, err
	}
	m, err := n.HAProxyMaster()
	if err != nil {
		return nil, err
	}
	f.T0 = time.Now()
	if err := n.Signal(m.Pid, syscall.SIGKILL); err != nil {
		return nil, err
	}
	if !f.detect(ctx, r, "haproxy", n.Name) {
		return nil, nil
	}
	r.Recovery = f.waitUntil(ctx, recoveryLimit, func(ctx context.Context) bool {
		nm, err := n.HAProxyMaster()
		return err == nil && nm.Pid != m.Pid && f.settled(ctx)
	})
	r.Outcome = fmt.Sprintf("haproxy on %s restarted by Pacemaker", n.Name)
	return nil, nil
}

func vipOn(ctx context.Context, n *Node) bool {
	out, err := n.Run(ctx, "ip", "-brief", "-4", "addr", "show", "dev", "eth0")
	return err == nil && strings.Contains(out, " "+VIP+"/")
}

func faultDeleteVIP(ctx context.Context, f *FaultEnv, r *FaultResult) (func(context.Context) error, error) {
	n, err := f.active(ctx)
	if err != nil {
		return nil, err
	}
	f.T0 = time.Now()
	if _, err := run(ctx, "ip", "-n", Prefix+n.Name, "addr", "del", fmt.Sprintf("%s/%d", VIP, VIPPrefix), "dev", "eth0"); err != nil {
		return nil, err
	}
	if !f.detect(ctx, r, VIPResource, n.Name) {
		return nil, nil
	}
	r.Recovery = f.waitUntil(ctx, recoveryLimit, func(ctx context.Context) bool {
		return (vipOn(ctx, n) || vipOn(ctx, f.C.Other(n))) && f.settled(ctx)
	})
	where, _ := f.active(ctx)
	if where != nil {
		r.Outcome = "VIP restored on " + where.Name
	}
	return nil, nil
}

func faultKillKeystone(ctx context.Context, f *FaultEnv, r *FaultResult) (func(context.Context) error, error) {
	n, err := f.active(ctx)
	if err != nil {
		return nil, err
	}
	k, err := n.Keystone()
	if err != nil {
		return nil, err
	}
	f.T0 = time.Now()
	if err := n.Signal(k.Pid, syscall.SIGKILL); err != nil {
		return nil, err
	}
	if !f.detect(ctx, r, "keystone", n.Name) {
		return nil, nil
	}
	r.Recovery = f.waitUntil(ctx, recoveryLimit, func(ctx context.Context) bool { return f.keystoneUp(ctx, n) })
	r.Outcome = fmt.Sprintf("keystone on %s restarted; requests went to the other node meanwhile", n.Name)
	return nil, nil
}

func faultStopKeystone(ctx context.Context, f *FaultEnv, r *FaultResult) (func(context.Context) error, error) {
	n, err := f.active(ctx)
	if err != nil {
		return nil, err
	}
	k, err := n.Keystone()
	if err != nil {
		return nil, err
	}
	f.T0 = time.Now()
	if err := n.Signal(k.Pid, syscall.SIGSTOP); err != nil {
		return nil, err
	}
	// The hung process must not outlive the fault: SIGCONT if it is still
	// the same process inside the node.
	restore := func(context.Context) error {
		if inNetNS(k.Pid, n.netIno()) {
			return n.Signal(k.Pid, syscall.SIGCONT)
		}
		return nil
	}
	limit := recoveryLimit
	if r.Expect == NoRecovery {
		limit = noRecoveryWindow
	}
	r.Detected = f.waitUntil(ctx, limit, func(ctx context.Context) bool { return f.failed(ctx, "keystone", n.Name) })
	if r.Detected == 0 {
		r.Outcome = fmt.Sprintf("hung keystone not detected in %s", limit)
		return restore, nil
	}
	// The monitor must fail by itself within its timeout: a failure
	// Pacemaker records as a timeout means the agent hung with the service.
	fl, _ := f.failure(ctx, "keystone", n.Name)
	how := fmt.Sprintf("%s %s: %s", fl.Task, fl.ExitStatus, fl.ExitReason)
	if strings.Contains(strings.ToLower(fl.Status), "time") {
		r.Bad = "the monitor hung until Pacemaker's timeout (" + fl.Status + ")"
		how = r.Bad
	}
	// The replacement takes as long as the stop of a stopped process
	// takes (up to the stop timeout): wait for it, up to two minutes.
	r.Recovery = f.waitUntil(ctx, 2*time.Minute, func(ctx context.Context) bool { return f.keystoneUp(ctx, n) })
	r.Outcome = fmt.Sprintf("%s; keystone on %s replaced", how, n.Name)
	if r.Recovery == 0 {
		r.Outcome = fmt.Sprintf("%s; keystone on %s not replaced within 2 min", how, n.Name)
	}
	return restore, nil
}

func faultBrokenReload(ctx context.Context, f *FaultEnv, r *FaultResult) (func(context.Context) error, error) {
	n, err := f.active(ctx)
	if err != nil {
		return nil, err
	}
	cfg := f.C.Paths().HAProxyCfg
	good, err := os.ReadFile(cfg)
	if err != nil {
		return nil, err
	}
	restore := func(context.Context) error { return os.WriteFile(cfg, good, 0o644) }
	before, err := n.HAProxyMaster()
	if err != nil {
		return nil, err
	}
	f.T0 = time.Now()
	broken := string(good) + "\nbackend shc-broken\n  server broken 192.0.2.250:notaport\n"
	if err := os.WriteFile(cfg, []byte(broken), 0o644); err != nil {
		return restore, err
	}
	// The reload an operator asks for: the agent's reload action with the
	// resource's parameters, inside the node.
	out, rerr := n.Run(ctx, "env", "OCF_ROOT=/usr/lib/ocf", "OCF_RESOURCE_INSTANCE=haproxy",
		"OCF_RESKEY_config="+cfg, "OCF_RESKEY_CRM_meta_timeout=20000", "/usr/lib/ocf/resource.d/stackha/haproxy", "reload")
	if rerr == nil {
		r.Outcome = "reload of a broken configuration succeeded"
		return restore, nil
	}
	reason := ""
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "ocf-exit-reason:") {
			reason = strings.TrimPrefix(l, "ocf-exit-reason:")
		}
	}
	r.Detected = f.since()
	// The old haproxy keeps serving: same master, answers through the VIP.
	time.Sleep(2 * time.Second)
	after, err := n.HAProxyMaster()
	if err != nil || after.Pid != before.Pid {
		r.Outcome = "haproxy master replaced or gone after a failed reload"
		return restore, nil
	}
	if f.answeredBy(ctx, n.Name, 5*time.Second) == 0 {
		r.Outcome = "no answer after the failed reload"
		return restore, nil
	}
	r.Recovery = r.Detected
	r.Outcome = fmt.Sprintf("reload refused (%s); old haproxy kept serving", strings.TrimSpace(reason))
	return restore, nil
}

// faultLinkDown takes the active node's link away as a pulled cable or a
// dead switch port does: the switch's end of the node's veth goes down, so
// the node's eth0 loses its carrier (an administrative "ip link set eth0
// down" inside the node is undone by any agent's start, as IPaddr2's is).
func faultLinkDown(ctx context.Context, f *FaultEnv, r *FaultResult) (func(context.Context) error, error) {
	n, err := f.active(ctx)
	if err != nil {
		return nil, err
	}
	other := f.C.Other(n)
	port := "s-" + n.Name
	f.T0 = time.Now()
	if _, err := run(ctx, "ip", "-n", swNS, "link", "set", port, "down"); err != nil {
		return nil, err
	}
	restore := func(ctx context.Context) error {
		_, err := run(ctx, "ip", "-n", swNS, "link", "set", port, "up")
		return err
	}
	limit := recoveryLimit
	if r.Expect == NoRecovery {
		limit = noRecoveryWindow
	}
	detected := make(chan time.Duration, 1)
	dctx, cancel := context.WithCancel(ctx)
	go func() {
		detected <- f.waitUntil(dctx, limit, func(ctx context.Context) bool { return f.failed(ctx, VIPResource, n.Name) })
	}()
	r.Recovery = f.answeredBy(ctx, other.Name, limit)
	if r.Recovery > 0 {
		// Detection, when it comes, comes before the move.
		select {
		case r.Detected = <-detected:
		case <-time.After(2 * time.Second):
		}
	}
	cancel()
	if r.Detected == 0 {
		r.Detected = <-detected
	}
	if r.Recovery == 0 {
		r.Outcome = fmt.Sprintf("VIP stayed on %s without carrier for %s", n.Name, limit)
		return restore, nil
	}
	r.Outcome = fmt.Sprintf("VIP moved %s -> %s", n.Name, other.Name)
	return restore, nil
}

func faultKillCorosync(ctx context.Context, f *FaultEnv, r *FaultResult) (func(context.Context) error, error) {
	n, err := f.active(ctx)
	if err != nil {
		return nil, err
	}
	other := f.C.Other(n)
	pid := f.C.Pid(n, "corosync")
	if pid == 0 {
		return nil, fmt.Errorf("corosync on %s is not running", n.Name)
	}
	f.T0 = time.Now()
	if err := n.Signal(pid, syscall.SIGKILL); err != nil {
		return nil, err
	}
	r.Detected = f.waitUntil(ctx, recoveryLimit, func(ctx context.Context) bool {
		st, err := f.C.StatusOn(ctx, other)
		if err != nil {
			return false
		}
		ns, ok := st.Node(n.Name)
		return ok && !ns.Online
	})
	r.Recovery = f.answeredBy(ctx, other.Name, recoveryLimit)
	if r.Recovery == 0 {
		r.Outcome = fmt.Sprintf("%s did not take over", other.Name)
		return nil, nil
	}
	r.Outcome = fmt.Sprintf("%s took over (without fencing %s keeps its VIP copy: the survivor's gratuitous ARP wins)", other.Name, n.Name)
	return nil, nil
}

// FormatResults renders rows as a Markdown table.
func FormatResults(rows []FaultResult) string {
	var b strings.Builder
	b.WriteString("| agents | # | fault | failed / total requests | client outage | detected | recovered | outcome |\n")
	b.WriteString("|---|---|---|---|---|---|---|---|\n")
	for _, r := range rows {
		if r.Skip != "" {
			fmt.Fprintf(&b, "| %s | %d | %s | - | - | - | - | not run: %s |\n", r.Set, r.ID, r.Name, r.Skip)
			continue
		}
		outcome := r.Outcome
		if r.Bad != "" {
			outcome += " [" + r.Bad + "]"
		}
		if r.Err != nil {
			outcome = "ERROR: " + r.Err.Error()
		}
		if !r.OK {
			outcome = "**UNEXPECTED** " + outcome
		}
		fmt.Fprintf(&b, "| %s | %d | %s | %d / %d | %s | %s | %s | %s |\n", r.Set, r.ID, r.Name,
			r.Client.Failed, r.Client.Total, dur(r.Client.Outage, r.Client.Failed > 0), detected(r), dur(r.Recovery, true),
			strings.ReplaceAll(outcome, "|", "/"))
	}
	return b.String()
}

func dur(d time.Duration, applies bool) string {
	if !applies {
		return "0"
	}
	if d == 0 {
		return "never"
	}
	return fmt.Sprintf("%.2f s", d.Seconds())
}

func detected(r FaultResult) string {
	if r.NoDetect {
		return "-"
	}
	return dur(r.Detected, true)
}

func rowText(r FaultResult) string {
	s := fmt.Sprintf("failed %d/%d (from %.2fs to %.2fs), outage %s, detected %s, recovered %s, answers by node %v, last error %q: %s",
		r.Client.Failed, r.Client.Total, r.Client.FirstFail.Seconds(), r.Client.LastFail.Seconds(),
		dur(r.Client.Outage, r.Client.Failed > 0), detected(r), dur(r.Recovery, true), r.Client.ByNode, r.Client.LastErr, r.Outcome)
	if r.Err != nil {
		s += " ERROR: " + r.Err.Error()
	}
	return s
}
