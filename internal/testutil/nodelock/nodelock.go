// Package nodelock is the one lock, on a machine, of everything that boots
// nodes: the cluster harness's namespaced Pacemaker nodes
// (test/cluster/harness: test/cluster..., make demo, the failover
// benchmark) and test/sysnode's systemd nodes (test/sysnode,
// agents/openstack). One set of nodes at a time: a second set would take
// the cores the first one's timings need (the fault tests measure
// outages), and each one's stale-state cleanup runs only under the lock.
//
// `go test ./...` runs two packages at a time: a package that boots nodes
// may wait here for another. While it waits it says, every 30 seconds,
// which process holds the lock. A test binary, once it has the lock, holds
// it until it exits (its tests still take turns among themselves): a
// package waits at most once, for the whole of one other package, never
// again between two of its own tests. The wait is bounded by the binary's
// own -timeout (go test's default is 10 minutes, counted from the binary's
// start): half a minute before it, the wait gives up with an error that
// says why (ErrNoTime), instead of the test binary's panic. A test skips on
// it (Check), and a long tier skips when less of the -timeout is left than
// it takes (Budget), saying so: under go test's defaults the packages'
// node tiers do not all fit in ten minutes each; `make check` and CI give
// them 40 and fail instead of skipping. Elsewhere (make demo, the
// benchmarks) the lock is held from Take to Close.
package nodelock

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// ErrNoTime is why a wait for the lock gave up: the test binary's -timeout
// ends too soon to boot nodes.
var ErrNoTime = errors.New("this test binary's -timeout ends in less than 30 s, too soon to boot nodes")

// Path is the lock file (the harness's, from before there was one lock).
const Path = "/var/tmp/shc.lock"

// started approximates the start of the test binary's -timeout clock.
var started = time.Now()

// Printer is where the waiting is said (the harness's and sysnode's
// loggers).
type Printer interface {
	Printf(format string, args ...any)
}

// Take takes the lock at path, waiting for it within ctx and, in a test
// binary, until half a minute before the binary's -timeout. The caller
// holds it until it closes the returned file; a test binary keeps the
// machine's lock until it exits.
func Take(ctx context.Context, path string, log Printer) (*os.File, error) {
	if _, inTest := testDeadline(); !inTest {
		return take(ctx, path, log, func() (*os.File, error) {
			return os.OpenFile(path, os.O_CREATE|os.O_RDWR|syscall.O_NOFOLLOW, 0o644)
		}, holder)
	}
	gate, err := hold(ctx, path, log)
	if err != nil {
		return nil, err
	}
	// Each open of /proc/self/fd/N is a file description of its own: its
	// flock excludes the binary's other tests, and goes with its Close.
	return take(ctx, gate, log, func() (*os.File, error) { return os.OpenFile(gate, os.O_RDWR, 0) },
		func(*os.File) string { return "another test of this binary" })
}

// held is, per lock path, the machine's lock this test binary holds and
// the unlinked file its tests take turns on.
var held = struct {
	sync.Mutex
	gate map[string]string
	keep []*os.File
}{gate: map[string]string{}}

// hold takes the machine's lock at path for the rest of the test binary,
// once, and returns the path of the binary's own gate for it.
func hold(ctx context.Context, path string, log Printer) (string, error) {
	held.Lock()
	defer held.Unlock()
	if g, ok := held.gate[path]; ok {
		return g, nil
	}
	f, err := take(ctx, path, log, func() (*os.File, error) {
		return os.OpenFile(path, os.O_CREATE|os.O_RDWR|syscall.O_NOFOLLOW, 0o644)
	}, holder)
	if err != nil {
		return "", err
	}
	g, err := os.CreateTemp("", "nodelock-gate-")
	if err == nil {
		err = os.Remove(g.Name())
	}
	if err != nil {
		f.Close()
		return "", fmt.Errorf("the test binary's gate for %s: %w", path, err)
	}
	say(log, "node lock %s: held by this test binary (pid %d) until it exits", path, os.Getpid())
	held.keep = append(held.keep, f, g)
	held.gate[path] = fmt.Sprintf("/proc/self/fd/%d", g.Fd())
	return held.gate[path], nil
}

// take waits for an exclusive flock on the file open returns.
func take(ctx context.Context, path string, log Printer, open func() (*os.File, error), holder func(*os.File) string) (*os.File, error) {
	f, err := open()
	if err != nil {
		return nil, fmt.Errorf("opening the node lock: %w", err)
	}
	deadline, bounded := testDeadline()
	var since time.Time
	var said time.Time
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			if !since.IsZero() {
				say(log, "node lock %s taken after waiting %s", path, time.Since(since).Round(time.Second))
			}
			return f, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			f.Close()
			return nil, fmt.Errorf("locking %s: %w", path, err)
		}
		now := time.Now()
		if since.IsZero() {
			since = now
		}
		if bounded && now.After(deadline) {
			defer f.Close()
			return nil, fmt.Errorf("waited %s for the node lock %s, held by %s: %w; "+
				"packages that boot nodes run one at a time (go test -p 1 ./..., make check)", now.Sub(since).Round(time.Second), path, holder(f), ErrNoTime)
		}
		if said.IsZero() || now.Sub(said) >= 30*time.Second {
			said = now
			bound := ""
			if bounded {
				bound = fmt.Sprintf(", at most %s more (this test binary's -timeout)", deadline.Sub(now).Round(time.Second))
			}
			say(log, "waiting for the node lock %s (one set of nodes at a time on this machine): held by %s; waited %s%s",
				path, holder(f), now.Sub(since).Round(time.Second), bound)
		}
		select {
		case <-ctx.Done():
			defer f.Close()
			return nil, fmt.Errorf("waiting for the node lock %s, held by %s: %w", path, holder(f), ctx.Err())
		case <-time.After(time.Second):
		}
	}
}

// say tells log, and in a test binary its stderr too: the test's own
// logger may write nowhere, and a wait must not go unsaid.
func say(log Printer, format string, args ...any) {
	log.Printf(format, args...)
	if _, inTest := testDeadline(); inTest {
		fmt.Fprintf(os.Stderr, "nodelock: "+format+"\n", args...)
	}
}

// testDeadline is half a minute before the end of the test binary's
// -timeout, when this runs in a test binary with one.
func testDeadline() (time.Time, bool) {
	fl := flag.Lookup("test.timeout")
	if fl == nil {
		return time.Time{}, false
	}
	g, ok := fl.Value.(flag.Getter)
	if !ok {
		return time.Time{}, false
	}
	d, ok := g.Get().(time.Duration)
	if !ok || d <= 0 {
		return time.Time{}, false
	}
	return started.Add(d - 30*time.Second), true
}

// holder names the process holding the flock on f, from /proc/locks: its
// pid and command line, or "another process" when it cannot be told.
func holder(f *os.File) string {
	var st syscall.Stat_t
	if err := syscall.Fstat(int(f.Fd()), &st); err != nil {
		return "another process"
	}
	locks, err := readBounded("/proc/locks", 1<<20)
	if err != nil {
		return "another process"
	}
	// "1: FLOCK  ADVISORY  WRITE 1234 00:1f:5678 0 EOF"
	want := ":" + strconv.FormatUint(st.Ino, 10)
	for _, l := range strings.Split(locks, "\n") {
		fs := strings.Fields(l)
		if len(fs) < 6 || fs[1] != "FLOCK" || fs[4] == strconv.Itoa(os.Getpid()) || !strings.HasSuffix(fs[5], want) {
			continue
		}
		cmd, err := readBounded("/proc/"+fs[4]+"/cmdline", 4096)
		if err != nil {
			return "pid " + fs[4]
		}
		cmd = strings.TrimSpace(strings.ReplaceAll(cmd, "\x00", " "))
		if len(cmd) > 200 {
			cmd = cmd[:200] + "..."
		}
		return fmt.Sprintf("pid %s (%s)", fs[4], cmd)
	}
	return "another process"
}

func readBounded(path string, limit int64) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, limit))
	return string(b), err
}
