package cluster

import (
	"context"
	"fmt"
	"time"

	"github.com/stackha/stackha/test/cluster/harness"
)

// faultRollingKeepalived is fault 14 on the keepalived comparison (systemd
// nodes, SHC_KEEPALIVED=1): each node in turn has its units stopped
// (keepalived, which gives the VIP up at once, then haproxy, then the
// services: harness.StopKeepalivedUnits) and started again, and the next
// node goes only once this one serves and keepalived is steady, as an
// operator's rolling restart of a keepalived + haproxy control plane
// does. Nothing drains a service before its stop: the other nodes'
// haproxy checks find it gone.
func faultRollingKeepalived(ctx context.Context, f *faultEnv, r *FaultResult) (func(context.Context) error, error) {
	r.NoDetect = true
	f.T0 = time.Now()
	var moves []window
	var moved []string
	for _, n := range f.C.Nodes {
		holder := harness.VIPOn(ctx, n)
		t := time.Now()
		if err := f.C.StopKeepalivedUnits(ctx, n); err != nil {
			return nil, err
		}
		if holder {
			wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
			a, err := f.P.WaitFor(wctx, t, func(a harness.Attempt) bool { return a.OK && a.Node != "" && a.Node != n.Name })
			cancel()
			// The requests the move can lose began before another node
			// answered, as in faultRolling.
			if err != nil {
				moved = append(moved, fmt.Sprintf("no node answered after %s's keepalived stopped", n.Name))
				moves = append(moves, window{t, time.Now()})
			} else {
				moved = append(moved, fmt.Sprintf("%s -> %s answered %.2f s after the stop began", n.Name, a.Node, a.End.Sub(t).Seconds()))
				moves = append(moves, window{t, a.End})
			}
		}
		if err := f.C.StartKeepalivedUnits(ctx, n); err != nil {
			return nil, err
		}
		if err := f.C.WaitNodeServes(ctx, n, harness.StartLimit); err != nil {
			return nil, err
		}
		if err := f.C.WaitKeepalivedSteady(ctx, 90*time.Second); err != nil {
			return nil, err
		}
	}
	r.Recovery = f.since()
	rollingOutcome(f, r, moves, moved, fmt.Sprintf("%d nodes restarted in turn (keepalived, haproxy and the services stopped and started from their units)", len(f.C.Nodes)))
	return nil, nil
}
