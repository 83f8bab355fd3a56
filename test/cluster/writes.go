package cluster

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/stackha/stackha/test/cluster/harness"
)

// The second service's writes (SHC_WRITES=1 on systemd nodes with
// placement-api): a resource provider created through the VIP, then read
// back by its uuid, every SHC_WRITE_EVERY; fault 14 fails on any that
// failed (besides the VIP's own move), every fault on one that ran twice
// or that placement acknowledged and lost.

// adminToken asks keystone through the VIP for an admin token, again for
// up to 2 minutes: right after the bring-up (heat-engine starting on every
// node, cold caches) the first one took over 20 s once in CI (2026-12-07).
func adminToken(ctx context.Context, c *harness.Cluster, cl *harness.Client) (string, error) {
	base := c.KeystoneURL()
	deadline := time.Now().Add(2 * time.Minute)
	token, _, err := cl.Token(ctx, base)
	for err != nil && time.Now().Before(deadline) && ctx.Err() == nil {
		time.Sleep(time.Second)
		token, _, err = cl.Token(ctx, base)
	}
	return token, err
}

// placementURL is placement through the VIP.

// startProviderWriter starts the second service's writer and waits until
// its write and read have both answered for 3 s.
func startProviderWriter(ctx context.Context, cl *harness.Client, env *faultEnv, f Fault) error {
	token, err := adminToken(ctx, env.C, cl)
	if err != nil {
		return fmt.Errorf("placement's writer: %w", err)
	}
	env.rpToken = token
	prefix := fmt.Sprintf("shc-f%d-%d", f.ID, time.Now().UnixNano())
	if env.R, err = harness.StartProviderWriter(env.C.PlacementURL(), token, prefix, rand.Uint32(), writeEvery(), writeTimeout); err != nil {
		return fmt.Errorf("placement's writer: %w", err)
	}
	t0 := time.Now()
	if env.waitUntil(ctx, 2*time.Minute, func(context.Context) bool { return steady(env.R.Attempts(t0), 3*time.Second) }) == 0 {
		s := harness.Summarize(env.R.Attempts(t0), t0)
		env.R.Stop()
		env.R = nil
		return fmt.Errorf("placement's writer did not answer steadily for 3 s within 2 minutes: %d of %d failed, the last: %q",
			s.Failed, s.Total, capText(s.LastErr, 160))
	}
	return nil
}

// providerWrites sums up the second service's writes once its writer has
// stopped and the cluster settled: how many, how many failed (besides
// those lost in flight by the VIP's own moves, f.moves), ran twice
// (placement answered 409 to a fresh name) or were acknowledged and are
// missing. A replay or a loss fails any fault. strict (fault 14) fails it
// on a failed write too: placement is drained before it stops (its drain
// agent tells haproxy's agent-check), so none reaches a stopping service.
func providerWrites(ctx context.Context, cl *harness.Client, f *faultEnv, strict bool, r *FaultResult) {
	as := f.R.Attempts(f.T0)
	failed, reset, lost := countFailed(as, f.moves, f.T0)
	replayed := harness.Replayed(as)
	acked := harness.Acked(f.R.Attempts(time.Time{}))
	missing, err := cl.ReadBackProviders(ctx, f.C.PlacementURL(), f.rpToken, acked)
	if err != nil {
		r.Err = fmt.Errorf("placement's writes: %w", err)
		return
	}
	r.Outcome += fmt.Sprintf("; writes then reads on placement (a resource provider every %s): %d, %d failed", f.R.Every, len(as), failed)
	if failed > 0 {
		r.Outcome += fmt.Sprintf(" (%s)", strings.Join(lost, "; "))
	}
	if reset > 0 {
		r.Outcome += fmt.Sprintf(", %d lost in flight as the VIP moved", reset)
	}
	r.Outcome += fmt.Sprintf(", %d ran twice; read back: %d of %d acknowledged", replayed, len(acked)-len(missing), len(acked))
	switch {
	case r.Bad != "":
	case replayed > 0:
		r.Bad = fmt.Sprintf("%d writes on placement ran twice (409 to a fresh name)", replayed)
	case len(missing) > 0:
		r.Bad = fmt.Sprintf("%d acknowledged writes on placement lost (%s)", len(missing), capText(strings.Join(missing, ", "), 200))
	case strict && failed > 0:
		r.Bad = fmt.Sprintf("%d writes on placement failed (%s)", failed, strings.Join(lost, "; "))
	}
}
