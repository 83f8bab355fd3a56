package instance

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

func lockPath(name string) string { return filepath.Join(Root, lockDir, name) }

func mustLock(t *testing.T, ctx context.Context, name, action string) func() {
	t.Helper()
	release, err := Lock(ctx, name, action)
	if err != nil {
		t.Fatalf("Lock(%s, %s): %v", name, action, err)
	}
	return release
}

// The second Lock of a name waits until the first is released.
func TestLockWaits(t *testing.T) {
	setRoot(t)
	release := mustLock(t, context.Background(), "vip", "start")
	for p, m := range map[string]os.FileMode{
		filepath.Join(Root, lockDir): os.ModeDir | 0o700,
		lockPath("vip"):              0o600,
	} {
		if got := mode(t, p); got != m {
			t.Errorf("%s: mode %v, want %v", p, got, m)
		}
	}
	if got := readFile(t, lockPath("vip")); !strings.HasPrefix(got, strconv.Itoa(os.Getpid())+" start ") {
		t.Errorf("the lock file says %q", got)
	}
	got := make(chan error, 1)
	var second func()
	go func() {
		var err error
		second, err = Lock(context.Background(), "vip", "monitor")
		got <- err
	}()
	select {
	case err := <-got:
		t.Fatalf("the second Lock returned while the first held it: %v", err)
	case <-time.After(300 * time.Millisecond):
	}
	release()
	select {
	case err := <-got:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the second Lock still waits 5 s after the release")
	}
	if got := readFile(t, lockPath("vip")); !strings.HasPrefix(got, strconv.Itoa(os.Getpid())+" monitor ") {
		t.Errorf("the lock file says %q after the second Lock", got)
	}
	second()
	second() // twice is harmless
	mustLock(t, context.Background(), "vip", "stop")()
}

// A waiter that gives up says who holds the lock.
func TestLockBusy(t *testing.T) {
	setRoot(t)
	release := mustLock(t, context.Background(), "haproxy:1", "start")
	defer release()
	for _, timeout := range []time.Duration{0, 200 * time.Millisecond} {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		begin := time.Now()
		_, err := Lock(ctx, "haproxy:1", "monitor")
		cancel()
		if !errors.Is(err, ErrBusy) {
			t.Fatalf("timeout %v: %v, want ErrBusy", timeout, err)
		}
		if d := time.Since(begin); d < timeout/2 || d > timeout+2*time.Second { // timers are not exact
			t.Errorf("timeout %v: gave up after %v", timeout, d)
		}
		for _, want := range []string{`pid "` + strconv.Itoa(os.Getpid()) + `"`, `"start" since`, "held its lock until the deadline"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("timeout %v: %v does not say %s", timeout, err, want)
			}
		}
	}
	// The holder's note is quoted whatever it holds.
	if err := os.WriteFile(lockPath("haproxy:1"), []byte("1 \x1b[2J x\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	_, err := Lock(ctx, "haproxy:1", "monitor")
	if !errors.Is(err, ErrBusy) || !strings.Contains(err.Error(), `"\x1b[2J"`) || !printableASCII(err.Error()) {
		t.Errorf("a forged note: %q", err)
	}
	if err := os.WriteFile(lockPath("haproxy:1"), []byte("garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Lock(ctx, "haproxy:1", "monitor"); !errors.Is(err, ErrBusy) || !strings.Contains(err.Error(), "holder unknown") {
		t.Errorf("an unreadable note: %v", err)
	}
}

func TestLockNamesAreIndependent(t *testing.T) {
	setRoot(t)
	defer mustLock(t, context.Background(), "vip", "start")()
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	for _, name := range []string{"haproxy", "haproxy:1", "vip:0", "secé"} {
		defer mustLock(t, ctx, name, "start")()
	}
}

func TestLockRefuses(t *testing.T) {
	setRoot(t)
	for _, name := range []string{"", "..", ".locks", "../x", "a/b", "a\nb"} {
		if _, err := Lock(context.Background(), name, "start"); err == nil || !strings.Contains(err.Error(), "not a valid instance name") {
			t.Errorf("Lock(%q): %v", name, err)
		}
	}
	if err := os.MkdirAll(Root, 0o777); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(Root, 0o777); err != nil {
		t.Fatal(err)
	}
	_, err := Lock(context.Background(), "vip", "start")
	var ue *UntrustedError
	if !errors.As(err, &ue) {
		t.Errorf("Lock under a Root others can write: %v, want an *UntrustedError", err)
	}
	if err := os.Chmod(Root, 0o755); err != nil {
		t.Fatal(err)
	}
	// A lock file that is a link is never followed.
	if err := os.MkdirAll(filepath.Join(Root, lockDir), 0o700); err != nil {
		t.Fatal(err)
	}
	target := filepath.Join(filepath.Dir(Root), "target")
	writeFile(t, target, "root's", 0o600)
	if err := os.Symlink(target, lockPath("vip")); err != nil {
		t.Fatal(err)
	}
	_, err = Lock(context.Background(), "vip", "start")
	wantErr(t, "a lock file that is a link", err, "symbolic link")
	if got := readFile(t, target); got != "root's" {
		t.Errorf("Lock wrote through a link: %q", got)
	}
}

// What runs under the lock never inherits it: a child started while it is
// held neither has it open nor keeps it after the release.
func TestLockNotInherited(t *testing.T) {
	setRoot(t)
	release := mustLock(t, context.Background(), "vip", "start")
	cmd := exec.Command("sleep", "30")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		cmd.Process.Kill()
		cmd.Wait()
	}()
	fds, err := os.ReadDir("/proc/" + strconv.Itoa(cmd.Process.Pid) + "/fd")
	if err != nil {
		t.Fatal(err)
	}
	for _, fd := range fds {
		link, _ := os.Readlink("/proc/" + strconv.Itoa(cmd.Process.Pid) + "/fd/" + fd.Name())
		if strings.HasPrefix(link, Root) {
			t.Errorf("the child has fd %s open on %s", fd.Name(), link)
		}
	}
	release()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	mustLock(t, ctx, "vip", "stop")()
}
