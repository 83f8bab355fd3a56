package cluster

import (
	"context"
	"fmt"
	"os"
	"strings"
	"syscall"
	"time"

	"github.com/stackha/stackha/test/cluster/harness"
)

func faultStandby(ctx context.Context, f *faultEnv, r *FaultResult) (func(context.Context) error, error) {
	from, err := f.active(ctx)
	if err != nil {
		return nil, err
	}
	r.NoDetect = true
	f.T0 = time.Now()
	if err := f.C.Standby(ctx, from, true); err != nil {
		return nil, err
	}
	var to *harness.Node
	r.Recovery, to = f.answeredByOther(ctx, from, recoveryLimit)
	if r.Recovery == 0 {
		return nil, fmt.Errorf("no answer from another node after %s went to standby", from.Name)
	}
	if err := f.C.WaitSettled(ctx, 60*time.Second); err != nil {
		return nil, err
	}
	back := time.Now()
	if err := f.C.Standby(ctx, from, false); err != nil {
		return nil, err
	}
	if err := f.C.WaitSettled(ctx, harness.StartLimit); err != nil {
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

func faultKillHAProxy(ctx context.Context, f *faultEnv, r *FaultResult) (func(context.Context) error, error) {
	n, err := f.killService(ctx, r, "haproxy", (*harness.Node).HAProxyMaster, func(ctx context.Context, n *harness.Node, old harness.Proc) bool {
		nm, err := n.HAProxyMaster()
		return err == nil && nm.Pid != old.Pid && f.settled(ctx)
	})
	if n != nil {
		r.Outcome = fmt.Sprintf("haproxy on %s restarted by Pacemaker", n.Name)
	}
	return nil, err
}

// killService is the "kill a service, wait for recovery" fault: it kills
// (SIGKILL) the process find returns on the node holding the VIP, waits
// for Pacemaker's failure record of resource there (Detected) and then for
// recovered (Recovery). It returns the node; the outcome says "not
// detected" when Pacemaker recorded nothing.
func (f *faultEnv) killService(ctx context.Context, r *FaultResult, resource string, find func(*harness.Node) (harness.Proc, error),
	recovered func(ctx context.Context, n *harness.Node, old harness.Proc) bool) (*harness.Node, error) {
	n, err := f.active(ctx)
	if err != nil {
		return nil, err
	}
	old, err := find(n)
	if err != nil {
		return nil, err
	}
	f.T0 = time.Now()
	if err := n.Signal(old.Pid, syscall.SIGKILL); err != nil {
		return nil, err
	}
	if !f.detect(ctx, r, resource, n.Name) {
		return nil, nil
	}
	r.Recovery = f.waitUntil(ctx, recoveryLimit, func(ctx context.Context) bool { return recovered(ctx, n, old) })
	return n, nil
}

func faultDeleteVIP(ctx context.Context, f *faultEnv, r *FaultResult) (func(context.Context) error, error) {
	n, err := f.active(ctx)
	if err != nil {
		return nil, err
	}
	f.T0 = time.Now()
	if _, err := harness.Run(ctx, "ip", "-n", harness.Prefix+n.Name, "addr", "del", fmt.Sprintf("%s/%d", harness.VIP, harness.VIPPrefix), "dev", "eth0"); err != nil {
		return nil, err
	}
	if !f.detect(ctx, r, f.C.VIPResource(), n.Name) {
		return nil, nil
	}
	r.Recovery = f.waitUntil(ctx, recoveryLimit, func(ctx context.Context) bool {
		for _, m := range f.C.Nodes {
			if harness.VIPOn(ctx, m) {
				return f.settled(ctx)
			}
		}
		return false
	})
	where, _ := f.active(ctx)
	if where != nil {
		r.Outcome = "VIP restored on " + where.Name
	}
	return nil, nil
}

func faultKillKeystone(ctx context.Context, f *faultEnv, r *FaultResult) (func(context.Context) error, error) {
	n, err := f.killService(ctx, r, "keystone", (*harness.Node).Keystone, func(ctx context.Context, n *harness.Node, _ harness.Proc) bool {
		return f.keystoneUp(ctx, n)
	})
	if n != nil {
		r.Outcome = fmt.Sprintf("keystone on %s restarted; requests went to the other node meanwhile", n.Name)
	}
	return nil, err
}

func faultStopKeystone(ctx context.Context, f *faultEnv, r *FaultResult) (func(context.Context) error, error) {
	n, err := f.active(ctx)
	if err != nil {
		return nil, err
	}
	// keystone hangs whole: uwsgi's master and every worker (a stopped
	// master alone leaves its workers answering)
	if _, err := n.Keystone(); err != nil {
		return nil, err
	}
	ks := n.KeystoneAll()
	f.T0 = time.Now()
	for _, k := range ks {
		if err := n.Signal(k.Pid, syscall.SIGSTOP); err != nil {
			return nil, err
		}
	}
	// The hung processes must not outlive the fault: SIGCONT to each that
	// is still inside the node.
	restore := func(context.Context) error {
		var first error
		for _, k := range ks {
			if harness.InNetNS(k.Pid, n.NetIno()) {
				if err := n.Signal(k.Pid, syscall.SIGCONT); err != nil && first == nil {
					first = err
				}
			}
		}
		return first
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

func faultBrokenReload(ctx context.Context, f *faultEnv, r *FaultResult) (func(context.Context) error, error) {
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
func faultLinkDown(ctx context.Context, f *faultEnv, r *FaultResult) (func(context.Context) error, error) {
	n, err := f.active(ctx)
	if err != nil {
		return nil, err
	}
	f.T0 = time.Now()
	if err := f.C.Unplug(ctx, n, harness.Service); err != nil {
		return nil, err
	}
	restore := func(ctx context.Context) error { return f.C.Plug(ctx, n, harness.Service) }
	limit := recoveryLimit
	if r.Expect == NoRecovery {
		limit = noRecoveryWindow
	}
	detected := make(chan time.Duration, 1)
	dctx, cancel := context.WithCancel(ctx)
	go func() {
		detected <- f.waitUntil(dctx, limit, func(ctx context.Context) bool { return f.failed(ctx, f.C.VIPResource(), n.Name) })
	}()
	var other *harness.Node
	r.Recovery, other = f.answeredByOther(ctx, n, limit)
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

func faultKillCorosync(ctx context.Context, f *faultEnv, r *FaultResult) (func(context.Context) error, error) {
	n, err := f.active(ctx)
	if err != nil {
		return nil, err
	}
	other := f.C.Others(n)[0]
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
	var to *harness.Node
	r.Recovery, to = f.answeredByOther(ctx, n, recoveryLimit)
	if r.Recovery == 0 {
		r.Outcome = "no other node took over"
		return nil, nil
	}
	if f.Setup.Fencing {
		r.Outcome = fmt.Sprintf("%s took over; %s fenced (rebooted) and rejoined", to.Name, n.Name)
		return nil, nil
	}
	r.Outcome = fmt.Sprintf("%s took over (without fencing %s keeps its VIP copy: the survivor's gratuitous ARP wins)", to.Name, n.Name)
	return nil, nil
}
