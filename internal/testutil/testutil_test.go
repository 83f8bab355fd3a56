package testutil

import (
	"testing"
	"time"
)

func TestMedianQuantile(t *testing.T) {
	ms := time.Millisecond
	cases := []struct {
		in     []time.Duration
		median time.Duration
		p90    time.Duration
	}{
		{nil, 0, 0},
		{[]time.Duration{3 * ms}, 3 * ms, 3 * ms},
		{[]time.Duration{4 * ms, 1 * ms}, 2500 * time.Microsecond, 4 * ms},
		{[]time.Duration{5 * ms, 1 * ms, 3 * ms}, 3 * ms, 5 * ms},
	}
	for _, c := range cases {
		if got := Median(c.in); got != c.median {
			t.Errorf("Median(%v) = %v, want %v", c.in, got, c.median)
		}
		if got := Quantile(c.in, 0.9); got != c.p90 {
			t.Errorf("Quantile(%v, 0.9) = %v, want %v", c.in, got, c.p90)
		}
	}
}

func TestFreePortsDistinct(t *testing.T) {
	ps, err := FreePorts(5)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[int]bool{}
	for _, p := range ps {
		if p <= 0 || seen[p] {
			t.Fatalf("ports %v: not distinct and positive", ps)
		}
		seen[p] = true
	}
}
