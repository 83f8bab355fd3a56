package instance

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// helperEnv selects a helper mode of the test binary (see TestMain): a
// test re-executes the binary, often as another user, to act as a hostile
// process while the test runs.
const helperEnv = "STACKHA_INSTANCE_TEST_HELPER"

// nobody is the hostile service user of the root tests.
const nobody = 65534

func TestMain(m *testing.M) {
	if mode := os.Getenv(helperEnv); mode != "" {
		os.Exit(runHelper(mode))
	}
	// A test that forgets setRoot must not touch the real /run/stackha.
	dir, err := os.MkdirTemp("", "instance-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	Root = filepath.Join(dir, "stackha")
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func runHelper(mode string) int {
	switch mode {
	case "exchange":
		return exchangeHelper()
	}
	fmt.Fprintf(os.Stderr, "unknown helper mode %q\n", mode)
	return 2
}

// setRoot points Root at a fresh directory of the test's (not yet created)
// for the test's duration.
func setRoot(t *testing.T) string {
	t.Helper()
	saved := Root
	Root = filepath.Join(t.TempDir(), "stackha")
	t.Cleanup(func() { Root = saved })
	return Root
}

// helperBinary is a copy of the test binary that any user can run (the go
// command builds it in a directory only its user can enter).
func helperBinary(t *testing.T, dir string) string {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	in, err := os.Open(self)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	bin := filepath.Join(dir, "instance.test")
	out, err := os.OpenFile(bin, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
	return bin
}

// publicDir is a fresh directory of root's that every user can enter (a
// t.TempDir is 0700).
func publicDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "instance-public-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}
