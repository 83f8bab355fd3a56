package sysnode

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/stackha/stackha/test/labcheck"
)

// Close powers every node off, removes the namespaces, the cgroups and
// BaseDir, and checks that nothing of the lab is left: no process or
// thread in any of its namespaces, no namespace named ssn-*, no cgroup
// stackha-sysnode, no mount under BaseDir, no BaseDir. It is safe to call
// twice.
func (l *Lab) Close() error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil
	}
	l.closed = true
	l.mu.Unlock()
	t0 := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	l.saveLogs(ctx)
	var errs []error
	for _, n := range l.nodes {
		errs = append(errs, n.PowerOff(ctx))
	}
	errs = append(errs, removeAll(ctx, l.log, l.cg))
	if l.built {
		errs = append(errs, l.leakCheck())
	}
	if l.lock != nil {
		l.lock.Close()
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	l.log.Printf("teardown done, nothing left behind (%s)", time.Since(t0).Round(time.Millisecond))
	return nil
}

// saveLogs copies each running node's journal of this boot, and each
// node's /var/log (what it wrote there), init log and console into LogDir.
func (l *Lab) saveLogs(ctx context.Context) {
	if l.opts.LogDir == "" {
		return
	}
	for _, n := range l.nodes {
		dst := filepath.Join(l.opts.LogDir, n.Name)
		if err := os.MkdirAll(dst, 0o755); err != nil {
			continue
		}
		if n.Pid() != 0 {
			jctx, cancel := context.WithTimeout(ctx, 20*time.Second)
			out, _ := n.Run(jctx, "journalctl", "--no-pager", "-b", "-o", "short-precise")
			cancel()
			os.WriteFile(filepath.Join(dst, "journal.txt"), []byte(out), 0o644)
		}
		// What the node wrote in its /var/log (keystone's log, ...), from its disk.
		if _, err := os.Stat(filepath.Join(n.paths.upper, "var/log")); err == nil {
			run(ctx, "cp", "-a", filepath.Join(n.paths.upper, "var/log"), filepath.Join(dst, "var-log"))
		}
		for _, f := range []string{"init.log", "console.log"} {
			if data, err := os.ReadFile(filepath.Join(n.dir(), f)); err == nil {
				os.WriteFile(filepath.Join(dst, f), data, 0o644)
			}
		}
	}
}

// cleanStale removes what a crashed lab left (the caller holds the lock):
// processes in namespaces named ssn-* or in the stackha-sysnode cgroups
// (killed by pid), mounts under BaseDir, those namespaces and cgroups, and
// BaseDir. Nothing else is touched.
func cleanStale(ctx context.Context, log *logger, cg cgroups) error {
	stale := len(ourNamespaces()) > 0 || len(ourMounts()) > 0
	for _, r := range cg.roots() {
		if _, err := os.Stat(r); err == nil {
			stale = true
		}
	}
	if _, err := os.Stat(BaseDir); err == nil {
		stale = true
	}
	if !stale {
		return nil
	}
	log.Printf("removing state left by a previous lab: namespaces %v, mounts %v, %s", ourNamespaces(), ourMounts(), BaseDir)
	return removeAll(ctx, log, cg)
}

// removeAll kills what runs in the lab's namespaces and cgroups (by pid),
// unmounts what is under BaseDir, removes the cgroups, the namespaces and
// BaseDir.
func removeAll(ctx context.Context, log *logger, cg cgroups) error {
	var errs []error
	for round := 0; round < 50; round++ {
		pids := labPids(ctx, cg)
		if len(pids) == 0 {
			break
		}
		if round == 0 {
			log.Printf("  killing processes left in the lab's namespaces and cgroups: %v", pids)
		}
		for _, pid := range pids {
			syscall.Kill(pid, syscall.SIGKILL)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if pids := labPids(ctx, cg); len(pids) > 0 {
		errs = append(errs, fmt.Errorf("processes %v survive in the lab's namespaces or cgroups", pids))
	}
	for _, m := range ourMounts() {
		if _, err := run(ctx, "umount", m); err != nil {
			if _, err2 := run(ctx, "umount", "-l", m); err2 != nil {
				errs = append(errs, err)
			}
		}
	}
	for _, r := range cg.roots() {
		if err := removeCgroup(ctx, r); err != nil {
			errs = append(errs, err)
		}
	}
	for _, ns := range ourNamespaces() {
		if _, err := run(ctx, "ip", "netns", "del", ns); err != nil {
			errs = append(errs, err)
		}
	}
	if err := os.RemoveAll(BaseDir); err != nil {
		errs = append(errs, fmt.Errorf("removing %s: %w", BaseDir, err))
	}
	return errors.Join(errs...)
}

// labPids lists the processes in the lab's network namespaces and cgroups,
// but this process.
func labPids(ctx context.Context, cg cgroups) []int {
	seen := map[int]bool{os.Getpid(): true}
	var pids []int
	add := func(s string) {
		if pid, err := strconv.Atoi(strings.TrimSpace(s)); err == nil && pid > 0 && !seen[pid] {
			seen[pid] = true
			pids = append(pids, pid)
		}
	}
	for _, ns := range ourNamespaces() {
		out, err := run(ctx, "ip", "netns", "pids", ns)
		if err != nil {
			continue
		}
		for _, f := range strings.Fields(out) {
			add(f)
		}
	}
	for _, r := range cg.roots() {
		filepath.WalkDir(r, func(p string, d fs.DirEntry, err error) error {
			if err != nil || !d.IsDir() {
				return nil
			}
			data, _ := os.ReadFile(filepath.Join(p, "cgroup.procs"))
			for _, f := range strings.Fields(string(data)) {
				add(f)
			}
			return nil
		})
	}
	return pids
}

// removeCgroup removes a cgroup directory and those below it, deepest
// first (a cgroup is removed with rmdir, once it holds no process). A
// cgroup whose last process is still being reaped refuses for a moment:
// retried for up to 5 s.
func removeCgroup(ctx context.Context, dir string) error {
	deadline := time.Now().Add(5 * time.Second)
	for {
		var dirs []string
		filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err == nil && d.IsDir() {
				dirs = append(dirs, p)
			}
			return nil
		})
		if len(dirs) == 0 {
			return nil
		}
		sort.Slice(dirs, func(i, j int) bool { return len(dirs[i]) > len(dirs[j]) })
		var err error
		for _, d := range dirs {
			if e := syscall.Rmdir(d); e != nil && !errors.Is(e, syscall.ENOENT) {
				err = fmt.Errorf("removing cgroup %s: %w", d, e)
			}
		}
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return err
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// ourNamespaces lists the network namespaces named with the lab's prefix.
func ourNamespaces() []string { return labcheck.Namespaces(Prefix) }

// ourMounts lists the machine's mount points under BaseDir (there should
// be none: a node's overlay lives in its own mount namespace), deepest
// first.
func ourMounts() []string { return labcheck.Mounts(BaseDir) }

// waitNoTasks waits (up to limit) until no thread is in node's PID or mount
// namespaces (of any boot) and returns those still there.
func (l *Lab) waitNoTasks(ctx context.Context, limit time.Duration, node string) []string {
	l.mu.Lock()
	inodes := map[string]uint64{}
	for k, v := range l.nsIno {
		if (strings.HasPrefix(k, "pid:") || strings.HasPrefix(k, "mnt:")) && strings.HasPrefix(k[4:], node+"#") {
			inodes[k] = v
		}
	}
	l.mu.Unlock()
	deadline := time.Now().Add(limit)
	for {
		left := labcheck.Threads(inodes)
		if len(left) == 0 || time.Now().After(deadline) || ctx.Err() != nil {
			return left
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// leakCheck verifies that nothing of the lab is left.
func (l *Lab) leakCheck() error {
	var errs []error
	if left := ourNamespaces(); len(left) > 0 {
		errs = append(errs, fmt.Errorf("leak: namespaces left: %s", strings.Join(left, ", ")))
	}
	if left := ourMounts(); len(left) > 0 {
		errs = append(errs, fmt.Errorf("leak: mounts left: %s", strings.Join(left, ", ")))
	}
	for _, r := range l.cg.roots() {
		if _, err := os.Stat(r); err == nil {
			errs = append(errs, fmt.Errorf("leak: cgroup %s left", r))
		}
	}
	l.mu.Lock()
	inodes := map[string]uint64{}
	for k, v := range l.nsIno {
		inodes[k] = v
	}
	l.mu.Unlock()
	for _, t := range labcheck.Threads(inodes) {
		errs = append(errs, fmt.Errorf("leak: thread %s", t))
	}
	if _, err := os.Stat(BaseDir); err == nil {
		errs = append(errs, fmt.Errorf("leak: %s still exists", BaseDir))
	}
	return errors.Join(errs...)
}
