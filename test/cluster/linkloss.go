package cluster

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/stackha/stackha/internal/testutil"
	"github.com/stackha/stackha/test/cluster/harness"
)

// LinkLoss is one link loss of the VIP holder on a keepalived cluster.
type LinkLoss struct {
	From, To string
	// Outage: from the unplug to the end of the first successful request
	// through the VIP answered by another node.
	Outage time.Duration
	Failed int // failed client requests until that answer
}

// LinkLossResult is the link-loss benchmark of one keepalived cluster.
type LinkLossResult struct {
	Label string
	Runs  []LinkLoss
}

// linkLossLimit bounds one run's wait for another node's answer.
const linkLossLimit = 30 * time.Second

// LinkLossKeepalived is fault 4 (the VIP holder's link down, its switch
// ports without carrier) on keepalived + haproxy clusters of two and three
// nodes, runs times each, a client polling through the VIP every 10 ms.
// Kolla runs VRRP and the VIP on one interface (api_interface); the
// harness splits them over the ring (VRRP) and service (VIP) networks, so
// both of the holder's ports lose carrier: its keepalived sees the loss at
// once, its peers only when its adverts stop (three advert_int, then the
// skew time). After each run the ports come back and the cluster settles
// (one MASTER) before the next.
func LinkLossKeepalived(ctx context.Context, w io.Writer, runs int) ([]LinkLossResult, error) {
	var out []LinkLossResult
	for _, nodes := range []int{2, 3} {
		r, err := linkLossOn(ctx, w, nodes, runs)
		out = append(out, r)
		if err != nil {
			return out, err
		}
	}
	return out, nil
}

func linkLossOn(ctx context.Context, w io.Writer, nodes, runs int) (res LinkLossResult, err error) {
	res.Label = fmt.Sprintf("keepalived + haproxy, %d nodes, VRRP advert_int 1 (Kolla's)", nodes)
	c, err := harness.Up(ctx, harness.Options{Keepalived: true, Nodes: nodes, Log: w})
	if err != nil {
		return res, err
	}
	defer func() {
		if cerr := c.Close(); cerr != nil && err == nil {
			err = cerr
		}
	}()
	for i := 0; i < runs; i++ {
		run, err := linkLossRun(ctx, c)
		if err != nil {
			return res, fmt.Errorf("%s, run %d: %w", res.Label, i+1, err)
		}
		res.Runs = append(res.Runs, run)
		fmt.Fprintf(w, "link loss %d on %d nodes: %s -> %s answered %.0f ms after the unplug (%d failed requests)\n",
			i+1, nodes, run.From, run.To, harness.Millis(run.Outage), run.Failed)
	}
	return res, nil
}

func linkLossRun(ctx context.Context, c *harness.Cluster) (LinkLoss, error) {
	var r LinkLoss
	h, err := c.WaitVIPHolder(ctx, 30*time.Second)
	if err != nil {
		return r, err
	}
	r.From = h.Name
	p, err := harness.StartProber(fmt.Sprintf("http://%s:%d/", harness.VIP, harness.WhoamiPort), crashPoll, crashPoll*50)
	if err != nil {
		return r, err
	}
	defer p.Stop()
	warm, cancel := context.WithTimeout(ctx, 10*time.Second)
	_, err = p.WaitFor(warm, time.Now(), func(a harness.Attempt) bool { return a.OK && a.Node == h.Name })
	cancel()
	if err != nil {
		return r, fmt.Errorf("no answer from the holder %s before the fault: %w", h.Name, err)
	}
	// The ring (VRRP) port first: with the service port first, the
	// holder's keepalived saw its VIP's interface go down and sent a
	// priority 0 advert on the ring before that was unplugged too (peers
	// took over after the skew time, 1.03 s in every run), which Kolla's
	// one interface, gone at once, cannot send.
	links := []harness.Link{harness.Ring, harness.Service}
	t0 := time.Now()
	for _, l := range links {
		if err := c.Unplug(ctx, h, l); err != nil {
			return r, err
		}
	}
	wctx, cancel := context.WithTimeout(ctx, linkLossLimit)
	a, werr := p.WaitFor(wctx, t0, func(a harness.Attempt) bool { return a.OK && a.Node != "" && a.Node != h.Name })
	cancel()
	for _, l := range links {
		if err := c.Plug(ctx, h, l); err != nil {
			return r, err
		}
	}
	if werr != nil {
		return r, fmt.Errorf("no other node answered after %s lost its links: %w", h.Name, werr)
	}
	r.To, r.Outage = a.Node, a.End.Sub(t0)
	for _, at := range p.Attempts(t0) {
		if !at.OK && at.Start.Before(a.End) {
			r.Failed++
		}
	}
	return r, c.WaitKeepalivedSteady(ctx, 90*time.Second)
}

// FormatLinkLoss renders the keepalived link-loss runs.
func FormatLinkLoss(results []LinkLossResult) string {
	var b strings.Builder
	b.WriteString("| cluster | runs | median link down -> first answer from another node | min | max | each run | median failed requests (10 ms polling) |\n")
	b.WriteString("|---|---|---|---|---|---|---|\n")
	for _, r := range results {
		if len(r.Runs) == 0 {
			continue
		}
		var outs, failed []time.Duration
		var each []string
		for _, run := range r.Runs {
			outs = append(outs, run.Outage)
			failed = append(failed, time.Duration(run.Failed))
			each = append(each, fmt.Sprintf("%.2f s", run.Outage.Seconds()))
		}
		fmt.Fprintf(&b, "| %s | %d | %.0f ms | %.0f ms | %.0f ms | %s | %d |\n", r.Label, len(outs), harness.Millis(testutil.Median(outs)),
			harness.Millis(slices.Min(outs)), harness.Millis(slices.Max(outs)), strings.Join(each, ", "), int64(testutil.Median(failed)))
	}
	return b.String()
}
