package nodelock

import (
	"bufio"
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stackha/stackha/internal/testutil/require"
)

type printer struct{ lines []string }

func (p *printer) Printf(format string, args ...any) {
	p.lines = append(p.lines, fmt.Sprintf(format, args...))
}

// TestTakeWaitsAndSaysForWhom: a lock held by another process is waited
// for, and the wait names that process; once it lets go, Take gets it.
func TestTakeWaitsAndSaysForWhom(t *testing.T) {
	require.Command(t, "flock", "sh")
	path := filepath.Join(t.TempDir(), "nodes.lock")
	// The holder says it holds the lock, then holds it until its stdin closes.
	h := exec.Command("flock", path, "sh", "-c", "echo held; read x")
	stdin, err := h.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := h.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := h.Start(); err != nil {
		t.Fatal(err)
	}
	defer h.Wait()
	defer stdin.Close()
	if l, err := bufio.NewReader(out).ReadString('\n'); err != nil || l != "held\n" {
		t.Fatalf("holder: %q %v", l, err)
	}
	holderPid := fmt.Sprintf("pid %d ", h.Process.Pid)

	for _, tc := range []struct {
		name    string
		release bool // the holder lets go while Take waits
	}{
		{"held throughout", false},
		{"released", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var p printer
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
			defer cancel()
			if tc.release {
				stdin.Close()
				ctx = context.Background()
			}
			f, err := Take(ctx, path, &p)
			switch {
			case tc.release && err != nil:
				t.Fatalf("Take after the holder let go: %v", err)
			case tc.release:
				f.Close()
			case err == nil:
				f.Close()
				t.Fatal("Take got a lock another process holds")
			case !strings.Contains(err.Error(), holderPid) || !strings.Contains(err.Error(), "flock "+path):
				t.Errorf("error %q does not name the holder (%s)", err, holderPid)
			}
			if !tc.release && (len(p.lines) == 0 || !strings.Contains(p.lines[0], "waiting for the node lock "+path) || !strings.Contains(p.lines[0], holderPid)) {
				t.Errorf("the wait was not said with its holder (%s): %q", holderPid, p.lines)
			}
		})
	}
}

// TestOneTestAtATime: a test binary keeps the machine's lock once it has
// it, and its own tests still take turns.
func TestOneTestAtATime(t *testing.T) {
	require.Command(t, "flock")
	path := filepath.Join(t.TempDir(), "nodes.lock")
	var p printer
	first, err := Take(context.Background(), path, &p)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if f, err := Take(ctx, path, &p); err == nil {
		f.Close()
		t.Fatal("a second test got the lock the first one holds")
	} else if !strings.Contains(err.Error(), "another test of this binary") {
		t.Errorf("error %q does not say who holds it", err)
	}
	first.Close()
	second, err := Take(context.Background(), path, &p)
	if err != nil {
		t.Fatalf("after the first test let go: %v", err)
	}
	second.Close()
	// Closed by both tests, the machine's lock is still this binary's.
	if out, err := exec.Command("flock", "-n", path, "true").CombinedOutput(); err == nil {
		t.Errorf("another process took the lock this test binary holds (%s)", out)
	}
}

// TestDeadlineFromTestTimeout: in a test binary run with a -timeout, the
// wait ends half a minute before it.
func TestDeadlineFromTestTimeout(t *testing.T) {
	d, ok := testDeadline()
	dl, has := t.Deadline()
	if ok != has {
		t.Fatalf("bounded %t, but the test has a deadline: %t", ok, has)
	}
	if ok && (d.After(dl.Add(-29*time.Second)) || d.Before(dl.Add(-31*time.Second-time.Minute))) {
		t.Errorf("wait bound %s, test deadline %s: want about 30 s before it", d, dl)
	}
}
