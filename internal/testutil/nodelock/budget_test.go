package nodelock

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

// recorder is a testing.TB that records Skipf and Fatalf instead of ending
// the test.
type recorder struct {
	testing.TB
	skipped, failed string
}

func (r *recorder) Helper()                       {}
func (r *recorder) Skipf(format string, a ...any) { r.skipped = fmt.Sprintf(format, a...) }
func (r *recorder) Fatalf(format string, a ...any) {
	r.failed = fmt.Sprintf(format, a...)
}

func TestBudgetAndCheck(t *testing.T) {
	noTime := fmt.Errorf("waited 9m30s for the node lock: %w", ErrNoTime)
	for _, tc := range []struct {
		name   string
		ci     bool
		run    func(testing.TB)
		skip   string // in what Skipf said
		fail   string // in what Fatalf said
		nether bool
	}{
		{name: "enough time", run: func(tb testing.TB) { Budget(tb, time.Second) }, nether: true},
		{name: "not enough time", run: func(tb testing.TB) { Budget(tb, 100*time.Hour) }, skip: "SKIPPED: "},
		{name: "not enough time, CI", ci: true, run: func(tb testing.TB) { Budget(tb, 100*time.Hour) }, fail: "not run"},
		{name: "no error", run: func(tb testing.TB) { Check(tb, "up", nil) }, nether: true},
		{name: "the wait ran out", run: func(tb testing.TB) { Check(tb, "up", noTime) }, skip: "too soon to boot nodes"},
		{name: "the wait ran out, CI", ci: true, run: func(tb testing.TB) { Check(tb, "up", noTime) }, fail: "too soon to boot nodes"},
		{name: "another error", run: func(tb testing.TB) { Check(tb, "up", errors.New("no such agent")) }, fail: "up: no such agent"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("STACKHA_ALL_TIERS", "")
			t.Setenv("CI", "")
			if tc.ci {
				t.Setenv("CI", "true")
			}
			r := &recorder{TB: t}
			tc.run(r)
			switch {
			case tc.nether && (r.skipped != "" || r.failed != ""):
				t.Errorf("skipped %q, failed %q", r.skipped, r.failed)
			case tc.skip != "" && (!strings.Contains(r.skipped, tc.skip) || r.failed != ""):
				t.Errorf("skipped %q, failed %q: want a skip with %q", r.skipped, r.failed, tc.skip)
			case tc.fail != "" && (!strings.Contains(r.failed, tc.fail) || r.skipped != ""):
				t.Errorf("skipped %q, failed %q: want a failure with %q", r.skipped, r.failed, tc.fail)
			}
		})
	}
}
