package cluster

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"syscall"
	"time"

	"github.com/stackha/stackha/test/cluster/harness"
)

// fenceLimit bounds the wait for a fencing action and for a node's reboot.
const fenceLimit = 60 * time.Second

// fencedAt returns when the power switch was first asked about node n
// (status, off or on: a fencing action under way) since t; zero when not.
func (f *faultEnv) fencedAt(n *harness.Node, t time.Time) time.Time {
	sw := f.C.Switch()
	if sw == nil {
		return time.Time{}
	}
	for _, e := range sw.History() {
		if e.Node == n.Name && !e.Time.Before(t) && (e.Action == "off" || e.Action == "on" || e.Action == "status") &&
			!strings.HasPrefix(e.Result, "error") {
			return e.Time
		}
	}
	return time.Time{}
}

// waitFenced waits for fencedAt(n, f.T0); it returns the time from the
// fault (0: not fenced within limit).
func (f *faultEnv) waitFenced(ctx context.Context, n *harness.Node, limit time.Duration) time.Duration {
	f.waitUntil(ctx, limit, func(context.Context) bool { return !f.fencedAt(n, f.T0).IsZero() })
	if t := f.fencedAt(n, f.T0); !t.IsZero() {
		return t.Sub(f.T0)
	}
	return 0
}

// waitRebooted waits until the fenced node n is powered on again.
func (f *faultEnv) waitRebooted(ctx context.Context, n *harness.Node) error {
	if f.waitUntil(ctx, fenceLimit, func(context.Context) bool { return f.C.IsOn(n) }) == 0 && !f.C.IsOn(n) {
		return fmt.Errorf("%s was not powered on again within %s", n.Name, fenceLimit)
	}
	return nil
}

// confirmed checks the fencing history on survivor: a successful fencing
// of n.
func (f *faultEnv) confirmed(ctx context.Context, survivor, n *harness.Node) (string, error) {
	var hist string
	f.waitUntil(ctx, 10*time.Second, func(ctx context.Context) bool {
		h, err := f.C.FenceHistory(ctx, survivor, n.Name)
		hist = h
		return err == nil && strings.Contains(h, "successful")
	})
	if !strings.Contains(hist, "successful") {
		return "", fmt.Errorf("no successful fencing of %s in %s's history: %q", n.Name, survivor.Name, strings.TrimSpace(hist))
	}
	line, _, _ := strings.Cut(strings.TrimSpace(hist), "\n")
	return line, nil
}

// faultPowerLoss (9): the VIP holder loses power; a survivor fences it,
// confirmed before the VIP answers from a survivor; the reboot powers it
// on and it rejoins; nothing moves back.
func faultPowerLoss(ctx context.Context, f *faultEnv, r *FaultResult) (func(context.Context) error, error) {
	n, err := f.active(ctx)
	if err != nil {
		return nil, err
	}
	f.T0 = time.Now()
	if err := f.C.PowerOff(ctx, n); err != nil {
		return nil, err
	}
	var to *harness.Node
	r.Recovery, to = f.answeredByOther(ctx, n, fenceLimit)
	r.Detected = f.waitFenced(ctx, n, time.Second)
	if r.Recovery == 0 {
		r.Outcome = "no survivor answered through the VIP"
		return nil, nil
	}
	if r.Detected == 0 || r.Detected > r.Recovery {
		r.Bad = "the VIP answered from a survivor before the lost node was fenced"
	}
	hist, err := f.confirmed(ctx, to, n)
	if err != nil {
		return nil, err
	}
	if err := f.waitRebooted(ctx, n); err != nil {
		return nil, err
	}
	if err := f.C.WaitOnline(ctx, 90*time.Second); err != nil {
		return nil, err
	}
	if err := f.C.WaitSettled(ctx, harness.StartLimit); err != nil {
		return nil, err
	}
	if now, err := f.active(ctx); err != nil || now != to {
		r.Bad = fmt.Sprintf("the VIP moved again after %s rejoined", n.Name)
	}
	r.Outcome = fmt.Sprintf("%s powered off; fenced at %.2f s (%s); VIP answered from %s; %s rebooted, rejoined, VIP stayed on %s",
		n.Name, r.Detected.Seconds(), hist, to.Name, n.Name, to.Name)
	return nil, nil
}

// faultRingCut (10): the VIP holder loses the corosync ring only (its
// service link, and so its VIP copy, stay up): the majority fences it
// before it takes the VIP; no sample sees two holders.
func faultRingCut(ctx context.Context, f *faultEnv, r *FaultResult) (func(context.Context) error, error) {
	n, err := f.active(ctx)
	if err != nil {
		return nil, err
	}
	f.T0 = time.Now()
	if err := f.C.Cut(ctx, n, harness.Ring); err != nil {
		return nil, err
	}
	restore := func(ctx context.Context) error { return f.C.Mend(ctx, n, harness.Ring) }
	var to *harness.Node
	r.Recovery, to = f.answeredByOther(ctx, n, fenceLimit)
	r.Detected = f.waitFenced(ctx, n, time.Second)
	if r.Recovery == 0 {
		r.Outcome = "the majority did not take the VIP"
		return restore, nil
	}
	if r.Detected == 0 || r.Detected > r.Recovery {
		r.Bad = "the majority served the VIP before the cut node was fenced"
	}
	hist, err := f.confirmed(ctx, to, n)
	if err != nil {
		return restore, err
	}
	if err := f.waitRebooted(ctx, n); err != nil {
		return restore, err
	}
	r.Outcome = fmt.Sprintf("majority fenced %s at %.2f s (%s), VIP on %s; %s rebooted without quorum until its ring came back",
		n.Name, r.Detected.Seconds(), hist, to.Name, n.Name)
	return restore, nil
}

// faultIsolate (11): the VIP holder is cut from both networks. The fence
// device is held failing meanwhile, so that what the minority does by
// itself is seen: it loses quorum and stops its resources, the VIP first
// (no-quorum-policy=stop; a node that does not hold the VIP keeps its
// haproxy instance, whose stop is ordered after the VIP's on the unclean
// majority). The majority does not start the VIP until it has fenced the
// minority, which it does once the device works.
func faultIsolate(ctx context.Context, f *faultEnv, r *FaultResult) (func(context.Context) error, error) {
	n, err := f.active(ctx)
	if err != nil {
		return nil, err
	}
	sw := f.C.Switch()
	sw.SetFailing(errors.New("held back by fault 11 while the minority is watched"))
	restore := func(ctx context.Context) error {
		sw.SetFailing(nil)
		return errors.Join(f.C.Mend(ctx, n, harness.Service), f.C.Mend(ctx, n, harness.Ring))
	}
	f.T0 = time.Now()
	if err := errors.Join(f.C.Cut(ctx, n, harness.Service), f.C.Cut(ctx, n, harness.Ring)); err != nil {
		return restore, err
	}
	var left []string
	r.Detected = f.waitUntil(ctx, recoveryLimit, func(ctx context.Context) bool {
		st, err := f.C.StatusOn(ctx, n)
		return err == nil && !st.Quorum
	})
	stopped := f.waitUntil(ctx, recoveryLimit, func(ctx context.Context) bool {
		st, err := f.C.StatusOn(ctx, n)
		left = st.ActiveOn(n.Name)
		return err == nil && !st.Quorum && len(left) == 0
	})
	if r.Detected == 0 || stopped == 0 {
		r.Outcome = fmt.Sprintf("%s did not stop its resources by quorum loss (still active: %v)", n.Name, left)
		return restore, nil
	}
	if ok := f.answeredByOtherSince(f.T0, n); ok != "" {
		r.Bad = fmt.Sprintf("%s served the VIP before %s was fenced", ok, n.Name)
	}
	back := time.Now()
	sw.SetFailing(nil)
	var to *harness.Node
	r.Recovery, to = f.answeredByOther(ctx, n, fenceLimit)
	fenced := f.fencedAt(n, back)
	if r.Recovery == 0 || fenced.IsZero() {
		r.Outcome = fmt.Sprintf("%s stopped its resources at %.2f s; the majority did not fence it and take the VIP", n.Name, stopped.Seconds())
		return restore, nil
	}
	if err := f.waitRebooted(ctx, n); err != nil {
		return restore, err
	}
	r.Outcome = fmt.Sprintf("%s isolated: no quorum at %.2f s, its resources stopped at %.2f s; majority held the VIP until the device "+
		"worked (%.2f s), fenced %s, VIP on %s", n.Name, r.Detected.Seconds(), stopped.Seconds(), back.Sub(f.T0).Seconds(), n.Name, to.Name)
	return restore, nil
}

// answeredByOtherSince returns a node other than n that answered through
// the VIP since t ("" when none did).
func (f *faultEnv) answeredByOtherSince(t time.Time, n *harness.Node) string {
	for _, a := range f.P.Attempts(t) {
		if a.OK && a.Node != "" && a.Node != n.Name {
			return a.Node
		}
	}
	return ""
}

// faultFenceRace (12): two nodes with fencing, the ring between them cut.
// Each side would fence the other; priority-fencing-delay holds back the
// fencing aimed at the VIP holder, so the VIP holder survives and the
// other node is fenced. No split brain.
func faultFenceRace(ctx context.Context, f *faultEnv, r *FaultResult) (func(context.Context) error, error) {
	n, err := f.active(ctx)
	if err != nil {
		return nil, err
	}
	o := f.C.Others(n)[0]
	f.T0 = time.Now()
	if err := f.C.Cut(ctx, o, harness.Ring); err != nil {
		return nil, err
	}
	restore := func(ctx context.Context) error { return f.C.Mend(ctx, o, harness.Ring) }
	r.Detected = f.waitFenced(ctx, o, fenceLimit)
	if r.Detected == 0 {
		r.Outcome = fmt.Sprintf("%s was not fenced", o.Name)
		return restore, nil
	}
	// The delayed fencing of the VIP holder must never come.
	delay, _ := time.ParseDuration(harness.PriorityFencingDelay)
	time.Sleep(delay + 2*time.Second)
	if t := f.fencedAt(n, f.T0); !t.IsZero() {
		r.Outcome = fmt.Sprintf("the VIP holder %s was fenced too (at %.2f s)", n.Name, t.Sub(f.T0).Seconds())
		return restore, nil
	}
	if got := f.answeredBy(ctx, n.Name, 5*time.Second); got == 0 {
		r.Outcome = fmt.Sprintf("the VIP holder %s survived but does not answer", n.Name)
		return restore, nil
	}
	r.Recovery = r.Detected
	if err := f.waitRebooted(ctx, o); err != nil {
		return restore, err
	}
	r.Outcome = fmt.Sprintf("VIP holder %s fenced %s at %.2f s and kept serving; %s rebooted, waited for its peer (two_node)",
		n.Name, o.Name, r.Detected.Seconds(), o.Name)
	return restore, nil
}

// faultDeviceFails (13): the fence device answers errors and the VIP
// holder loses power: the cluster must not start the VIP elsewhere while
// it cannot fence (crm_mon says why); when the device works again,
// fencing succeeds and the VIP moves.
func faultDeviceFails(ctx context.Context, f *faultEnv, r *FaultResult) (func(context.Context) error, error) {
	n, err := f.active(ctx)
	if err != nil {
		return nil, err
	}
	sw := f.C.Switch()
	sw.SetFailing(errors.New("BMC unreachable (fault 13)"))
	restore := func(context.Context) error { sw.SetFailing(nil); return nil }
	f.T0 = time.Now()
	if err := f.C.PowerOff(ctx, n); err != nil {
		return restore, err
	}
	var why string
	r.Detected = f.waitUntil(ctx, fenceLimit, func(ctx context.Context) bool {
		out, err := f.C.CrmMon(ctx)
		why = failedFencingLine(out, n.Name)
		return err == nil && why != ""
	})
	if r.Detected == 0 {
		r.Outcome = "crm_mon never showed the failed fencing"
		return restore, nil
	}
	// Held failing a while: the VIP must stay stopped everywhere.
	time.Sleep(5 * time.Second)
	// (crm_mon still lists it "Started" on the lost, unclean node.)
	if st, err := f.C.Status(ctx); err == nil {
		for _, w := range st.Where(f.C.VIPResource()) {
			if w != n.Name {
				r.Bad = fmt.Sprintf("the VIP started on %s before %s was fenced", w, n.Name)
			}
		}
	}
	if other := f.answeredByOtherSince(f.T0, n); other != "" {
		r.Bad = fmt.Sprintf("%s answered through the VIP before %s was fenced", other, n.Name)
	}
	t1 := time.Now()
	sw.SetFailing(nil)
	var to *harness.Node
	r.Recovery, to = f.answeredByOther(ctx, n, fenceLimit)
	if r.Recovery == 0 {
		r.Outcome = fmt.Sprintf("crm_mon: %q; no survivor took the VIP after the device recovered", why)
		return restore, nil
	}
	if err := f.waitRebooted(ctx, n); err != nil {
		return restore, err
	}
	r.Outcome = fmt.Sprintf("VIP held stopped while fencing failed (crm_mon: %q); device back at %.2f s, VIP on %s",
		why, t1.Sub(f.T0).Seconds(), to.Name)
	return restore, nil
}

// failedFencingLine returns crm_mon's line about a failed fencing of node.
func failedFencingLine(out, node string) string {
	in := false
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "Failed Fencing Actions") {
			in = true
			continue
		}
		l = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(l), "*"))
		for _, action := range []string{"reboot", "off"} {
			if in && strings.HasPrefix(l, action+" of "+node+" ") && strings.Contains(l, "failed") {
				return l
			}
		}
	}
	return ""
}

// rollLimit bounds each wait of a rolling restart (the node's standby
// settled, its return serving). Not a measure: a busy cluster (the
// writers every 50 ms of make bench-maintenance, three systemd nodes on
// two cores) is throttled to one action at a time, and a returning node
// starts its services one after the other (keystone alone took 30 s),
// over 90 s in all (2026-12-07).
const rollLimit = 5 * time.Minute

// faultRolling (14): each node in turn in standby, its Pacemaker stopped
// and started, back online, under client load: no request may fail.
func faultRolling(ctx context.Context, f *faultEnv, r *FaultResult) (func(context.Context) error, error) {
	if f.Setup.Keepalived {
		return faultRollingKeepalived(ctx, f, r)
	}
	r.NoDetect = true
	f.T0 = time.Now()
	var moves []window  // while the VIP moved away from a node in standby
	var moved []string  // each move: how long until another node answered
	var waited []string // moves whose first answer came after the drain could end
	for _, n := range f.C.Nodes {
		before, _ := f.C.VIPNode(ctx)
		var held *harness.Held
		if before == n {
			// A client holds a long request open through the VIP: the
			// holder's haproxy has a session to drain when it stops, and
			// the VIP's move must not wait for it.
			h, err := harness.HoldThroughVIP(ctx, holdFor())
			if err != nil {
				return nil, err
			}
			held = h
		}
		t := time.Now()
		if err := f.C.Standby(ctx, n, true); err != nil {
			if held != nil {
				held.Close()
			}
			return nil, err
		}
		var moveAt time.Duration
		var to string
		if held != nil {
			wctx, cancel := context.WithTimeout(ctx, 90*time.Second)
			a, err := f.P.WaitFor(wctx, t, func(a harness.Attempt) bool { return a.OK && a.Node != "" && a.Node != n.Name })
			cancel()
			if err == nil {
				moveAt, to = a.End.Sub(t), a.Node
				if !held.Before(a.End) {
					waited = append(waited, fmt.Sprintf("%s's standby (%.2f s)", n.Name, moveAt.Seconds()))
				}
			}
		}
		err := f.C.WaitSettled(ctx, rollLimit)
		if held != nil {
			settled := time.Since(t)
			held.Close()
			if to == "" {
				moved = append(moved, fmt.Sprintf("no node answered after %s's standby", n.Name))
			} else {
				moved = append(moved, fmt.Sprintf("%s -> %s answered %.2f s after the standby (its haproxy drained a held request; settled at %.1f s)",
					n.Name, to, moveAt.Seconds(), settled.Seconds()))
			}
		}
		if err != nil {
			return nil, err
		}
		if before == n {
			// The requests the move can lose began before another node
			// answered (from then on the client reaches the new holder).
			end := time.Now()
			if to != "" {
				end = t.Add(moveAt)
			}
			moves = append(moves, window{t, end})
		}
		pid := f.C.Pid(n, "pacemakerd")
		if pid == 0 {
			return nil, fmt.Errorf("pacemakerd on %s is not running", n.Name)
		}
		if err := n.Signal(pid, syscall.SIGTERM); err != nil {
			return nil, err
		}
		wctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
		err = f.C.WaitExit(wctx, n, "pacemakerd")
		cancel()
		if err != nil {
			return nil, err
		}
		if err := f.C.StartPacemaker(n); err != nil {
			return nil, err
		}
		if err := f.C.WaitOnline(ctx, 90*time.Second); err != nil {
			return nil, err
		}
		if err := f.C.Standby(ctx, n, false); err != nil {
			return nil, err
		}
		// Back as a member that serves (joined, haproxy started there)
		// before the next node goes: an operator's rolling restart waits
		// for that too.
		if err := f.C.WaitServing(ctx, n, rollLimit); err != nil {
			return nil, err
		}
	}
	r.Recovery = f.since()
	rollingOutcome(f, r, moves, moved, fmt.Sprintf("%d nodes restarted in turn (standby, pacemakerd stopped and started, online)", len(f.C.Nodes)))
	if len(waited) > 0 && r.Bad == "" {
		r.Bad = "the VIP answered from another node only after the request held through it was answered (the move waited for the drain): " + strings.Join(waited, ", ")
	}
	return nil, nil
}

// rollingOutcome sums a rolling restart up (what: how the nodes were
// restarted): it fails on any failed read or write (token issue) besides
// those lost in flight by the VIP's own moves, and records the moves for
// the second service's writes (providerWrites).
func rollingOutcome(f *faultEnv, r *FaultResult, moves []window, moved []string, what string) {
	f.moves, f.strict = moves, true
	failed, reset, lost := countFailed(f.P.Attempts(f.T0), moves, f.T0)
	if failed > 0 {
		r.Bad = fmt.Sprintf("%d requests failed (%s)", failed, strings.Join(lost, "; "))
	}
	var writes string
	if f.W != nil {
		as := f.W.Attempts(f.T0)
		wfailed, wreset, wlost := countFailed(as, moves, f.T0)
		if wfailed > 0 && r.Bad == "" {
			r.Bad = fmt.Sprintf("%d writes (token issues) failed (%s)", wfailed, strings.Join(wlost, "; "))
		}
		writes = fmt.Sprintf("; writes (a token issue every %s): %d, %d failed", f.W.Every, len(as), wfailed)
		if wfailed > 0 {
			writes += " (" + strings.Join(wlost, "; ") + ")"
		}
		if wreset > 0 {
			writes += fmt.Sprintf(", %d lost in flight as the VIP moved", wreset)
		}
	}
	r.Outcome = fmt.Sprintf("%s; %d failed requests", what, failed)
	if reset > 0 {
		r.Outcome += fmt.Sprintf(", and %d lost in flight as the VIP moved (reset by the new holder, which knows no such connection, or an answer the old holder had begun and could not finish)", reset)
	}
	r.Outcome += writes
	if len(moved) > 0 {
		r.Outcome += "; VIP moves: " + strings.Join(moved, "; ")
	}
	if gap := harness.Summarize(f.P.Attempts(f.T0), f.T0).MaxGap; gap > 0 {
		r.Outcome += fmt.Sprintf("; longest time without an answer %.2f s", gap.Seconds())
	}
}

// countFailed counts the failed attempts, those lost in flight by a VIP's
// move (lostByMove) apart,
// and describes the first few others.
func countFailed(as []harness.Attempt, moves []window, t0 time.Time) (failed, reset int, lost []string) {
	for _, a := range as {
		switch {
		case a.OK:
		case lostByMove(a, moves):
			reset++
		default:
			failed++
			if len(lost) < 3 {
				lost = append(lost, fmt.Sprintf("%.2f-%.2f s: %s", a.Start.Sub(t0).Seconds(), a.End.Sub(t0).Seconds(), a.Err))
			}
		}
	}
	return failed, reset, lost
}

// holdFor is how long the slow server holds the request faults 14 and 15
// keep open through the VIP holder ($SHC_HOLD, 5 s by default): a move
// whose first answer from another node comes only once that request has
// ended waited for the drain, and the fault fails (an order of events, not
// a time limit: these machines are noisy); short, as every drain lengthens the fault (SHC_HOLD=35s makes
// haproxy's soft stop run to its stop_timeout of 30 s).
func holdFor() time.Duration {
	if d, err := time.ParseDuration(os.Getenv("SHC_HOLD")); err == nil && d > 0 {
		return d
	}
	return 5 * time.Second
}

// window is a span of time.
type window struct{ from, to time.Time }

// lostByMove reports whether a failed attempt was lost in flight because
// the VIP moved under it: it began before another node first answered
// (each window ends there), its connection was open on the old holder, and
// either the client's next segment reached the new holder, which answers
// an unknown connection with RST, or the old holder could not send (all
// of) its answer once the address had left it: a timeout reading the body
// (seen once in a rolling restart of six services on systemd nodes), or
// reading the answer (make bench-maintenance, 2026-12-07: three or four
// reads begun within 0.4 s of each move, in every run, drained or not; the
// kernel no longer routes from an address the node has lost). No HA layer
// without connection tracking sync avoids them; they are counted apart.
// Every other failure fails the fault: a refused connection, a timeout of
// a request begun once the new holder answered (a stopping service that
// holds a request), an answer cut short by a close.
func lostByMove(a harness.Attempt, moves []window) bool {
	reset := strings.Contains(a.Err, "connection reset")
	cutOff := (strings.HasPrefix(a.Err, "reading the body:") || strings.HasPrefix(a.Err, "reading the answer:")) && strings.Contains(a.Err, "timeout")
	if !reset && !cutOff {
		return false
	}
	for _, w := range moves {
		if a.End.After(w.from) && a.Start.Before(w.to) {
			return true
		}
	}
	return false
}
