package cluster

import (
	"context"
	"fmt"
	"io"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/stackha/stackha/internal/testutil"
	"github.com/stackha/stackha/test/cluster/harness"
	"github.com/stackha/stackha/test/cluster/watch"
)

// CrashVariant is one side of the crash benchmark: a label and the
// cluster it runs on.
type CrashVariant struct {
	Label string
	Opts  harness.Options
}

// CrashRun is one power loss of the VIP holder.
type CrashRun struct {
	From, To string
	// Failover: from the power loss to the end of the first successful
	// request through the VIP answered by a survivor.
	Failover time.Duration
	// Fenced: from the power loss to the fence device's first action on
	// the lost node (0 without fencing).
	Fenced time.Duration
	// FencedFirst: fencing came before the survivor's first answer.
	FencedFirst bool
	Failed      int // failed client requests until that answer
	Split       int // split-brain samples of the watcher during the run
	// LostDC: the lost node was the cluster's DC (the survivors elect a
	// new one before they can fence); unknown without Pacemaker.
	LostDC bool
}

// Replay is a fault replayed on a cluster with the watcher on.
type Replay struct {
	Label    string // the cluster
	Fault    int
	Name     string
	Split    watch.Result
	Failed   int // failed client requests from the fault to the end
	Total    int
	Outcome  string
	Watching time.Duration
}

// CrashResult is the benchmark of one variant.
type CrashResult struct {
	Variant CrashVariant
	Runs    []CrashRun
}

// crashPoll is the benchmark client's period and timeout.
const (
	crashPoll    = 10 * time.Millisecond
	crashTimeout = 500 * time.Millisecond
)

// BenchCrash brings up each variant's cluster in turn and cuts the power
// of the node holding the VIP runs times: the time to the first answer
// through the VIP from a survivor (whoami, polled every 10 ms from the
// client), whether fencing came first, and the split-brain watcher's
// count. The lost node comes back between runs (fenced: the device's
// reboot; keepalived: the harness powers it on) and nothing moves back.
func BenchCrash(ctx context.Context, w io.Writer, variants []CrashVariant, runs int) ([]CrashResult, error) {
	var results []CrashResult
	for _, v := range variants {
		fmt.Fprintf(w, "\n## %s\n", v.Label)
		res, err := crashVariant(ctx, w, v, runs)
		results = append(results, res)
		if err != nil {
			return results, fmt.Errorf("%s: %w", v.Label, err)
		}
	}
	return results, nil
}

func crashVariant(ctx context.Context, w io.Writer, v CrashVariant, runs int) (_ CrashResult, err error) {
	res := CrashResult{Variant: v}
	opts := v.Opts
	opts.Log = w
	c, err := harness.Up(ctx, opts)
	if err != nil {
		return res, err
	}
	defer func() {
		if cerr := c.Close(); cerr != nil && err == nil {
			err = cerr
		}
	}()
	p, err := harness.StartProber(fmt.Sprintf("http://%s:%d/", harness.VIP, harness.WhoamiPort), crashPoll, crashTimeout)
	if err != nil {
		return res, err
	}
	defer p.Stop()
	for i := 1; i <= runs; i++ {
		r, err := crashOnce(ctx, c, p)
		if err != nil {
			return res, fmt.Errorf("run %d: %w", i, err)
		}
		res.Runs = append(res.Runs, r)
		fmt.Fprintf(w, "run %d: power off %s -> first answer from %s after %.0f ms (fenced at %.0f ms, first: %v; %d failed requests, %d split-brain samples; the lost node was the DC: %v)\n",
			i, r.From, r.To, harness.Millis(r.Failover), harness.Millis(r.Fenced), r.FencedFirst, r.Failed, r.Split, r.LostDC)
	}
	return res, nil
}

// holder returns the node holding the VIP: Pacemaker's view, or, for
// keepalived, the one node with the address.
func holder(ctx context.Context, c *harness.Cluster) (*harness.Node, error) {
	if c.Opts().Keepalived {
		return c.WaitVIPHolder(ctx, 30*time.Second)
	}
	return c.VIPNode(ctx)
}

// dcIs reports whether n is the cluster's DC (crmadmin on n; false when
// it cannot tell).
func dcIs(ctx context.Context, c *harness.Cluster, n *harness.Node) bool {
	out, err := n.Run(ctx, "crmadmin", "-D", "-t", "2000")
	return err == nil && strings.Contains(out, "is: "+n.Name)
}

func crashOnce(ctx context.Context, c *harness.Cluster, p *harness.Prober) (CrashRun, error) {
	from, err := holder(ctx, c)
	if err != nil {
		return CrashRun{}, err
	}
	wt, err := watch.Start(ctx, watch.Options{NetNS: harness.ClientNetNS(), VIP: netip.MustParseAddr(harness.VIP)})
	if err != nil {
		return CrashRun{}, err
	}
	defer wt.Stop()
	r := CrashRun{From: from.Name}
	if !c.Opts().Keepalived {
		r.LostDC = dcIs(ctx, c, from)
	}
	t0 := time.Now()
	if err := c.PowerOff(ctx, from); err != nil {
		return r, err
	}
	wctx, cancel := context.WithTimeout(ctx, 90*time.Second)
	a, err := p.WaitFor(wctx, t0, func(a harness.Attempt) bool { return a.OK && a.Node != "" && a.Node != from.Name })
	cancel()
	if err != nil {
		return r, fmt.Errorf("no survivor answered after %s lost power: %w", from.Name, err)
	}
	r.To, r.Failover = a.Node, a.End.Sub(t0)
	for _, at := range p.Attempts(t0) {
		if !at.OK && at.Start.Before(a.End) {
			r.Failed++
		}
	}
	if c.Opts().Fencing {
		env := &faultEnv{C: c, T0: t0}
		if t := env.fencedAt(from, t0); !t.IsZero() {
			r.Fenced, r.FencedFirst = t.Sub(t0), t.Before(a.End)
		}
	}
	// Back to steady state: the lost node powered on again, one holder.
	if c.Opts().Keepalived {
		if err := c.PowerOn(ctx, from); err != nil {
			return r, err
		}
		if err := c.WaitKeepalivedSteady(ctx, 90*time.Second); err != nil {
			return r, err
		}
	} else {
		env := &faultEnv{C: c, T0: t0}
		if err := env.waitRebooted(ctx, from); err != nil {
			return r, err
		}
		if err := c.WaitOnline(ctx, 90*time.Second); err != nil {
			return r, err
		}
		if err := c.Cleanup(ctx); err != nil {
			return r, err
		}
		if err := c.WaitSettled(ctx, 90*time.Second); err != nil {
			return r, err
		}
	}
	res, err := wt.Stop()
	if err != nil {
		return r, fmt.Errorf("split-brain watcher: %w", err)
	}
	r.Split = res.SplitBrain
	return r, nil
}

// ReplayKeepalived replays faults 10-12 on keepalived clusters (three
// nodes for 10 and 11, two for 12) with the watcher and a client on: the
// cut lasts window, then the link comes back and the watcher goes on for
// half as long (two masters meeting again).
func ReplayKeepalived(ctx context.Context, w io.Writer, window time.Duration) ([]Replay, error) {
	var out []Replay
	for _, nodes := range []int{3, 2} {
		rs, err := replayOn(ctx, w, nodes, window)
		out = append(out, rs...)
		if err != nil {
			return out, err
		}
	}
	return out, nil
}

func replayOn(ctx context.Context, w io.Writer, nodes int, window time.Duration) (_ []Replay, err error) {
	c, err := harness.Up(ctx, harness.Options{Keepalived: true, Nodes: nodes, Log: w})
	if err != nil {
		return nil, err
	}
	defer func() {
		if cerr := c.Close(); cerr != nil && err == nil {
			err = cerr
		}
	}()
	type cut struct {
		fault int
		name  string
		links func(holder *harness.Node) (*harness.Node, []harness.Link)
	}
	var cuts []cut
	if nodes == 3 {
		cuts = []cut{
			{10, "VIP holder cut from the ring (VRRP) network only", func(h *harness.Node) (*harness.Node, []harness.Link) { return h, []harness.Link{harness.Ring} }},
			{11, "VIP holder cut from everything", func(h *harness.Node) (*harness.Node, []harness.Link) {
				return h, []harness.Link{harness.Service, harness.Ring}
			}},
		}
	} else {
		cuts = []cut{{12, "two nodes, ring (VRRP) network cut", func(h *harness.Node) (*harness.Node, []harness.Link) {
			return c.Others(h)[0], []harness.Link{harness.Ring}
		}}}
	}
	label := fmt.Sprintf("keepalived + haproxy, %d nodes", nodes)
	var out []Replay
	for _, ct := range cuts {
		h, err := c.WaitVIPHolder(ctx, 30*time.Second)
		if err != nil {
			return out, err
		}
		r, err := replay(ctx, c, label, ct.fault, ct.name, h, ct.links, window)
		out = append(out, r)
		fmt.Fprintf(w, "replay of fault %d (%s): %s; %d/%d failed requests; %s\n", r.Fault, r.Name, r.Split, r.Failed, r.Total, r.Outcome)
		if err != nil {
			return out, err
		}
	}
	return out, nil
}

func replay(ctx context.Context, c *harness.Cluster, label string, fault int, name string, h *harness.Node,
	links func(*harness.Node) (*harness.Node, []harness.Link), window time.Duration) (Replay, error) {
	r := Replay{Label: label, Fault: fault, Name: name}
	wt, err := watch.Start(ctx, watch.Options{NetNS: harness.ClientNetNS(), VIP: netip.MustParseAddr(harness.VIP)})
	if err != nil {
		return r, err
	}
	defer wt.Stop()
	p, err := harness.StartProber(fmt.Sprintf("http://%s:%d/", harness.VIP, harness.WhoamiPort), 50*time.Millisecond, time.Second)
	if err != nil {
		return r, err
	}
	defer p.Stop()
	n, ls := links(h)
	t0 := time.Now()
	for _, l := range ls {
		if err := c.Cut(ctx, n, l); err != nil {
			return r, err
		}
	}
	time.Sleep(window)
	var during []string
	for _, m := range c.VIPHolders(ctx) {
		during = append(during, m.Name)
	}
	for _, l := range ls {
		if err := c.Mend(ctx, n, l); err != nil {
			return r, err
		}
	}
	time.Sleep(window / 2)
	var after []string
	for _, m := range c.VIPHolders(ctx) {
		after = append(after, m.Name)
	}
	p.Stop()
	as := p.Attempts(t0)
	r.Total = len(as)
	for _, a := range as {
		if !a.OK {
			r.Failed++
		}
	}
	r.Split, err = wt.Stop()
	r.Watching = time.Since(t0)
	r.Outcome = fmt.Sprintf("%s held the VIP; during the cut: on %s; after: on %s", h.Name, orNone(during), orNone(after))
	return r, err
}

func orNone(s []string) string {
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, " and ")
}

// FormatCrash renders the crash benchmark side by side.
func FormatCrash(results []CrashResult) string {
	var b strings.Builder
	b.WriteString("| cluster | runs | median power loss -> first answer from a survivor | min | max | median fence action after | fenced before the VIP answered | median failed requests (10 ms polling) | split-brain samples (all runs) | runs losing the DC: median |\n")
	b.WriteString("|---|---|---|---|---|---|---|---|---|---|\n")
	for _, r := range results {
		if len(r.Runs) == 0 {
			continue
		}
		var fo, fe, failed, dcFo []time.Duration
		first, split := 0, 0
		for _, run := range r.Runs {
			if run.LostDC {
				dcFo = append(dcFo, run.Failover)
			}
			fo = append(fo, run.Failover)
			fe = append(fe, run.Fenced)
			failed = append(failed, time.Duration(run.Failed))
			split += run.Split
			if run.FencedFirst {
				first++
			}
		}
		fence, firstS := "-", "- (no fencing)"
		if r.Variant.Opts.Fencing {
			fence, firstS = fmt.Sprintf("%.0f ms", harness.Millis(testutil.Median(fe))), fmt.Sprintf("%d of %d", first, len(r.Runs))
		}
		dc := "-"
		if r.Variant.Opts.Keepalived {
			dc = "- (no DC)"
		} else if len(dcFo) > 0 {
			dc = fmt.Sprintf("%d: %.0f ms", len(dcFo), harness.Millis(testutil.Median(dcFo)))
		} else {
			dc = "0"
		}
		fmt.Fprintf(&b, "| %s | %d | %.0f ms | %.0f ms | %.0f ms | %s | %s | %d | %d | %s |\n", r.Variant.Label, len(fo),
			harness.Millis(testutil.Median(fo)), harness.Millis(slices.Min(fo)), harness.Millis(slices.Max(fo)), fence, firstS, int64(testutil.Median(failed)), split, dc)
	}
	return b.String()
}

// FormatReplays renders fault replays: split-brain samples per fault.
func FormatReplays(rs []Replay) string {
	var b strings.Builder
	b.WriteString("| cluster | fault | split-brain samples / samples | failed / total requests | where the VIP was |\n|---|---|---|---|---|\n")
	for _, r := range rs {
		fmt.Fprintf(&b, "| %s | %d. %s | %d / %d | %d / %d | %s |\n", r.Label, r.Fault, r.Name, r.Split.SplitBrain, r.Split.Samples,
			r.Failed, r.Total, r.Outcome)
	}
	return b.String()
}
