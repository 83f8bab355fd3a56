package cluster

import (
	"testing"
	"time"

	"github.com/stackha/stackha/test/cluster/harness"
)

// Only a reset, or an answer (or its body) that never came before a
// timeout, of a request begun before another node answered (the window's
// end) is counted apart.
func TestLostByMove(t *testing.T) {
	t0 := time.Now()
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	moves := []window{{at(1000), at(2000)}}
	cases := []struct {
		name string
		a    harness.Attempt
		want bool
	}{
		{"reset during the move", harness.Attempt{Start: at(990), End: at(1010), Err: "read: connection reset by peer"}, true},
		{"reset before the move", harness.Attempt{Start: at(100), End: at(200), Err: "read: connection reset by peer"}, false},
		{"reset after the move", harness.Attempt{Start: at(2100), End: at(2200), Err: "read: connection reset by peer"}, false},
		{"timeout during the move", harness.Attempt{Start: at(1100), End: at(1400), Err: "context deadline exceeded"}, false},
		{"body cut off by a timeout during the move", harness.Attempt{Start: at(990), End: at(3990), Err: "reading the body: read tcp 192.0.2.50:38006->192.0.2.100:5000: i/o timeout"}, true},
		{"body cut off by a timeout after the move", harness.Attempt{Start: at(2100), End: at(5100), Err: "reading the body: read tcp 192.0.2.50:38006->192.0.2.100:5000: i/o timeout"}, false},
		{"no answer in time, begun before the new holder answered", harness.Attempt{Start: at(990), End: at(3990), Err: "reading the answer: read tcp 192.0.2.50:38006->192.0.2.100:5000: i/o timeout"}, true},
		{"no answer in time, begun after the new holder answered", harness.Attempt{Start: at(2010), End: at(5010), Err: "reading the answer: read tcp 192.0.2.50:38006->192.0.2.100:5000: i/o timeout"}, false},
		{"no answer in time, begun and ended before the move", harness.Attempt{Start: at(100), End: at(990), Err: "reading the answer: read tcp 192.0.2.50:38006->192.0.2.100:5000: i/o timeout"}, false},
		{"body cut short by a close during the move", harness.Attempt{Start: at(990), End: at(1200), Err: "reading the body: unexpected EOF"}, false},
		{"refused during the move", harness.Attempt{Start: at(1100), End: at(1101), Err: "connect: connection refused"}, false},
	}
	for _, c := range cases {
		if got := lostByMove(c.a, moves); got != c.want {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
	if lostByMove(harness.Attempt{Start: at(1500), End: at(1600), Err: "connection reset by peer"}, nil) {
		t.Error("no move, yet counted as reset by one")
	}
}
