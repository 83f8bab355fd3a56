package harness

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

func (c *Cluster) startStack(ctx context.Context) error {
	for _, n := range c.Nodes {
		if err := c.startDaemons(n); err != nil {
			return err
		}
	}
	return nil
}

// startDaemons starts corosync, then pacemakerd, on node n.
func (c *Cluster) startDaemons(n *Node) error {
	if n.sys != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		if err := c.startUnits(ctx, n); err != nil {
			return err
		}
		return c.startLoad(n)
	}
	if err := c.spawn(n, "corosync", filepath.Join(n.dir, "log", "corosync.log"), "corosync", "-f"); err != nil {
		return err
	}
	if err := c.StartPacemaker(n); err != nil {
		return err
	}
	return c.startLoad(n)
}

// StartPacemaker starts pacemakerd on node n (its corosync running): on a
// systemd node, its unit.
func (c *Cluster) StartPacemaker(n *Node) error {
	if n.sys != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		return n.sys.Start(ctx, "pacemaker.service")
	}
	return c.spawn(n, "pacemakerd", filepath.Join(n.dir, "log", "pacemakerd.log"), "pacemakerd")
}

// spawn starts a long-running daemon inside node n, in its own session,
// and records its pid (nsenter execs the program: same pid).
func (c *Cluster) spawn(n *Node, name, logfile string, argv ...string) error {
	_, err := c.spawnProc(n, name, logfile, argv...)
	return err
}

// spawnProc is spawn, returning the record of the process.
func (c *Cluster) spawnProc(n *Node, name, logfile string, argv ...string) (*proc, error) {
	out, err := os.OpenFile(logfile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	defer out.Close()
	full := append(n.nsenter(), argv...)
	cmd := exec.Command(full[0], full[1:]...)
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s on %s: %w", name, n.Name, err)
	}
	p := &proc{name: n.Name + "/" + name, cmd: cmd, done: make(chan struct{})}
	go func() { cmd.Wait(); close(p.done) }()
	c.mu.Lock()
	c.procs = append(c.procs, p)
	c.mu.Unlock()
	// nsenter forks to enter the PID namespace: the daemon is its child.
	pid, err := childOf(cmd.Process.Pid, p.done)
	if err != nil {
		return nil, fmt.Errorf("starting %s on %s: %w", name, n.Name, err)
	}
	c.mu.Lock()
	p.pid = pid
	c.mu.Unlock()
	c.log.Printf("  %s: %s started, pid %d", n.Name, name, pid)
	return p, nil
}

// childOf waits (up to 5 s) for the only child of pid and returns it.
func childOf(pid int, done <-chan struct{}) (int, error) {
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		data, _ := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", pid, pid))
		if f := strings.Fields(string(data)); len(f) == 1 {
			return strconv.Atoi(f[0])
		}
		select {
		case <-done:
			return 0, fmt.Errorf("pid %d exited before its child could be seen", pid)
		case <-time.After(10 * time.Millisecond):
		}
	}
	return 0, fmt.Errorf("no child of pid %d after 5s", pid)
}

// initScript is each node's pid 1: it mounts the node's own /proc, says it
// is ready on fd 3, then only reaps orphans.
const initScript = `mount -t proc proc /proc
echo ready >&3
exec 3>&-
trap 'exit 0' TERM
while :; do sleep 3600 & wait $!; done`

// startInit starts node n's init. The harness clones it itself, as pid 1 of
// a new PID namespace with new UTS and mount namespaces (Go makes the new
// mount namespace private before the exec), and nsenter (which does not
// fork for --net alone) puts it in the node's network namespace: the pid
// the harness records is the init's, with no process in between to be
// mistaken for it. (It used to run `unshare --pid --fork --mount=FILE`,
// and take "the only child of unshare" for the init; but unshare first
// forks a short-lived helper that binds FILE, so the only child could be
// that helper, gone a moment later: the recorded init (once unshare's short-lived helper).) The harness waits until
// the init has mounted its /proc and said so on a pipe, checks that the
// pid is in the node's network namespace and in namespaces of its own,
// then binds its mount namespace on a file in nsDir (found again by the
// stale-state cleanup). Killing the init (SIGKILL) kills every process of
// the node at once.
func (c *Cluster) startInit(ctx context.Context, n *Node) error {
	out, err := os.OpenFile(filepath.Join(n.dir, "log", "init.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer out.Close()
	r, w, err := os.Pipe()
	if err != nil {
		return err
	}
	defer r.Close()
	cmd := exec.Command("nsenter", "--net="+n.NetNS(), "--", "/bin/bash", "-ec", initScript)
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Setsid:       true,
		Cloneflags:   syscall.CLONE_NEWPID | syscall.CLONE_NEWUTS,
		Unshareflags: syscall.CLONE_NEWNS,
	}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.ExtraFiles = []*os.File{w}
	err = cmd.Start()
	w.Close()
	if err != nil {
		return fmt.Errorf("starting %s's init: %w", n.Name, err)
	}
	p := &proc{name: n.Name + "/init", cmd: cmd, pid: cmd.Process.Pid, done: make(chan struct{})}
	go func() { cmd.Wait(); close(p.done) }()
	c.mu.Lock()
	n.init, n.initPid = p, p.pid
	c.mu.Unlock()
	if err := waitReady(ctx, r, 10*time.Second); err != nil {
		return fmt.Errorf("%s's init (pid %d, log %s): %w", n.Name, p.pid, filepath.Join(n.dir, "log", "init.log"), err)
	}
	if err := c.checkInitNS(n); err != nil {
		return err
	}
	handle := filepath.Join(nsDir(), n.Name+".mnt")
	// After a power cycle the handle still binds the dead node's namespace.
	if err := syscall.Unmount(handle, 0); err != nil && !errors.Is(err, syscall.EINVAL) && !errors.Is(err, syscall.ENOENT) {
		return fmt.Errorf("releasing %s's old mount namespace handle: %w", n.Name, err)
	}
	if err := os.WriteFile(handle, nil, 0o644); err != nil {
		return err
	}
	if _, err := Run(ctx, "mount", "--bind", fmt.Sprintf("/proc/%d/ns/mnt", p.pid), handle); err != nil {
		return fmt.Errorf("binding %s's mount namespace: %w", n.Name, err)
	}
	return nil
}

// waitReady reads the init's "ready" line; EOF means it died first.
func waitReady(ctx context.Context, r *os.File, limit time.Duration) error {
	got := make(chan error, 1)
	go func() {
		buf := make([]byte, 16)
		k, err := io.ReadAtLeast(r, buf, len("ready\n"))
		switch {
		case err != nil:
			got <- fmt.Errorf("exited before it was ready: %w", err)
		case string(buf[:k]) != "ready\n":
			got <- fmt.Errorf("said %q instead of ready", buf[:k])
		default:
			got <- nil
		}
	}()
	select {
	case err := <-got:
		return err
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(limit):
		return fmt.Errorf("not ready after %s", limit)
	}
}

// checkInitNS verifies that node n's init runs in the node's network
// namespace and in PID, mount and UTS namespaces that are not the host's.
func (c *Cluster) checkInitNS(n *Node) error {
	ino := func(pid, kind string) uint64 {
		var st syscall.Stat_t
		if syscall.Stat("/proc/"+pid+"/ns/"+kind, &st) != nil {
			return 0
		}
		return st.Ino
	}
	pid := strconv.Itoa(n.initPid)
	if got, want := ino(pid, "net"), n.NetIno(); got == 0 || got != want {
		return fmt.Errorf("%s's init (pid %d) is not in the node's network namespace", n.Name, n.initPid)
	}
	for _, kind := range []string{"pid", "mnt", "uts"} {
		if got := ino(pid, kind); got == 0 || got == ino("self", kind) {
			return fmt.Errorf("%s's init (pid %d) is not in a %s namespace of its own", n.Name, n.initPid, kind)
		}
	}
	return nil
}

// Pid returns the recorded pid of a daemon the harness started on node n
// ("corosync" or "pacemakerd"), 0 when it is not running. On a systemd
// node: the unit's main process (the one of that name whose parent is the
// node's systemd).
func (c *Cluster) Pid(n *Node, name string) int {
	if n.sys != nil {
		return n.unitPid(name)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, p := range c.procs {
		if p.name == n.Name+"/"+name {
			select {
			case <-p.done:
				continue
			default:
				return p.pid
			}
		}
	}
	return 0
}

// WaitExit waits for a recorded daemon to exit.
func (c *Cluster) WaitExit(ctx context.Context, n *Node, name string) error {
	if n.sys != nil {
		return n.waitUnitExit(ctx, name)
	}
	c.mu.Lock()
	var ps []*proc
	for _, p := range c.procs {
		if p.name == n.Name+"/"+name {
			ps = append(ps, p)
		}
	}
	c.mu.Unlock()
	for _, p := range ps {
		select {
		case <-p.done:
		case <-ctx.Done():
			return fmt.Errorf("waiting for %s to exit: %w", p.name, ctx.Err())
		}
	}
	return nil
}
