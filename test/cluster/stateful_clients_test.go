package cluster

import (
	"testing"
	"time"

	"github.com/stackha/stackha/test/cluster/harness"
)

func TestSteady(t *testing.T) {
	now := time.Now()
	at := func(startAgo, endAgo time.Duration, ok bool) harness.Attempt {
		return harness.Attempt{Start: now.Add(-startAgo), End: now.Add(-endAgo), OK: ok}
	}
	s := time.Second
	for _, tc := range []struct {
		name string
		as   []harness.Attempt
		want bool
	}{
		{"three good in the last 3 s", []harness.Attempt{at(2*s, 2*s, true), at(s, s, true), at(s/2, s/2, true)}, true},
		{"two only", []harness.Attempt{at(2*s, 2*s, true), at(s, s, true)}, false},
		{"a failure ended within 3 s", []harness.Attempt{at(10*s, s, false), at(2*s, 2*s, true), at(s, s, true), at(s/2, s/2, true)}, false},
		{"an old failure", []harness.Attempt{at(10*s, 9*s, false), at(2*s, 2*s, true), at(s, s, true), at(s/2, s/2, true)}, true},
		{"none", nil, false},
	} {
		if got := steady(tc.as, 3*time.Second); got != tc.want {
			t.Errorf("%s: steady %t, want %t", tc.name, got, tc.want)
		}
	}
}

func TestWritesRecovered(t *testing.T) {
	t0 := time.Unix(1000, 0)
	at := func(start, end float64, ok bool) harness.Attempt {
		return harness.Attempt{Start: t0.Add(time.Duration(start * float64(time.Second))), End: t0.Add(time.Duration(end * float64(time.Second))), OK: ok}
	}
	for _, tc := range []struct {
		name string
		as   []harness.Attempt
		want time.Duration
	}{
		// a stall: no write failed, the first acknowledged ended late
		{"stalled", []harness.Attempt{at(0.1, 6.2, true), at(0.3, 6.3, true), at(6.4, 6.5, true)}, 6200 * time.Millisecond},
		// failures: the first success started after the last failure
		{"failed", []harness.Attempt{at(0.1, 1, false), at(2, 2.1, true), at(3, 4, false), at(4.5, 4.6, true)}, 4600 * time.Millisecond},
		{"never", []harness.Attempt{at(0.1, 1, false)}, 0},
	} {
		if got := writesRecovered(tc.as, t0); got != tc.want {
			t.Errorf("%s: %s, want %s", tc.name, got, tc.want)
		}
	}
}
