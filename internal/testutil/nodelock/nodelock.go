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
// which process holds the lock. In a test binary the wait is bounded by
// the binary's own -timeout (go test's default is 10 minutes, counted from
// the binary's start): half a minute before it, the wait gives up with an
// error that says why, instead of the test binary's panic.
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
	"syscall"
	"time"
)

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
// binary, until half a minute before the binary's -timeout. The lock is
// held until the returned file is closed (or the process ends).
func Take(ctx context.Context, path string, log Printer) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR|syscall.O_NOFOLLOW, 0o644)
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
				log.Printf("node lock %s taken after waiting %s", path, time.Since(since).Round(time.Second))
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
			return nil, fmt.Errorf("waited %s for the node lock %s, held by %s: this test binary's -timeout ends in less than 30 s, too soon to boot nodes; "+
				"packages that boot nodes run one at a time (go test -p 1 ./..., make check)", now.Sub(since).Round(time.Second), path, holder(f))
		}
		if said.IsZero() || now.Sub(said) >= 30*time.Second {
			said = now
			bound := ""
			if bounded {
				bound = fmt.Sprintf(", at most %s more (this test binary's -timeout)", deadline.Sub(now).Round(time.Second))
			}
			log.Printf("waiting for the node lock %s (one set of nodes at a time on this machine): held by %s; waited %s%s",
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
		return fmt.Sprintf("pid %s (%s)", fs[4], strings.TrimSpace(strings.ReplaceAll(cmd, "\x00", " ")))
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
