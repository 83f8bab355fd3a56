package cluster

import (
	"strings"
	"testing"
	"time"

	"github.com/stackha/stackha/test/cluster/harness"
	"github.com/stackha/stackha/test/cluster/watch"
)

func TestFormatResults(t *testing.T) {
	rows := []FaultResult{
		{Set: "stackha", ID: 2, Name: "kill", Client: harness.Summary{Total: 10, Failed: 2, Outage: 1500 * time.Millisecond},
			Detected: time.Second, Recovery: 1500 * time.Millisecond, Outcome: "restarted", OK: true,
			Watched: true, Split: watch.Result{Samples: 40, SplitBrain: 3}},
		{Set: "heartbeat", ID: 4, Name: "link", Client: harness.Summary{Total: 5, Failed: 5}, Outcome: "stayed", OK: true},
		{Set: "heartbeat", ID: 7, Name: "reload", Skip: "needs x", OK: true},
		{Set: "stackha", ID: 3, Name: "vip", Outcome: "x", OK: false},
	}
	got := FormatResults(rows)
	for _, want := range []string{
		"| stackha | 2 | kill | 2 / 10 | 1.50 s | 1.00 s | 1.50 s | 3 / 40 | restarted |",
		"| heartbeat | 4 | link | 5 / 5 | never | never | never | - | stayed |",
		"| heartbeat | 7 | reload | - | - | - | - | - | not run: needs x |",
		"**UNEXPECTED**",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("table lacks %q:\n%s", want, got)
		}
	}
}
