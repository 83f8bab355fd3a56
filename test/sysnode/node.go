package sysnode

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Node is a machine of the lab whose init is systemd: pid 1 of a PID
// namespace of its own, with its own mount, UTS, IPC, cgroup and network
// namespaces, on an overlay of the machine's root whose upper directory is
// the node's disk (it survives a power cycle; /run and /tmp do not).
type Node struct {
	Spec
	lab   *Lab
	paths nodePaths

	mu    sync.Mutex
	init  *exec.Cmd // nil while the node is off
	pid   int       // the init's pid, as the machine sees it
	done  chan struct{}
	boots int
	last  BootReport
}

// BootReport says how a boot went.
type BootReport struct {
	State
	// ToRunning is the wall time from the start of the node's pid 1 (the
	// mounts of stage1 and stage2 included) until `systemctl
	// is-system-running` first said running or degraded.
	ToRunning time.Duration
	// Mounts is the part of ToRunning before systemd's exec: the
	// namespaces, the overlay and the node's file systems.
	Mounts time.Duration
	// Userspace is systemd's own figure: from its start to the end of its
	// boot transaction (FinishTimestamp - UserspaceTimestamp).
	Userspace time.Duration
}

// State is what `systemctl is-system-running` said, and the failed units
// when it said degraded.
type State struct {
	System string
	Failed []string
}

// netNS names the node's network namespace: ssn-<name>, or the caller's
// path (Spec.NetNS).
func (n *Node) netNS() string {
	if n.NetNS != "" {
		return n.NetNS
	}
	return Prefix + n.Name
}

// netNSPath is the path of the node's network namespace.
func (n *Node) netNSPath() string {
	if n.NetNS != "" {
		return n.NetNS
	}
	return "/run/netns/" + Prefix + n.Name
}
func (n *Node) port() string { return "s-" + n.Name }
func (n *Node) dir() string  { return filepath.Join(BaseDir, n.Name) }

// Pid is the node's pid 1 as the machine sees it, 0 while it is off.
func (n *Node) Pid() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.init == nil {
		return 0
	}
	return n.pid
}

// LastBoot reports the node's last boot.
func (n *Node) LastBoot() BootReport {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.last
}

// Boot powers the node on: its switch port up, then its pid 1 (a shell
// that mounts the node's root, stage1 and stage2 in boot.go) execs
// systemd, which boots to NodeTarget. Boot returns when `systemctl
// is-system-running` says running or degraded (the report names the
// failed units), within timeout. A boot that fails leaves the node off.
func (n *Node) Boot(ctx context.Context, timeout time.Duration) (_ BootReport, err error) {
	l := n.lab
	l.mu.Lock()
	closed := l.closed
	l.mu.Unlock()
	if closed {
		return BootReport{}, errors.New("the lab is closed")
	}
	n.mu.Lock()
	if n.init != nil {
		n.mu.Unlock()
		return BootReport{}, fmt.Errorf("%s is already on", n.Name)
	}
	n.mu.Unlock()
	for _, d := range l.cg.nodeDirs(n.Name) {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return BootReport{}, err
		}
	}
	s1, s2 := filepath.Join(n.dir(), "stage1.sh"), filepath.Join(n.dir(), "stage2.sh")
	if err := os.WriteFile(s1, []byte(stage1(l.cg, n.Name, s2)), 0o644); err != nil {
		return BootReport{}, err
	}
	if err := os.WriteFile(s2, []byte(stage2(l.cg, n.paths, n.Binds)), 0o644); err != nil {
		return BootReport{}, err
	}
	if err := os.WriteFile(n.paths.console, nil, 0o644); err != nil {
		return BootReport{}, err
	}
	if n.NetNS == "" {
		if _, err := run(ctx, "ip", "-n", swNS, "link", "set", n.port(), "up"); err != nil {
			return BootReport{}, err
		}
	}
	logPath := filepath.Join(n.dir(), "init.log")
	out, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return BootReport{}, err
	}
	defer out.Close()
	// The harness clones pid 1 itself (new PID, UTS, IPC namespaces; Go
	// makes the new mount namespace private before the exec), and nsenter,
	// which does not fork for --net alone, puts it in the node's network
	// namespace: the recorded pid is the init's.
	cmd := exec.Command("nsenter", "--net="+n.netNSPath(), "--", "/bin/sh", "-eu", s1)
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Setsid:       true,
		Cloneflags:   syscall.CLONE_NEWPID | syscall.CLONE_NEWUTS | syscall.CLONE_NEWIPC,
		Unshareflags: syscall.CLONE_NEWNS,
	}
	cmd.Env = initEnv
	cmd.Stdout, cmd.Stderr = out, out
	t0 := time.Now()
	if err := cmd.Start(); err != nil {
		return BootReport{}, fmt.Errorf("starting %s's init: %w", n.Name, err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	pid := cmd.Process.Pid
	n.mu.Lock()
	n.init, n.pid, n.done = cmd, pid, done
	n.boots++
	boot := n.boots
	n.mu.Unlock()
	defer func() {
		if err != nil {
			if perr := n.PowerOff(context.Background()); perr != nil {
				err = fmt.Errorf("%w (and powering it off: %v)", err, perr)
			}
		}
	}()
	if err := n.recordNS(pid, boot); err != nil {
		return BootReport{}, err
	}
	if err := n.waitSystemd(ctx, pid, done, logPath); err != nil {
		return BootReport{}, err
	}
	mounts := time.Since(t0)
	if err := n.checkNetNS(pid); err != nil {
		return BootReport{}, err
	}
	st, err := n.WaitRunning(ctx, timeout)
	rep := BootReport{State: st, ToRunning: time.Since(t0), Mounts: mounts}
	if err != nil {
		return rep, err
	}
	rep.Userspace = n.userspace(ctx)
	n.mu.Lock()
	n.last = rep
	n.mu.Unlock()
	l.log.Printf("%s booted: %s in %s (mounts %s, then systemd's own figure %s), pid 1 is %d", n.Name, st.System,
		rep.ToRunning.Round(time.Millisecond), rep.Mounts.Round(time.Millisecond), rep.Userspace.Round(time.Millisecond), pid)
	if len(st.Failed) > 0 {
		l.log.Printf("  %s: failed units: %s", n.Name, strings.Join(st.Failed, ", "))
	}
	return rep, nil
}

// recordNS checks that pid 1 is in PID and mount namespaces of its own
// (made by the clone, before Start returns) and records them for the leak
// check.
func (n *Node) recordNS(pid, boot int) error {
	for _, kind := range []string{"pid", "mnt"} {
		got, _ := inode(fmt.Sprintf("/proc/%d/ns/%s", pid, kind))
		self, _ := inode("/proc/self/ns/" + kind)
		if got == 0 || got == self {
			return fmt.Errorf("%s's init (pid %d) is not in a %s namespace of its own", n.Name, pid, kind)
		}
		n.lab.mu.Lock()
		n.lab.nsIno[fmt.Sprintf("%s:%s#%d", kind, n.Name, boot)] = got
		n.lab.mu.Unlock()
	}
	return nil
}

// checkNetNS checks that pid 1 is in the node's network namespace (nsenter
// entered it before its exec).
func (n *Node) checkNetNS(pid int) error {
	n.lab.mu.Lock()
	want := n.lab.nsIno["net:"+n.netNS()]
	n.lab.mu.Unlock()
	if got, _ := inode(fmt.Sprintf("/proc/%d/ns/net", pid)); got == 0 || got != want {
		return fmt.Errorf("%s's init (pid %d) is not in the node's network namespace", n.Name, pid)
	}
	return nil
}

// waitSystemd waits until pid 1 has exec'd systemd (its root mounted and
// checked). Before that, nothing may run in the node: its mount namespace
// still shows the machine's root, and a systemctl there would talk to the
// machine's systemd, if it has one.
func (n *Node) waitSystemd(ctx context.Context, pid int, done <-chan struct{}, logPath string) error {
	deadline := time.Now().Add(30 * time.Second)
	for {
		comm, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
		if strings.TrimSpace(string(comm)) == "systemd" {
			return nil
		}
		select {
		case <-done:
			log, _ := os.ReadFile(logPath)
			return fmt.Errorf("%s's init (pid %d) ended before it ran systemd: %s", n.Name, pid, strings.TrimSpace(string(log)))
		case <-ctx.Done():
			return fmt.Errorf("waiting for %s's systemd: %w", n.Name, ctx.Err())
		case <-time.After(5 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s's init (pid %d) has not run systemd after 30s (log %s)", n.Name, pid, logPath)
		}
	}
}

// WaitRunning waits (within timeout) until `systemctl is-system-running`
// says running or degraded; degraded comes with the failed units. Any
// other final state (maintenance, stopping), the node's end or the
// timeout is an error that says the last state and the failed units.
func (n *Node) WaitRunning(ctx context.Context, timeout time.Duration) (State, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	n.mu.Lock()
	done := n.done
	n.mu.Unlock()
	if done == nil {
		return State{}, fmt.Errorf("%s is off", n.Name)
	}
	var st State
	for {
		out, _, err := n.exec(ctx, "", "systemctl", "is-system-running")
		if err == nil {
			st.System = strings.TrimSpace(out)
		}
		switch st.System {
		case "running":
			return st, nil
		case "degraded", "maintenance", "stopping":
			st.Failed = n.FailedUnits(ctx)
			if st.System == "degraded" {
				return st, nil
			}
			return st, fmt.Errorf("%s is %s (failed units: %s)", n.Name, st.System, strings.Join(st.Failed, ", "))
		}
		select {
		case <-done:
			return st, fmt.Errorf("%s powered off while booting", n.Name)
		case <-ctx.Done():
			st.Failed = n.FailedUnits(context.Background())
			return st, fmt.Errorf("%s is not running after %s (last said %q; failed units: %s)", n.Name, timeout, st.System, strings.Join(st.Failed, ", "))
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// FailedUnits lists the node's failed units (nil when it is off).
func (n *Node) FailedUnits(ctx context.Context) []string {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	out, _, err := n.exec(ctx, "", "systemctl", "list-units", "--failed", "--plain", "--no-legend", "--no-pager")
	if err != nil {
		return nil
	}
	var units []string
	for _, line := range strings.Split(out, "\n") {
		if f := strings.Fields(line); len(f) > 0 {
			units = append(units, f[0])
		}
	}
	return units
}

// userspace reads systemd's own boot time.
func (n *Node) userspace(ctx context.Context) time.Duration {
	out, err := n.Run(ctx, "systemctl", "show", "--property=UserspaceTimestampMonotonic", "--property=FinishTimestampMonotonic")
	if err != nil {
		return 0
	}
	v := map[string]int64{}
	for _, line := range strings.Split(out, "\n") {
		if k, s, ok := strings.Cut(strings.TrimSpace(line), "="); ok {
			v[k], _ = strconv.ParseInt(s, 10, 64)
		}
	}
	d := v["FinishTimestampMonotonic"] - v["UserspaceTimestampMonotonic"]
	if d <= 0 {
		return 0
	}
	return time.Duration(d) * time.Microsecond
}

// PowerOff cuts the node's power: SIGKILL to its pid 1, so the kernel
// kills every process of its PID namespace at once (its mounts go with
// its mount namespace: the overlay, /run, /tmp, the journal), and its
// switch port goes down (the caller's, for a node in its network
// namespace). It returns once nothing of the node runs and its
// cgroups are removed. Its disk (the upper directory) stays for the next
// Boot. Powering off a node that is off does nothing.
func (n *Node) PowerOff(ctx context.Context) error {
	n.mu.Lock()
	cmd, done := n.init, n.done
	n.mu.Unlock()
	if cmd == nil {
		return nil
	}
	t0 := time.Now()
	var errs []error
	cmd.Process.Kill()
	select {
	case <-done:
	case <-ctx.Done():
		errs = append(errs, fmt.Errorf("powering %s off: its init (pid %d) did not die: %w", n.Name, cmd.Process.Pid, ctx.Err()))
	}
	if n.NetNS == "" {
		if _, err := run(ctx, "ip", "-n", swNS, "link", "set", n.port(), "down"); err != nil {
			errs = append(errs, err)
		}
	}
	// Processes that entered the node (nsenter's children) die with its
	// PID namespace; nsenter itself then ends.
	if left := n.lab.waitNoTasks(ctx, 10*time.Second, n.Name); len(left) > 0 {
		errs = append(errs, fmt.Errorf("powering %s off: still running in its namespaces: %s", n.Name, strings.Join(left, ", ")))
	}
	for _, d := range n.lab.cg.nodeDirs(n.Name) {
		if err := removeCgroup(ctx, d); err != nil {
			errs = append(errs, err)
		}
	}
	n.mu.Lock()
	n.init, n.pid, n.done = nil, 0, nil
	n.mu.Unlock()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	n.lab.log.Printf("%s powered off (%s)", n.Name, time.Since(t0).Round(time.Millisecond))
	return nil
}

// nodeEnv is the environment of what runs in a node through nsenter.
var nodeEnv = []string{
	"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
	"HOME=/root", "LANG=C.UTF-8", "TERM=dumb", "SYSTEMD_PAGER=cat", "SYSTEMD_COLORS=0",
}

// exec runs argv in every namespace of the node (as root, in its root
// directory), stdin given, and returns its combined output and exit code;
// err is set when it could not run or did not exit 0.
func (n *Node) exec(ctx context.Context, stdin string, argv ...string) (string, int, error) {
	pid := n.Pid()
	if pid == 0 {
		return "", -1, fmt.Errorf("%s is off", n.Name)
	}
	args := append([]string{"-t", strconv.Itoa(pid), "-a", "--"}, argv...)
	cmd := exec.CommandContext(ctx, "nsenter", args...)
	cmd.WaitDelay = 2 * time.Second
	cmd.Env = nodeEnv
	cmd.Stdin = strings.NewReader(stdin)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	code := -1
	if cmd.ProcessState != nil {
		code = cmd.ProcessState.ExitCode()
	}
	if err != nil {
		return out.String(), code, fmt.Errorf("%s: %s: %w: %s", n.Name, strings.Join(argv, " "), err, strings.TrimSpace(out.String()))
	}
	return out.String(), code, nil
}

// Run runs argv in the node as root and returns its combined output; an
// exit other than 0 is an error carrying the output.
func (n *Node) Run(ctx context.Context, argv ...string) (string, error) {
	out, _, err := n.exec(ctx, "", argv...)
	return out, err
}

// RunAs runs argv in the node as user (runuser).
func (n *Node) RunAs(ctx context.Context, user string, argv ...string) (string, error) {
	return n.Run(ctx, append([]string{"runuser", "-u", user, "--"}, argv...)...)
}

// Script runs a shell script (sh -e) in the node as root.
func (n *Node) Script(ctx context.Context, script string) (string, error) {
	return n.Run(ctx, "/bin/sh", "-ec", script)
}

// Systemctl runs systemctl in the node.
func (n *Node) Systemctl(ctx context.Context, args ...string) (string, error) {
	return n.Run(ctx, append([]string{"systemctl", "--no-pager"}, args...)...)
}

// Start starts units in the node and waits for the start jobs (for
// Type=simple that is the fork, not the service's readiness).
func (n *Node) Start(ctx context.Context, units ...string) error {
	_, err := n.Systemctl(ctx, append([]string{"start"}, units...)...)
	return err
}

// Stop stops units in the node.
func (n *Node) Stop(ctx context.Context, units ...string) error {
	_, err := n.Systemctl(ctx, append([]string{"stop"}, units...)...)
	return err
}

// ActiveState is the unit's ActiveState (active, inactive, failed, ...).
func (n *Node) ActiveState(ctx context.Context, unit string) (string, error) {
	out, err := n.Systemctl(ctx, "show", "--property=ActiveState", "--value", unit)
	return strings.TrimSpace(out), err
}

// Journal is the unit's journal of this boot (journalctl -u).
func (n *Node) Journal(ctx context.Context, unit string) (string, error) {
	return n.Run(ctx, "journalctl", "--no-pager", "-b", "-o", "short-precise", "-u", unit)
}

// WriteFile writes a file in the running node (through its overlay, as
// any process of the node would), its directory made when missing.
func (n *Node) WriteFile(ctx context.Context, path string, f File) error {
	if err := checkNodePath(path); err != nil {
		return err
	}
	mode := f.Mode
	if mode == 0 {
		mode = 0o644
	}
	owner := f.Owner
	switch {
	case owner == "":
		owner = "root:root"
	case !strings.Contains(owner, ":"):
		owner += ":" // the user's login group, as in File.Owner
	}
	tmp := path + ".sysnode-tmp"
	script := fmt.Sprintf("mkdir -p %s\ncat > %s\nchown %s %s\nchmod %o %s\nmv -f %s %s\n",
		shq(filepath.Dir(path)), shq(tmp), shq(owner), shq(tmp), mode.Perm(), shq(tmp), shq(tmp), shq(path))
	_, _, err := n.exec(ctx, string(f.Data), "/bin/sh", "-ec", script)
	return err
}
