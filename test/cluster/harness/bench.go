package harness

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/stackha/stackha/internal/testutil"
)

// BenchResult is the failover benchmark of one agent set.
type BenchResult struct {
	Set  AgentSet
	Runs []FailoverResult
}

// AgentTime is the time the agents ran during a failover: the sum of the
// start/stop operations' exec times Pacemaker recorded. With vipOnly, only
// the VIP's stop and start (the failover's critical path under stackha
// render's order; the how-to's order adds haproxy's stop and start to it).
func (r FailoverResult) AgentTime(vipOnly bool) time.Duration {
	var d time.Duration
	for _, o := range r.Ops {
		if !vipOnly || o.Resource == VIPResource {
			d += o.Exec
		}
	}
	return d
}

// BenchFailover brings up a cluster (VIP + haproxy clone) per agent set,
// in turn, and times runs failovers on each: from the standby of the node
// holding the VIP to the first successful HTTP request through the VIP
// answered by the other node (polled every 10 ms from the client). The
// node comes back online between runs (nothing moves back: the next run
// fails over the other way).
func BenchFailover(ctx context.Context, w io.Writer, sets []AgentSet, runs int) ([]BenchResult, error) {
	var results []BenchResult
	for _, set := range sets {
		note := ""
		if set.Note != "" {
			note = " (" + set.Note + ")"
		}
		fmt.Fprintf(w, "\n## %s agents%s\n", set.Name, note)
		res, err := benchSet(ctx, w, set, runs)
		if err != nil {
			return results, fmt.Errorf("%s agents: %w", set.Name, err)
		}
		results = append(results, res)
	}
	return results, nil
}

func benchSet(ctx context.Context, w io.Writer, set AgentSet, runs int) (_ BenchResult, err error) {
	res := BenchResult{Set: set}
	c, err := Up(ctx, Options{Agents: set, Log: w})
	if err != nil {
		return res, err
	}
	defer func() {
		if cerr := c.Close(); cerr != nil && err == nil {
			err = cerr
		}
	}()
	p, err := StartProber(fmt.Sprintf("http://%s:%d/", VIP, WhoamiPort), 10*time.Millisecond, 500*time.Millisecond)
	if err != nil {
		return res, err
	}
	defer p.Stop()
	for i := 1; i <= runs; i++ {
		r, err := c.Failover(ctx, p, nil)
		if err != nil {
			return res, fmt.Errorf("run %d: %w", i, err)
		}
		res.Runs = append(res.Runs, r)
		fmt.Fprintf(w, "run %d: standby %s -> first answer from %s after %.0f ms (crm_attribute %.0f ms, %d failed requests); agents: %s\n",
			i, r.From, r.To, Millis(r.Failover), Millis(r.Command), r.Failed, FormatOps(r.Ops))
		if err := c.Standby(ctx, c.Node(r.From), false); err != nil {
			return res, err
		}
		if err := c.WaitSettled(ctx, 60*time.Second); err != nil {
			return res, err
		}
	}
	return res, nil
}

// FormatBench renders the benchmark side by side.
func FormatBench(results []BenchResult) string {
	var b strings.Builder
	b.WriteString("| agents | runs | median failover | min | max | median VIP stop + start | median all agent actions | median failed requests (10 ms polling) |\n")
	b.WriteString("|---|---|---|---|---|---|---|---|\n")
	for _, r := range results {
		var fo, vt, at, failed []time.Duration
		for _, run := range r.Runs {
			fo = append(fo, run.Failover)
			vt = append(vt, run.AgentTime(true))
			at = append(at, run.AgentTime(false))
			failed = append(failed, time.Duration(run.Failed))
		}
		if len(fo) == 0 {
			continue
		}
		s := append([]time.Duration(nil), fo...)
		sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
		var name string
		switch {
		case r.Set.Name == "stackha":
			name = "(a) stackha vip + haproxy"
		case r.Set.SeedOrder:
			name = "(b') IPaddr2 + haproxy via anything, the how-to's order (VIP, then haproxy)"
		default:
			name = "(b) IPaddr2 + haproxy via anything"
		}
		if r.Set.Note != "" {
			name += " [" + r.Set.Note + "]"
		}
		fmt.Fprintf(&b, "| %s | %d | %.0f ms | %.0f ms | %.0f ms | %.0f ms | %.0f ms | %d |\n", name, len(fo),
			Millis(testutil.Median(fo)), Millis(s[0]), Millis(s[len(s)-1]), Millis(testutil.Median(vt)), Millis(testutil.Median(at)), int64(testutil.Median(failed)))
	}
	return b.String()
}

// Millis is d in milliseconds, for the tables.
func Millis(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
