package cluster

import (
	"strings"
	"testing"
	"time"

	"github.com/stackha/stackha/test/cluster/harness"
)

// FormatCrash: medians per variant, and the runs that lost the DC apart.
func TestFormatCrash(t *testing.T) {
	ms := time.Millisecond
	res := []CrashResult{
		{Variant: CrashVariant{Label: "fenced", Opts: harness.Options{Fencing: true}}, Runs: []CrashRun{
			{Failover: 1300 * ms, Fenced: 1100 * ms, FencedFirst: true},
			{Failover: 2300 * ms, Fenced: 2100 * ms, FencedFirst: true, LostDC: true},
			{Failover: 2500 * ms, Fenced: 2200 * ms, FencedFirst: true, LostDC: true, Split: 0},
		}},
		{Variant: CrashVariant{Label: "keepalived", Opts: harness.Options{Keepalived: true}}, Runs: []CrashRun{
			{Failover: 3700 * ms, Split: 2},
		}},
		{Variant: CrashVariant{Label: "empty"}},
	}
	got := FormatCrash(res)
	for _, want := range []string{
		"| fenced | 3 | 2300 ms | 1300 ms | 2500 ms | 2100 ms | 3 of 3 | 0 | 0 | 2: 2400 ms |",
		"| keepalived | 1 | 3700 ms | 3700 ms | 3700 ms | - | - (no fencing) | 0 | 2 | - (no DC) |",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("FormatCrash lacks\n%s\nin\n%s", want, got)
		}
	}
	if strings.Contains(got, "| empty |") {
		t.Errorf("a variant without runs is listed:\n%s", got)
	}
}

// The link-loss table: one row per cluster, the median of its runs, a
// cluster without runs left out.
func TestFormatLinkLoss(t *testing.T) {
	got := FormatLinkLoss([]LinkLossResult{
		{Label: "keepalived + haproxy, 2 nodes", Runs: []LinkLoss{{Outage: 3600 * time.Millisecond, Failed: 300}, {Outage: 3200 * time.Millisecond, Failed: 280}, {Outage: 3900 * time.Millisecond, Failed: 320}}},
		{Label: "no runs"},
	})
	for _, want := range []string{"| keepalived + haproxy, 2 nodes | 3 | 3600 ms | 3200 ms | 3900 ms | 3.60 s, 3.20 s, 3.90 s | 300 |"} {
		if !strings.Contains(got, want) {
			t.Errorf("table has no %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "no runs") {
		t.Errorf("a cluster without runs has a row:\n%s", got)
	}
}
