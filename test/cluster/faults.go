package cluster

import (
	"context"
	"fmt"
	"io"
	"net/netip"
	"os"
	"strings"
	"time"

	"github.com/stackha/stackha/test/cluster/harness"
	"github.com/stackha/stackha/test/cluster/watch"
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
	Client   harness.Summary
	Detected time.Duration // from the fault to Pacemaker's first failure record; 0: none
	Recovery time.Duration // from the fault to recovered; 0: not recovered
	Outcome  string
	NoDetect bool // detection does not apply (an operator's action)
	// Bad is set when the fault was handled, but not as it must be (a
	// monitor that Pacemaker had to time out instead of one that failed).
	Bad string
	OK  bool // met its expectation
	Err error
	// Split is what the split-brain watcher counted from before the fault
	// until the cluster settled again (Watched: it ran throughout).
	Split   watch.Result
	Watched bool
}

// Fault is one injected failure.
type Fault struct {
	ID     int
	Name   string
	Expect func(Setup) (Expectation, string)
	// Inject does the harm and observes; it fills Detected, Recovery and
	// Outcome, and returns a function that undoes what the cluster does
	// not undo itself (nil when nothing is left to undo).
	Inject func(ctx context.Context, f *faultEnv, r *FaultResult) (restore func(context.Context) error, err error)
	// ClientTimeout bounds each client request (1 s when zero).
	ClientTimeout time.Duration
	// Queue: on a stateful cluster, the results' client columns count
	// the queue's client (heat's stack lists), not the writes.
	Queue bool
	// Budget bounds the whole fault, settling included (5 minutes when
	// zero).
	Budget time.Duration
}

// faultEnv is what a fault works with.
type faultEnv struct {
	C *harness.Cluster
	P *harness.Prober // keystone through the VIP, answers name the node
	// W issues keystone tokens through the VIP (writes) with SHC_WRITES=1
	// on a cluster with keystone; nil otherwise.
	W *harness.Prober
	// token and prefix are the stateful client's: an admin token, and
	// the names of its projects (prefix-N).
	token, prefix string
	// Q lists heat's stacks through the VIP (an RPC call from heat-api
	// to an engine through RabbitMQ) on a stateful cluster with heat.
	Q *harness.Prober
	// R writes then reads on placement through the VIP (writes.go) with
	// SHC_WRITES=1 where the cluster runs it, as admin (rpToken).
	R       *harness.Prober
	rpToken string
	// moves are the VIP's moves a fault made (its resets counted apart);
	// strict: the fault fails on any failed write (fault 14).
	moves  []window
	strict bool
	Set    harness.AgentSet
	Setup  Setup
	T0     time.Time
	client *harness.Client
	log    *harness.Logger
}

// observation window for faults a set cannot recover from, and the limit
// for those it should.
const (
	noRecoveryWindow = 15 * time.Second
	recoveryLimit    = 45 * time.Second
)

func always(Setup) (Expectation, string) { return Recover, "" }

// Setup is the cluster a fault runs on: its agents, nodes and fencing.
type Setup struct {
	Set     harness.AgentSet
	Nodes   int
	Fencing bool
	// Keystone: the cluster runs keystone (faults 5 and 6 need it).
	Keystone bool
	// Kind is what the nodes are (lab nodes or systemd nodes).
	Kind harness.NodeKind
	// Stateful: Galera and RabbitMQ run in the cluster, keystone on
	// Galera (faults 16-19 need it).
	Stateful bool
	// Keepalived: the comparison, keepalived + haproxy from their units
	// without Pacemaker (fault 14 only).
	Keepalived bool
	// Heat: heat-api and heat-engine run on the stateful tier (fault 20).
	Heat bool
	// TLS: the front door, a public VIP over TLS and an internal VIP
	// (fault 21 needs it).
	TLS bool
}

// Label names the setup in the results: "stackha, 3 nodes, fencing".
func (s Setup) Label() string {
	mode := "lab mode (no fencing)"
	if s.Fencing {
		mode = "fencing"
	}
	if s.Kind == harness.SystemdNodes {
		mode += ", systemd nodes"
	}
	if s.Stateful {
		mode += ", Galera and RabbitMQ"
	}
	if s.TLS {
		mode += ", TLS, two VIPs"
	}
	if s.Keepalived {
		return fmt.Sprintf("keepalived + haproxy, %d nodes, systemd nodes", s.Nodes)
	}
	return fmt.Sprintf("%s, %d nodes, %s", s.Set.Name, s.Nodes, mode)
}

// setupOf returns the cluster's setup.
func setupOf(c *harness.Cluster) Setup {
	return Setup{Set: c.Opts().Agents, Nodes: len(c.Nodes), Fencing: c.Opts().Fencing, Keystone: c.Opts().Keystone, Kind: c.Opts().Kind, Stateful: c.Opts().Stateful,
		Heat: c.Heat(), Keepalived: c.Opts().Keepalived, TLS: c.TLS()}
}

// Faults are the failures the issues list, in the order they run on one
// cluster (link down and node loss last: they change the most). Faults
// 9-13 need fencing (and 10-11 three nodes, 12 exactly two).
var Faults = []Fault{
	{ID: 1, Name: "node standby and back (stickiness)", Expect: always, Inject: faultStandby},
	{ID: 2, Name: "kill -9 haproxy master on the active node", Expect: always, Inject: faultKillHAProxy},
	{ID: 3, Name: "VIP deleted behind Pacemaker's back", Expect: always, Inject: faultDeleteVIP},
	{ID: 5, Name: "keystone killed on the active node", Expect: withKeystone(always), Inject: faultKillKeystone},
	{ID: 6, Name: "keystone hung (SIGSTOP) on the active node", Expect: withKeystone(func(s Setup) (Expectation, string) {
		if !s.Set.Stackha("keystone") {
			return NoRecovery, "ocf:heartbeat:anything only checks the pid"
		}
		return Recover, ""
	}), Inject: faultStopKeystone},
	{ID: 7, Name: "broken haproxy.cfg, then reload", Expect: func(s Setup) (Expectation, string) {
		if !s.Set.Stackha("haproxy") {
			return Skip, "needs ocf:stackha:haproxy (haproxy via ocf:heartbeat:anything has no reload)"
		}
		return Recover, ""
	}, Inject: faultBrokenReload},
	{ID: 21, Name: "TLS certificate replaced and reloaded under client load (a handshake per request)", Expect: withTLS, Inject: faultRotate},
	// A client's connect that meets the VIP's move is answered after one
	// SYN retransmission (1 s): the rolling restart's client waits 3 s.
	{ID: 14, Name: "rolling restart of Pacemaker under client load (3 s client timeout)", Expect: always, Inject: faultRolling,
		ClientTimeout: 3 * time.Second, Budget: 20 * time.Minute},
	// A drain on the old holder must not hold the VIP's move.
	{ID: 15, Name: "VIP's node in standby as another comes back, a request held open through the VIP (3 s client timeout)", Expect: func(s Setup) (Expectation, string) {
		switch {
		case s.Nodes < 3:
			// The returning node is the only place left for the VIP,
			// and a clone starts its instance there after the old
			// one's stop: the drain.
			return Skip, "needs a third node whose haproxy listens"
		case !(s.Keystone && s.Set.Render && s.Set.Stackha("haproxy")):
			return Skip, "needs render's haproxy-listening preference, set by ocf:stackha:haproxy (the harness's own configuration has none)"
		}
		return Recover, ""
	},
		Inject: faultDrainMove, ClientTimeout: 3 * time.Second},
	{ID: 4, Name: "active node's link down (switch port down: no carrier)", Expect: func(s Setup) (Expectation, string) {
		if !s.Set.Stackha("vip") {
			return NoRecovery, "IPaddr2 does not look at the link"
		}
		return Recover, ""
	}, Inject: faultLinkDown},
	{ID: 8, Name: "corosync killed on the active node", Expect: always, Inject: faultKillCorosync},
	{ID: 9, Name: "power loss of the VIP holder", Expect: needs(2, true), Inject: faultPowerLoss},
	{ID: 10, Name: "VIP holder cut from the corosync ring only", Expect: needs(3, true), Inject: faultRingCut},
	{ID: 11, Name: "a node cut from everything (minority)", Expect: needs(3, true), Inject: faultIsolate},
	{ID: 12, Name: "two nodes, ring cut: fence race", Expect: needsExactly(2, true), Inject: faultFenceRace},
	{ID: 13, Name: "fence device fails while the VIP holder is lost", Expect: needs(2, true), Inject: faultDeviceFails},
	// The stateful tier (inject_stateful.go): the client writes.
	{ID: 18, Name: "kill -9 mariadbd on the database writer", Expect: statefulOnly, Inject: faultKillMariadb},
	{ID: 16, Name: "power loss of the database writer", Expect: statefulOnly, Inject: faultWriterPowerLoss},
	{ID: 17, Name: "database writer cut from the corosync ring", Expect: statefulOnly, Inject: faultWriterRingCut},
	{ID: 19, Name: "every node loses power, and gets it back", Expect: statefulOnly, Inject: faultWholeCluster, Budget: 12 * time.Minute},
	{ID: 20, Name: "kill -9 RabbitMQ on the node holding heat's RPC queue, under load", Expect: withHeat, Inject: faultKillRabbit, Queue: true},
}

// withKeystone skips a keystone fault on a cluster without keystone (the
// fenced shapes that serve only haproxy's whoami frontend).
func withKeystone(e func(Setup) (Expectation, string)) func(Setup) (Expectation, string) {
	return func(s Setup) (Expectation, string) {
		if !s.Keystone {
			return Skip, "needs keystone (this cluster runs without it)"
		}
		return e(s)
	}
}

// needs is the expectation of a fault that needs at least nodes nodes and,
// when fencing is set, fencing on.
func needs(nodes int, fencing bool) func(Setup) (Expectation, string) {
	return func(s Setup) (Expectation, string) {
		switch {
		case s.Nodes < nodes:
			return Skip, fmt.Sprintf("needs %d nodes", nodes)
		case fencing && !s.Fencing:
			return Skip, "needs fencing"
		}
		return Recover, ""
	}
}

// needsExactly is needs for a fault about exactly that many nodes.
func needsExactly(nodes int, fencing bool) func(Setup) (Expectation, string) {
	return func(s Setup) (Expectation, string) {
		if s.Nodes != nodes {
			return Skip, fmt.Sprintf("a %d-node fault", nodes)
		}
		return needs(nodes, fencing)(s)
	}
}

// RunFaults injects each fault in turn on the running cluster c, with a
// client requesting through the VIP every 50 ms (keystone, or haproxy's
// whoami frontend on a cluster without keystone) and the split-brain
// watcher on, and returns a row per fault. only, when non-empty, selects
// faults by ID. It stops at the first fault that leaves the cluster
// unusable.
func RunFaults(ctx context.Context, c *harness.Cluster, only map[int]bool, log io.Writer) []FaultResult {
	l := harness.NewLogger(log)
	setup := setupOf(c)
	var rows []FaultResult
	cl, err := harness.NewClient(harness.ClientNetNS(), 2)
	if err != nil {
		return []FaultResult{{Set: setup.Label(), Name: "client", Err: err}}
	}
	defer cl.Close()
	for _, f := range Faults {
		if len(only) > 0 && !only[f.ID] {
			continue
		}
		exp, why := f.Expect(setup)
		if setup.Keepalived && f.ID != 14 {
			exp, why = Skip, "the keepalived comparison on systemd nodes runs fault 14 (test/bench/failover replays the others)"
		}
		r := FaultResult{Set: setup.Label(), ID: f.ID, Name: f.Name, Expect: exp}
		if exp == Skip {
			r.Skip, r.OK = why, true
			l.Printf("fault %d (%s): skipped: %s", f.ID, f.Name, why)
			rows = append(rows, r)
			continue
		}
		l.Printf("fault %d (%s), %s", f.ID, f.Name, setup.Label())
		r = runFault(ctx, c, setup, cl, f, r, l)
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

// probeURL is what the fault client requests through the VIP.
func probeURL(c *harness.Cluster) string {
	if c.Opts().Keystone {
		return c.KeystoneURL() + "/v3"
	}
	return fmt.Sprintf("http://%s:%d/", harness.VIP, harness.WhoamiPort)
}

func runFault(ctx context.Context, c *harness.Cluster, setup Setup, cl *harness.Client, f Fault, r FaultResult, l *harness.Logger) FaultResult {
	budget := f.Budget
	if budget == 0 {
		budget = 5 * time.Minute
	}
	fctx, cancel := context.WithTimeout(ctx, budget)
	defer cancel()
	w, err := watch.Start(fctx, watch.Options{NetNS: harness.ClientNetNS(), VIP: netip.MustParseAddr(harness.VIP)})
	if err != nil {
		r.Err = fmt.Errorf("starting the split-brain watcher: %w", err)
		return r
	}
	defer w.Stop()
	timeout := f.ClientTimeout
	if timeout == 0 {
		timeout = time.Second
	}
	p, err := harness.StartProber(probeURL(c), 50*time.Millisecond, timeout)
	if err != nil {
		r.Err = err
		return r
	}
	// A healthy start: a successful answer before the fault.
	warm, wcancel := context.WithTimeout(fctx, 20*time.Second)
	_, err = p.WaitFor(warm, time.Now(), func(a harness.Attempt) bool { return a.OK })
	wcancel()
	if err != nil {
		p.Stop()
		r.Err = fmt.Errorf("no answer through the VIP before the fault: %w", err)
		return r
	}
	env := &faultEnv{C: c, P: p, Set: setup.Set, Setup: setup, T0: time.Now(), client: cl, log: l}
	if setup.Stateful {
		if err := startStatefulClients(fctx, cl, env, f); err != nil {
			p.Stop()
			r.Err = err
			return r
		}
	} else if os.Getenv("SHC_WRITES") == "1" && c.Opts().Keystone {
		if env.W, err = harness.StartWriter(c.KeystoneURL(), writeEvery(), 20*time.Second); err != nil {
			p.Stop()
			r.Err = err
			return r
		}
		if c.Placement() {
			if err := startProviderWriter(fctx, cl, env, f); err != nil {
				p.Stop()
				env.W.Stop()
				r.Err = err
				return r
			}
		}
		env.T0 = time.Now()
	}
	restore, err := f.Inject(fctx, env, &r)
	if setup.Stateful && err == nil {
		queueBack(fctx, env, &r)
	}
	// Keep watching a moment after the outcome: late failures count.
	time.Sleep(time.Second)
	p.Stop()
	if env.W != nil {
		env.W.Stop()
	}
	if env.R != nil {
		env.R.Stop()
	}
	r.Client = harness.Summarize(p.Attempts(env.T0), env.T0)
	if setup.Stateful {
		summarizeStateful(env, f, &r)
	}
	if err != nil {
		r.Err = err
	}
	if restore != nil {
		if rerr := restore(fctx); rerr != nil && r.Err == nil {
			r.Err = fmt.Errorf("restoring after the fault: %w", rerr)
		}
	}
	if setup.Keepalived && r.Err == nil {
		if err := c.WaitKeepalivedSteady(fctx, 90*time.Second); err != nil {
			r.Err = fmt.Errorf("keepalived not steady after the fault: %w", err)
		}
	}
	// Without fencing, the node that lost corosync (fault 8) stays out.
	if r.Err == nil && !setup.Keepalived && (f.ID != 8 || setup.Fencing) {
		if err := c.WaitOnline(fctx, 90*time.Second); err != nil {
			r.Err = fmt.Errorf("a node did not rejoin after the fault: %w", err)
		} else if err := c.Cleanup(fctx); err != nil {
			r.Err = err
		} else if err := c.WaitSettled(fctx, harness.StartLimit); err != nil {
			r.Err = fmt.Errorf("the cluster did not settle after the fault: %w", err)
		}
	}
	if setup.Stateful && r.Err == nil {
		readBack(fctx, cl, env, &r)
	}
	if env.R != nil && r.Err == nil {
		providerWrites(fctx, cl, env, env.strict, &r)
	}
	res, werr := w.Stop()
	r.Split, r.Watched = res, werr == nil
	if werr != nil && r.Err == nil {
		r.Err = fmt.Errorf("split-brain watcher: %w", werr)
	}
	if res.SplitBrain > 0 && r.Bad == "" && setup.Fencing {
		r.Bad = fmt.Sprintf("split brain: %d samples answered by two MACs", res.SplitBrain)
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
func (f *faultEnv) since() time.Duration { return time.Since(f.T0) }

// waitUntil polls cond every 100 ms up to limit; it returns the time from
// the fault at which cond first held, 0 when it never did.
func (f *faultEnv) waitUntil(ctx context.Context, limit time.Duration, cond func(context.Context) bool) time.Duration {
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
func (f *faultEnv) failed(ctx context.Context, resource, node string) bool {
	_, ok := f.failure(ctx, resource, node)
	return ok
}

// failure returns the failure Pacemaker recorded for resource on node.
func (f *faultEnv) failure(ctx context.Context, resource, node string) (harness.Failure, bool) {
	st, err := f.C.Status(ctx)
	if err != nil {
		return harness.Failure{}, false
	}
	for _, fl := range st.Failures {
		if strings.HasPrefix(fl.OpKey, resource+"_") && fl.Node == node {
			return fl, true
		}
	}
	return harness.Failure{}, false
}

func (f *faultEnv) settled(ctx context.Context) bool {
	st, err := f.C.Status(ctx)
	return err == nil && f.C.Settled(st) == nil
}

// answeredBy waits for a successful request through the VIP, started after
// the fault, answered by node; it returns when it ended (0: none in limit).
func (f *faultEnv) answeredBy(ctx context.Context, node string, limit time.Duration) time.Duration {
	wctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	a, err := f.P.WaitFor(wctx, f.T0, func(a harness.Attempt) bool { return a.OK && a.Node == node })
	if err != nil {
		return 0
	}
	return a.End.Sub(f.T0)
}

// answeredByOther waits for a successful request through the VIP, started
// after the fault, answered by a node other than not; it returns when it
// ended (0: none in limit) and the node.
func (f *faultEnv) answeredByOther(ctx context.Context, not *harness.Node, limit time.Duration) (time.Duration, *harness.Node) {
	wctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	a, err := f.P.WaitFor(wctx, f.T0, func(a harness.Attempt) bool { return a.OK && a.Node != "" && a.Node != not.Name })
	if err != nil {
		return 0, nil
	}
	return a.End.Sub(f.T0), f.C.Node(a.Node)
}

// keystoneUp reports whether keystone answers on node's own address.
func (f *faultEnv) keystoneUp(ctx context.Context, n *harness.Node) bool {
	r, err := f.client.Get(ctx, fmt.Sprintf("http://%s:%d/v3", n.Addr, harness.KeystonePort), 500*time.Millisecond)
	return err == nil && r.Status == 200
}

func (f *faultEnv) active(ctx context.Context) (*harness.Node, error) { return f.C.VIPNode(ctx) }

// detect waits for Pacemaker's first failure record of resource on node
// and records when it came; false, with the outcome said, if it never did.
func (f *faultEnv) detect(ctx context.Context, r *FaultResult, resource, node string) bool {
	r.Detected = f.waitUntil(ctx, recoveryLimit, func(ctx context.Context) bool { return f.failed(ctx, resource, node) })
	if r.Detected == 0 {
		r.Outcome = "not detected"
		return false
	}
	return true
}

// writeEvery is how often the writer issues a token: $SHC_WRITE_EVERY
// (25 ms to 10 s; make bench-maintenance asks for more writes in flight
// than the default's few), else 250 ms.
func writeEvery() time.Duration {
	if d, err := time.ParseDuration(os.Getenv("SHC_WRITE_EVERY")); err == nil && d >= 25*time.Millisecond && d <= 10*time.Second {
		return d
	}
	return 250 * time.Millisecond
}
