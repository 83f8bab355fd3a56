package harness

import (
	"regexp"
	"testing"
)

func TestProviderUUID(t *testing.T) {
	uuidRE := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	seen := map[string]bool{}
	for _, tc := range []struct {
		run uint32
		seq int
	}{{0, 1}, {0xdeadbeef, 1}, {0xdeadbeef, 2}, {1, 1 << 40}, {^uint32(0), 1<<48 - 1}} {
		u := providerUUID(tc.run, tc.seq)
		if !uuidRE.MatchString(u) {
			t.Errorf("providerUUID(%#x, %d) = %q: not a version 4 UUID", tc.run, tc.seq, u)
		}
		if seen[u] {
			t.Errorf("providerUUID(%#x, %d) = %q twice", tc.run, tc.seq, u)
		}
		seen[u] = true
	}
}

func TestReplayed(t *testing.T) {
	for _, tc := range []struct {
		errs []string
		want int
	}{
		{nil, 0},
		{[]string{"", "status 500", "connection reset"}, 0},
		{[]string{"status 409", "", "status 409", "status 4090"}, 2},
	} {
		var as []Attempt
		for _, e := range tc.errs {
			as = append(as, Attempt{OK: e == "", Err: e})
		}
		if got := Replayed(as); got != tc.want {
			t.Errorf("Replayed(%q) = %d, want %d", tc.errs, got, tc.want)
		}
	}
}
