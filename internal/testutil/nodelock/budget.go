package nodelock

import (
	"errors"
	"os"
	"testing"
	"time"
)

// Budget skips t, saying why, when less than need is left of the test
// binary's -timeout. Under `go test ./...` (two packages at a time, ten
// minutes each, counted from the binary's start) a package that waited for
// another's nodes may not have the time its longest tiers take, and go test
// would kill it half-way (a failure that says nothing about the code).
// `make check` and CI give every package 40 minutes, one at a time; there
// (CI=true or STACKHA_ALL_TIERS=1) a short budget fails instead.
func Budget(t testing.TB, need time.Duration) {
	t.Helper()
	end, ok := testDeadline()
	if !ok {
		return
	}
	left := time.Until(end)
	if left >= need {
		return
	}
	msg := "%s is left of this test binary's -timeout (go test's default is 10 minutes, spent on this package's earlier tests and on waiting for another package's nodes), " +
		"and this takes about %s: not run. `make check`, or go test -timeout 40m, runs it."
	if os.Getenv("CI") == "true" || os.Getenv("STACKHA_ALL_TIERS") == "1" {
		t.Fatalf(msg, left.Round(time.Second), need)
		return
	}
	t.Skipf("SKIPPED: "+msg, left.Round(time.Second), need)
}

// Check ends t on err, an error of bringing nodes up: a wait for the lock
// that ran out of the binary's -timeout (ErrNoTime) skips t, saying why,
// but in CI (CI=true or STACKHA_ALL_TIERS=1), where it fails as any other.
func Check(t testing.TB, what string, err error) {
	t.Helper()
	if err == nil {
		return
	}
	if errors.Is(err, ErrNoTime) && os.Getenv("CI") != "true" && os.Getenv("STACKHA_ALL_TIERS") != "1" {
		t.Skipf("SKIPPED: %s: %v (`make check`, or go test -timeout 40m, runs it)", what, err)
		return
	}
	t.Fatalf("%s: %v", what, err)
}
