package bench

import (
	"testing"
	"time"
)

func TestQuantile(t *testing.T) {
	ds := []time.Duration{5, 1, 4, 2, 3}
	for _, tc := range []struct {
		q    float64
		want time.Duration
	}{{0, 1}, {0.5, 3}, {0.9, 5}, {1, 5}} {
		if got := quantile(ds, tc.q); got != tc.want {
			t.Errorf("quantile(%v) = %v, want %v", tc.q, got, tc.want)
		}
	}
	if quantile(nil, 0.5) != 0 || median(ds) != 3 {
		t.Error("median")
	}
	if ds[0] != 5 {
		t.Error("quantile sorted its input in place")
	}
}

func TestVerdict(t *testing.T) {
	if verdict(0) != "0 (sees nothing)" || verdict(7) != "7 (reported)" {
		t.Error(verdict(0), verdict(7))
	}
}
