package cluster

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/stackha/stackha/test/cluster/harness"
)

// The stateful tier's faults (issue 24): on three fenced systemd nodes with
// Galera and RabbitMQ, keystone on Galera, a client creating a keystone
// project through the VIP every SHC_WRITE_EVERY (a row in Galera each), and
// every acknowledged project read back once the cluster has settled again
// (runFault). The results table's client columns count those writes.

// statefulOnly is the expectation of a fault of the stateful tier.
func statefulOnly(s Setup) (Expectation, string) {
	if !s.Stateful {
		return Skip, "needs the stateful tier (SHC_STATEFUL=1: Galera and RabbitMQ)"
	}
	return Recover, ""
}

// statefulLimit bounds a stateful fault's recovery: the writer's loss
// takes haproxy's check (3 failed checks 2 s apart) and, for a whole
// cluster, every node's boot and Galera's bootstrap.
const statefulLimit = 4 * time.Minute

// wholeClusterLimit bounds fault 19's recovery: every node starts
// everything at once on the machine's cores (45 s to 4 minutes measured on
// two); a limit, not a measure.
const wholeClusterLimit = 8 * time.Minute

// writer is the Galera node the VIP's mysql listener sends writes to.
func (f *faultEnv) writer(ctx context.Context) (*harness.Node, error) {
	n, err := f.C.DBWriter(ctx)
	if err != nil {
		return nil, fmt.Errorf("finding the database writer: %w", err)
	}
	return n, nil
}

// writeTimeout bounds each of the stateful client's writes.
const writeTimeout = 10 * time.Second

// writesBack waits until the writes work again: an acknowledged write
// that started after the last failed one, and no write failing since, for
// longer than a write may take (a write to a node that lost power hangs
// until haproxy's check closes it). It returns a positive time from the
// fault when they do (the figure itself is the writer's summary, made
// once it has stopped: runFault), 0 when not within limit.
func (f *faultEnv) writesBack(ctx context.Context, limit time.Duration) time.Duration {
	return f.answersBack(ctx, f.W, limit)
}

// answersBack is writesBack for client p.
func (f *faultEnv) answersBack(ctx context.Context, p *harness.Prober, limit time.Duration) time.Duration {
	return f.waitUntil(ctx, limit, func(context.Context) bool {
		var lastFail, firstOK time.Time
		as := p.Attempts(f.T0)
		for _, a := range as {
			if !a.OK && a.Start.After(lastFail) {
				lastFail = a.Start
			}
		}
		for _, a := range as {
			if a.OK && a.Start.After(lastFail) && (firstOK.IsZero() || a.Start.Before(firstOK)) {
				firstOK = a.Start
			}
		}
		return !firstOK.IsZero() && time.Since(firstOK) > writeTimeout+time.Second
	})
}

// faultWriterPowerLoss (16): the Galera node the VIP's mysql listener
// sends writes to loses power. haproxy's check takes it out and closes its
// sessions (on-marked-down shutdown-sessions); the writes go to the next
// node; Pacemaker fences the lost node (a power cycle), whose Galera
// rejoins by a state transfer and is promoted again.
func faultWriterPowerLoss(ctx context.Context, f *faultEnv, r *FaultResult) (func(context.Context) error, error) {
	n, err := f.writer(ctx)
	if err != nil {
		return nil, err
	}
	vip, _ := f.active(ctx)
	f.T0 = time.Now()
	if err := f.C.PowerOff(ctx, n); err != nil {
		return nil, err
	}
	r.Recovery = f.writesBack(ctx, statefulLimit)
	r.Detected = f.waitFenced(ctx, n, fenceLimit)
	if r.Recovery == 0 {
		r.Outcome = fmt.Sprintf("%s (the writer) powered off; writes never came back", n.Name)
		return nil, nil
	}
	if err := f.waitRebooted(ctx, n); err != nil {
		return nil, err
	}
	now, _ := f.writer(ctx)
	r.Outcome = fmt.Sprintf("%s (the writer; VIP on %s) powered off; fenced at %.2f s; the writes went to Galera on %s",
		n.Name, nodeName(vip), r.Detected.Seconds(), nodeName(now))
	return nil, nil
}

// faultWriterRingCut (17): the writer loses the corosync ring only: its
// Galera still reaches the others on the service network until the
// majority fences it (a power cycle); the writes move then.
func faultWriterRingCut(ctx context.Context, f *faultEnv, r *FaultResult) (func(context.Context) error, error) {
	n, err := f.writer(ctx)
	if err != nil {
		return nil, err
	}
	f.T0 = time.Now()
	if err := f.C.Cut(ctx, n, harness.Ring); err != nil {
		return nil, err
	}
	restore := func(ctx context.Context) error { return f.C.Mend(ctx, n, harness.Ring) }
	r.Detected = f.waitFenced(ctx, n, fenceLimit)
	if r.Detected == 0 {
		r.Outcome = fmt.Sprintf("%s (the writer) cut from the ring: never fenced", n.Name)
		return restore, nil
	}
	r.Recovery = f.writesBack(ctx, statefulLimit)
	if r.Recovery == 0 {
		r.Outcome = fmt.Sprintf("%s (the writer) cut from the ring, fenced at %.2f s; writes never came back", n.Name, r.Detected.Seconds())
		return restore, nil
	}
	if err := f.waitRebooted(ctx, n); err != nil {
		return restore, err
	}
	now, _ := f.writer(ctx)
	r.Outcome = fmt.Sprintf("%s (the writer) cut from the ring; fenced at %.2f s; the writes went to Galera on %s", n.Name, r.Detected.Seconds(), nodeName(now))
	return restore, nil
}

// faultKillMariadb (18): kill -9 of mariadbd on the writer. mysqld_safe,
// which the galera agent starts it with, runs it again; haproxy's check
// takes the node out meanwhile and the writes go to the next node.
func faultKillMariadb(ctx context.Context, f *faultEnv, r *FaultResult) (func(context.Context) error, error) {
	n, err := f.writer(ctx)
	if err != nil {
		return nil, err
	}
	ps := n.Procs(func(p harness.Proc) bool { return p.Comm == "mariadbd" })
	if len(ps) != 1 {
		return nil, fmt.Errorf("%s runs %d mariadbd, want 1", n.Name, len(ps))
	}
	f.T0 = time.Now()
	if _, err := harness.Run(ctx, "kill", "-KILL", fmt.Sprint(ps[0].Pid)); err != nil {
		return nil, err
	}
	r.Recovery = f.writesBack(ctx, statefulLimit)
	if d := f.waitUntil(ctx, 15*time.Second, func(ctx context.Context) bool { return f.failed(ctx, harness.GaleraResource, n.Name) }); d > 0 {
		r.Detected = d
	} else {
		r.NoDetect = true
	}
	again := n.Procs(func(p harness.Proc) bool { return p.Comm == "mariadbd" })
	how := "no Pacemaker failure recorded (mysqld_safe ran it again)"
	if r.Detected > 0 {
		how = fmt.Sprintf("galera's failure recorded at %.2f s", r.Detected.Seconds())
	}
	if r.Recovery == 0 {
		r.Outcome = fmt.Sprintf("mariadbd killed on %s (the writer); writes never came back; %s", n.Name, how)
		return nil, nil
	}
	r.Outcome = fmt.Sprintf("mariadbd (pid %d) killed on %s (the writer); %s; %d mariadbd there now",
		ps[0].Pid, n.Name, how, len(again))
	return nil, nil
}

// faultWholeCluster (19): every node loses power at once, and gets it
// back: Pacemaker starts Galera on each, the agent reads each node's last
// commit and bootstraps from the most advanced one by itself, the others
// join; keystone starts after the promotion.
func faultWholeCluster(ctx context.Context, f *faultEnv, r *FaultResult) (func(context.Context) error, error) {
	f.T0 = time.Now()
	for _, n := range f.C.Nodes {
		if err := f.C.PowerOff(ctx, n); err != nil {
			return nil, err
		}
	}
	off := f.since()
	for _, n := range f.C.Nodes {
		if err := f.C.PowerOn(ctx, n); err != nil {
			return nil, err
		}
	}
	r.NoDetect = true
	r.Recovery = f.writesBack(ctx, wholeClusterLimit)
	if r.Recovery == 0 {
		r.Outcome = "every node powered off and on; writes never came back"
		return nil, nil
	}
	boot := "?"
	if out, err := f.C.Ctl().Script(ctx, "journalctl -u pacemaker --no-pager -o cat | grep -E 'bootstrap node|is bootstrapping' | tail -n 2"); err == nil {
		boot = strings.Join(strings.Fields(strings.ReplaceAll(out, "\n", "; ")), " ")
	}
	r.Outcome = fmt.Sprintf("every node powered off (%.2f s) and on; the agent: %s",
		off.Seconds(), capText(boot, 300))
	return nil, nil
}

// withHeat is the expectation of a fault of heat's queue.
func withHeat(s Setup) (Expectation, string) {
	if e, why := statefulOnly(s); e == Skip {
		return e, why
	}
	if !s.Heat {
		return Skip, "needs heat (SHC_SERVICES=heat-api on the stateful tier)"
	}
	return Recover, ""
}

// faultKillRabbit (20): kill -9 of the Erlang VM of the RabbitMQ node that
// holds heat's RPC queue (the master of the mirrored queue engine), while
// heat's stacks are listed every 250 ms and keystone written: a mirror on
// another node takes over, heat-api and the engines reconnect to another
// node of transport_url, and Pacemaker's rabbitmq-cluster agent brings the
// node back (it joins again with its data wiped).
func faultKillRabbit(ctx context.Context, f *faultEnv, r *FaultResult) (func(context.Context) error, error) {
	n, err := f.C.QueueLeader(ctx, "engine")
	if err != nil {
		return nil, err
	}
	// The server's Erlang VM, by the pid file the agent has it write
	// (not a rabbitmqctl's, which is a beam.smp too).
	out, err := n.Run(ctx, "cat", "/run/rabbitmq/rmq.pid")
	if err != nil {
		return nil, err
	}
	pid := strings.TrimSpace(out)
	ps := n.Procs(func(p harness.Proc) bool { return p.Comm == "beam.smp" && p.PidInNode() == pid })
	if len(ps) != 1 {
		return nil, fmt.Errorf("%s: the RabbitMQ pid file says %q, which is no beam.smp there", n.Name, capText(pid, 40))
	}
	f.T0 = time.Now()
	if _, err := harness.Run(ctx, "kill", "-KILL", fmt.Sprint(ps[0].Pid)); err != nil {
		return nil, err
	}
	r.Detected = f.waitUntil(ctx, recoveryLimit, func(ctx context.Context) bool { return f.failed(ctx, harness.RabbitMQResource, n.Name) })
	back := f.answersBack(ctx, f.Q, statefulLimit)
	if back == 0 {
		r.Outcome = fmt.Sprintf("RabbitMQ (beam.smp pid %d) killed on %s, which held queue engine: heat's calls did not come back", ps[0].Pid, n.Name)
		return nil, nil
	}
	r.Recovery = back
	now, _ := f.C.QueueLeader(ctx, "engine")
	r.Outcome = fmt.Sprintf("RabbitMQ (beam.smp pid %d) killed on %s, which held queue engine; failure recorded at %.2f s; the queue now on %s",
		ps[0].Pid, n.Name, r.Detected.Seconds(), nodeName(now))
	return nil, nil
}

// nodeName is n's name, "?" for none.
func nodeName(n *harness.Node) string {
	if n == nil {
		return "?"
	}
	return n.Name
}

// capText cuts s to at most n bytes.
func capText(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}
