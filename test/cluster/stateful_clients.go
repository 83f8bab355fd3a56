package cluster

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/stackha/stackha/test/cluster/harness"
)

// The stateful tier's clients (faults in inject_stateful.go): keystone
// writes, heat's calls through RabbitMQ, their steady start, summary and
// read-back.

// startStatefulClients starts the stateful tier's clients: a keystone
// project created every SHC_WRITE_EVERY through the VIP (a row in Galera),
// each acknowledged one read back once the cluster has settled, and, with
// heat, its stacks listed every 250 ms (an RPC call through RabbitMQ);
// each answers steadily before the fault.
func startStatefulClients(ctx context.Context, cl *harness.Client, env *faultEnv, f Fault) error {
	base := fmt.Sprintf("http://%s:%d", harness.VIP, harness.KeystonePort)
	env.prefix = fmt.Sprintf("shc-f%d-%d", f.ID, time.Now().UnixNano())
	var err error
	if env.token, err = adminToken(ctx, env.C, cl); err == nil {
		env.W, err = harness.StartProjectWriter(base, env.token, env.prefix, writeEvery(), writeTimeout)
	}
	if err != nil {
		return fmt.Errorf("the writing client: %w", err)
	}
	if env.C.Heat() {
		var project string
		if project, err = cl.ProjectID(ctx, base, env.token, "admin"); err == nil {
			env.Q, err = harness.StartHeatReader(fmt.Sprintf("http://%s:%d/v1/%s/stacks", harness.VIP, harness.HeatPort, project),
				env.token, 250*time.Millisecond, writeTimeout)
		}
		if err != nil {
			env.W.Stop()
			return fmt.Errorf("heat's client: %w", err)
		}
	}
	// A steady start: every client's answers of the last 3 s all good.
	// The first calls after the bring-up meet cold caches (keystone has
	// none configured, keystonemiddleware fills its own per worker), and
	// a node back from the last fault starts keystone, heat and an Erlang
	// VM at once: on these 2-core machines the writes took 6-7 s each for
	// about 15 s after fault 16's node rejoined (2026-12-07).
	t0 := time.Now()
	ok := env.waitUntil(ctx, 2*time.Minute, func(context.Context) bool {
		for _, p := range []*harness.Prober{env.W, env.Q} {
			if p != nil && !steady(p.Attempts(t0), 3*time.Second) {
				return false
			}
		}
		return true
	})
	if ok == 0 {
		env.W.Stop()
		if env.Q != nil {
			env.Q.Stop()
		}
		var why []string
		for _, p := range []*harness.Prober{env.W, env.Q} {
			if p != nil {
				s := harness.Summarize(p.Attempts(t0), t0)
				why = append(why, fmt.Sprintf("%s: %d of %d failed, the last at %.2f s: %q", p.URL, s.Failed, s.Total, s.LastFail.Seconds(), capText(s.LastErr, 160)))
			}
		}
		return fmt.Errorf("the clients did not answer steadily for 3 s within 2 minutes before the fault (%s)", strings.Join(why, "; "))
	}
	env.T0 = time.Now()
	return nil
}

// steady reports whether the attempts that started in the last d (and
// ended) all succeeded, at least 3 of them, and none of those before them
// still failing ended within d.
func steady(as []harness.Attempt, d time.Duration) bool {
	n := 0
	for _, a := range as {
		if time.Since(a.End) > d {
			continue
		}
		if !a.OK {
			return false
		}
		if time.Since(a.Start) <= d {
			n++
		}
	}
	return n >= 3
}

// summarizeStateful makes the stateful clients' part of r once they have
// stopped: the client columns count the writes (or heat's calls, for a
// fault of the queue), the recovery is theirs, the others are in the
// outcome.
func summarizeStateful(env *faultEnv, f Fault, r *FaultResult) {
	reads := r.Client
	writes := harness.Summarize(env.W.Attempts(env.T0), env.T0)
	r.Client = writes
	rec := writesRecovered(env.W.Attempts(env.T0), env.T0)
	var calls harness.Summary
	if env.Q != nil {
		env.Q.Stop()
		calls = harness.Summarize(env.Q.Attempts(env.T0), env.T0)
		if f.Queue {
			r.Client = calls
			rec = writesRecovered(env.Q.Attempts(env.T0), env.T0)
		}
	}
	if r.Recovery > 0 {
		r.Recovery = rec
	}
	r.Outcome += fmt.Sprintf("; writes (a keystone project every %s): %d of %d failed (last error %q), longest time between two acknowledged %.2f s",
		env.W.Every, writes.Failed, writes.Total, capText(writes.LastErr, 120), writes.MaxGap.Seconds())
	if env.Q != nil {
		r.Outcome += fmt.Sprintf("; heat's stack lists (RPC through RabbitMQ, every %s): %d of %d failed, outage %s, longest gap %.2f s",
			env.Q.Every, calls.Failed, calls.Total, dur(calls.Outage, calls.Failed > 0), calls.MaxGap.Seconds())
	}
	r.Outcome += fmt.Sprintf("; reads of keystone's /v3 (no database): %d of %d failed", reads.Failed, reads.Total)
}

// queueBack waits, once a fault is handled, until heat's calls work again
// (their outage is measured then, whatever the fault): oslo.messaging
// retries a lost RabbitMQ with a growing pause (up to 30 s), so they may
// come back after the writes. Not back within statefulLimit is a failure.
func queueBack(ctx context.Context, f *faultEnv, r *FaultResult) {
	if f.Q == nil || r.Recovery == 0 {
		return
	}
	if f.answersBack(ctx, f.Q, statefulLimit) == 0 {
		r.Bad = fmt.Sprintf("heat's calls (RPC through RabbitMQ) did not come back within %s", statefulLimit)
	}
}

// writesRecovered is when the writes worked again, from t0: the end of the
// first acknowledged write started after the last failed one, or of the
// first acknowledged one when none failed.
func writesRecovered(as []harness.Attempt, t0 time.Time) time.Duration {
	if s := harness.Summarize(as, t0); s.Failed > 0 {
		return s.Outage
	}
	var first time.Time
	for _, a := range as {
		if a.OK && (first.IsZero() || a.End.Before(first)) {
			first = a.End
		}
	}
	if first.IsZero() {
		return 0
	}
	return first.Sub(t0)
}

// readBack reads back every write the stateful client had acknowledged
// (its whole run, the warm-up included) once the cluster has settled: one
// that is missing is an acknowledged write lost, and fails the fault.
func readBack(ctx context.Context, cl *harness.Client, f *faultEnv, r *FaultResult) {
	acked := harness.Acked(f.W.Attempts(time.Time{}))
	base := fmt.Sprintf("http://%s:%d", harness.VIP, harness.KeystonePort)
	lost, err := cl.ReadBack(ctx, base, f.token, f.prefix, acked)
	if err != nil {
		r.Err = err
		return
	}
	r.Outcome += fmt.Sprintf("; read back: %d of %d acknowledged writes", len(acked)-len(lost), len(acked))
	if len(lost) > 0 {
		r.Bad = fmt.Sprintf("%d acknowledged writes lost (%s)", len(lost), capText(strings.Join(lost, ", "), 200))
	}
}
