package cluster

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/stackha/stackha/test/cluster/harness"
)

// faultDrainMove (15): the VIP's node goes into standby while another
// node comes back from standby, both in one CIB change (one transition
// that stops haproxy on the old holder and starts it on the returning
// node), with a client holding a request open through the VIP, so that
// the old holder's haproxy has a session to drain (its soft stop waits for
// it up to stop_timeout). The VIP must answer from another node before that
// request ends, whatever the drain takes. With render's former start order
// (haproxy-clone, then the VIP) the VIP's start waited for the clone's stop
// on the old node: the drain, with no node answering for the VIP.
func faultDrainMove(ctx context.Context, f *faultEnv, r *FaultResult) (func(context.Context) error, error) {
	r.NoDetect = true
	holder, err := f.C.VIPNode(ctx)
	if err != nil {
		return nil, err
	}
	back := f.C.Others(holder)[0]
	if err := f.C.Standby(ctx, back, true); err != nil {
		return nil, err
	}
	if err := f.C.WaitSettled(ctx, 90*time.Second); err != nil {
		return nil, err
	}
	held, err := harness.HoldThroughVIP(ctx, holdFor())
	if err != nil {
		return nil, err
	}
	defer held.Close()
	ids, err := nodeIDs(ctx, f.C)
	if err != nil {
		return nil, err
	}
	f.T0 = time.Now()
	if err := standbyMany(ctx, f.C, ids, map[*harness.Node]bool{back: false, holder: true}); err != nil {
		return nil, err
	}
	restore := func(ctx context.Context) error { return f.C.Standby(ctx, holder, false) }
	wctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	a, err := f.P.WaitFor(wctx, f.T0, func(a harness.Attempt) bool { return a.OK && a.Node != "" && a.Node != holder.Name })
	cancel()
	if err != nil {
		r.Outcome = fmt.Sprintf("no node but %s answered through the VIP in 60 s", holder.Name)
		return restore, nil
	}
	r.Recovery = a.End.Sub(f.T0)
	if err := f.C.WaitSettled(ctx, 90*time.Second); err != nil {
		return restore, err
	}
	settled := f.since()
	r.Outcome = fmt.Sprintf("%s in standby and %s back in one change: %s answered %.2f s after it; the old holder's haproxy drained a request held %s (settled at %.1f s)",
		holder.Name, back.Name, a.Node, r.Recovery.Seconds(), holdFor(), settled.Seconds())
	if !held.Before(a.End) {
		r.Bad = fmt.Sprintf("the VIP answered from another node only %.2f s after its holder's standby, after the request held through it was answered: the move waited for the drain", r.Recovery.Seconds())
	}
	return restore, nil
}

// nodeIDs returns each node's Pacemaker node id (crm_node -l).
func nodeIDs(ctx context.Context, c *harness.Cluster) (map[string]string, error) {
	out, err := c.Ctl().Run(ctx, "crm_node", "-l")
	if err != nil {
		return nil, err
	}
	ids := map[string]string{}
	for _, l := range strings.Split(out, "\n") {
		if f := strings.Fields(l); len(f) >= 2 {
			ids[f[1]] = f[0]
		}
	}
	return ids, nil
}

// standbyMany sets several nodes' standby attribute in one CIB change.
func standbyMany(ctx context.Context, c *harness.Cluster, ids map[string]string, on map[*harness.Node]bool) error {
	var b strings.Builder
	b.WriteString("<nodes>")
	for n, v := range on {
		id, ok := ids[n.Name]
		if !ok {
			return fmt.Errorf("no node id for %s", n.Name)
		}
		val := "off"
		if v {
			val = "on"
		}
		fmt.Fprintf(&b, `<node id="%[1]s" uname="%[2]s"><instance_attributes id="nodes-%[1]s"><nvpair id="nodes-%[1]s-standby" name="standby" value="%[3]s"/></instance_attributes></node>`, id, n.Name, val)
	}
	b.WriteString("</nodes>")
	_, err := c.Ctl().Run(ctx, "cibadmin", "--modify", "--scope", "nodes", "--xml-text", b.String())
	return err
}
