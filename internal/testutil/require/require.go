// Package require holds the guards of tests that need more than a plain
// build machine: root, a network namespace, a program from Debian. Outside
// CI they skip with a message saying what they need; under CI=true they
// fail instead, so CI never passes by skipping.
package require

import (
	"os"
	"os/exec"
	"testing"
)

// InCI reports whether a missing prerequisite must fail the test: under CI
// (CI=true) and under `make check` (STACKHA_ALL_TIERS=1).
func InCI() bool { return os.Getenv("CI") == "true" || os.Getenv("STACKHA_ALL_TIERS") == "1" }

func missing(t testing.TB, what string) {
	t.Helper()
	if InCI() {
		t.Fatalf("CI=true and this test needs %s", what)
	}
	t.Skipf("SKIP: needs %s (runs for real under CI=true as root)", what)
}

// Root makes the test need root.
func Root(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		missing(t, "root")
	}
}

// Command makes the test need the named programs on PATH (or at absolute
// paths).
func Command(t testing.TB, names ...string) {
	t.Helper()
	for _, n := range names {
		if _, err := exec.LookPath(n); err != nil {
			missing(t, "the program "+n)
		}
	}
}

// File makes the test need the named files.
func File(t testing.TB, paths ...string) {
	t.Helper()
	for _, p := range paths {
		if _, err := os.Stat(p); err != nil {
			missing(t, "the file "+p)
		}
	}
}
