package harness

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/stackha/stackha/test/labcheck"
)

// leakCheck verifies that no process, mount or namespace of this run is left.
func (c *Cluster) leakCheck() error {
	var errs []error
	if left := ourNamespaces(); len(left) > 0 {
		errs = append(errs, fmt.Errorf("leak: namespaces left: %s", strings.Join(left, ", ")))
	}
	if left := ourMounts(); len(left) > 0 {
		errs = append(errs, fmt.Errorf("leak: mounts left: %s", strings.Join(left, ", ")))
	}
	// Every thread of every process: a thread of this very process that
	// entered a namespace counts too.
	for _, t := range labcheck.Threads(c.nsIno) {
		errs = append(errs, fmt.Errorf("leak: thread %s", t))
	}
	if _, err := os.Stat(BaseDir); err == nil {
		errs = append(errs, fmt.Errorf("leak: %s still exists", BaseDir))
	}
	return errors.Join(errs...)
}

// ourNamespaces lists the network namespaces named with the harness's
// prefix.
func ourNamespaces() []string { return labcheck.Namespaces(Prefix) }

// ourMounts lists the host's mount points under BaseDir, deepest first.
func ourMounts() []string { return labcheck.Mounts(BaseDir) }

// cleanStale removes what a crashed run of this harness left: processes
// inside namespaces named shc-* (by pid), mounts under BaseDir, those
// namespaces and BaseDir. Nothing else is touched. The caller holds the lock.
func cleanStale(ctx context.Context, l *Logger) error {
	if len(ourNamespaces()) == 0 && len(ourMounts()) == 0 {
		if _, err := os.Stat(BaseDir); err != nil {
			return nil
		}
	}
	l.Printf("removing state left by a previous run: namespaces %v, mounts %v", ourNamespaces(), ourMounts())
	return removeAll(ctx, l)
}

// removeAll kills what runs in the harness's namespaces (by pid), unmounts,
// deletes the namespaces and BaseDir.
func removeAll(ctx context.Context, l *Logger) error {
	var errs []error
	for round := 0; round < 20; round++ {
		pids := nsPids(ctx)
		if len(pids) == 0 {
			break
		}
		if round == 0 {
			l.Printf("  killing processes left in the harness's namespaces: %v", pids)
		}
		for _, pid := range pids {
			syscall.Kill(pid, syscall.SIGKILL)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if pids := nsPids(ctx); len(pids) > 0 {
		errs = append(errs, fmt.Errorf("processes %v survive in the harness's namespaces", pids))
	}
	for _, m := range ourMounts() {
		if _, err := Run(ctx, "umount", m); err != nil {
			if _, err2 := Run(ctx, "umount", "-l", m); err2 != nil {
				errs = append(errs, err)
			}
		}
	}
	for _, ns := range ourNamespaces() {
		if _, err := Run(ctx, "ip", "netns", "del", ns); err != nil {
			errs = append(errs, err)
		}
	}
	if err := os.RemoveAll(BaseDir); err != nil {
		errs = append(errs, fmt.Errorf("removing %s: %w", BaseDir, err))
	}
	return errors.Join(errs...)
}

// nsPids lists the processes inside the harness's network namespaces, and
// those inside its nodes' mount namespaces.
func nsPids(ctx context.Context) []int {
	seen := map[int]bool{}
	var pids []int
	for _, ns := range ourNamespaces() {
		out, err := Run(ctx, "ip", "netns", "pids", ns)
		if err != nil {
			continue
		}
		for _, f := range strings.Fields(out) {
			if pid, err := strconv.Atoi(f); err == nil && pid != os.Getpid() && !seen[pid] {
				seen[pid] = true
				pids = append(pids, pid)
			}
		}
	}
	mnt := map[uint64]bool{}
	var self syscall.Stat_t
	syscall.Stat("/proc/self/ns/mnt", &self)
	m, _ := filepath.Glob(filepath.Join(nsDir(), "*.mnt"))
	for _, f := range m {
		// Only a handle still bound to a namespace (on nsfs) names one.
		var st syscall.Stat_t
		if syscall.Stat(f, &st) == nil && st.Dev == self.Dev {
			mnt[st.Ino] = true
		}
	}
	if len(mnt) > 0 {
		procs, _ := filepath.Glob("/proc/[0-9]*")
		for _, p := range procs {
			var st syscall.Stat_t
			if syscall.Stat(p+"/ns/mnt", &st) != nil || !mnt[st.Ino] {
				continue
			}
			if pid, err := strconv.Atoi(filepath.Base(p)); err == nil && pid != os.Getpid() && !seen[pid] {
				seen[pid] = true
				pids = append(pids, pid)
			}
		}
	}
	return pids
}
