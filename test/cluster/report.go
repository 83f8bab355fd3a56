package cluster

import (
	"fmt"
	"os"
	"strings"
	"time"
)

// FormatResults renders rows as a Markdown table.
func FormatResults(rows []FaultResult) string {
	var b strings.Builder
	b.WriteString("| agents | # | fault | failed / total requests | client outage | detected | recovered | split-brain samples | outcome |\n")
	b.WriteString("|---|---|---|---|---|---|---|---|---|\n")
	for _, r := range rows {
		if r.Skip != "" {
			fmt.Fprintf(&b, "| %s | %d | %s | - | - | - | - | - | not run: %s |\n", r.Set, r.ID, r.Name, r.Skip)
			continue
		}
		outcome := r.Outcome
		if r.Bad != "" {
			outcome += " [" + r.Bad + "]"
		}
		if r.Err != nil {
			outcome = "ERROR: " + r.Err.Error()
		}
		if !r.OK {
			outcome = "**UNEXPECTED** " + outcome
		}
		fmt.Fprintf(&b, "| %s | %d | %s | %d / %d | %s | %s | %s | %s | %s |\n", r.Set, r.ID, r.Name,
			r.Client.Failed, r.Client.Total, dur(r.Client.Outage, r.Client.Failed > 0), detected(r), dur(r.Recovery, true),
			split(r), strings.ReplaceAll(outcome, "|", "/"))
	}
	return b.String()
}

// split is the watcher's count: split-brain samples of all samples taken.
func split(r FaultResult) string {
	if !r.Watched {
		return "-"
	}
	return fmt.Sprintf("%d / %d", r.Split.SplitBrain, r.Split.Samples)
}

func dur(d time.Duration, applies bool) string {
	if !applies {
		return "0"
	}
	if d == 0 {
		return "never"
	}
	return fmt.Sprintf("%.2f s", d.Seconds())
}

func detected(r FaultResult) string {
	if r.NoDetect {
		return "-"
	}
	return dur(r.Detected, true)
}

func rowText(r FaultResult) string {
	s := fmt.Sprintf("failed %d/%d (from %.2fs to %.2fs), outage %s, detected %s, recovered %s, split brain %s, answers by node %v, last error %q: %s",
		r.Client.Failed, r.Client.Total, r.Client.FirstFail.Seconds(), r.Client.LastFail.Seconds(),
		dur(r.Client.Outage, r.Client.Failed > 0), detected(r), dur(r.Recovery, true), split(r), r.Client.ByNode, r.Client.LastErr, r.Outcome)
	if r.Bad != "" {
		s += " [" + r.Bad + "]"
	}
	if r.Err != nil {
		s += " ERROR: " + r.Err.Error()
	}
	return s
}

// Worst sums up the rows per fault when a fault ran more than once: runs,
// failed runs, the worst client outage and the worst time from the fault to
// recovery ("" when every fault ran once).
func Worst(rows []FaultResult) string {
	type agg struct {
		runs, bad int
		outage    time.Duration
		gap       time.Duration
		recovery  time.Duration
		name, set string
	}
	byKey := map[string]*agg{}
	var keys []string
	for _, r := range rows {
		if r.Skip != "" {
			continue
		}
		k := fmt.Sprintf("%s|%d", r.Set, r.ID)
		a, ok := byKey[k]
		if !ok {
			a = &agg{name: fmt.Sprintf("%d (%s)", r.ID, r.Name), set: r.Set}
			byKey[k] = a
			keys = append(keys, k)
		}
		a.runs++
		if !r.OK {
			a.bad++
		}
		if r.Client.Failed > 0 && (r.Client.Outage > a.outage || !r.Client.Recovered) {
			a.outage = r.Client.Outage
		}
		a.recovery = max(a.recovery, r.Recovery)
		a.gap = max(a.gap, r.Client.MaxGap)
	}
	var b strings.Builder
	for _, k := range keys {
		a := byKey[k]
		if a.runs < 2 && os.Getenv("SHC_REPEAT") == "" {
			continue
		}
		fmt.Fprintf(&b, "\n%s, fault %s: %d runs, %d failed; longest time without an answer through the VIP %.2f s; worst client outage %s; worst recovery %s\n",
			a.set, a.name, a.runs, a.bad, a.gap.Seconds(), dur(a.outage, a.outage > 0), dur(a.recovery, true))
	}
	return b.String()
}
