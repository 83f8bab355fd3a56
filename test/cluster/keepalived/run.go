package keepalived

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"
)

// Node starts a daemon inside one node. The harness adapts its own spawn
// (nsenter into the node's namespaces, a new session, output to a log
// file); NetNS does it for a bare network namespace.
type Node interface {
	// Start starts argv inside the node in a new session, its output
	// appended to logfile. The daemon outlives ctx.
	Start(ctx context.Context, name, logfile string, argv []string) (Proc, error)
}

// Proc is a daemon a Node started.
type Proc interface {
	// Pid is its pid as the host sees it.
	Pid() int
	// Signal signals the daemon and every process of its session
	// (keepalived's VRRP child too); nothing once it has exited.
	Signal(sig syscall.Signal) error
	// Done is closed when it has exited.
	Done() <-chan struct{}
}

// NetNS is a Node that is only a network namespace (a name under
// /run/netns): programs run through `ip netns exec`.
type NetNS string

// Start implements Node.
func (ns NetNS) Start(ctx context.Context, name, logfile string, argv []string) (Proc, error) {
	if len(argv) == 0 {
		return nil, errors.New("keepalived: empty argv")
	}
	out, err := os.OpenFile(logfile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	defer out.Close()
	cmd := exec.Command("ip", append([]string{"netns", "exec", string(ns)}, argv...)...)
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s in %s: %w", name, ns, err)
	}
	p := &sessionProc{pid: cmd.Process.Pid, done: make(chan struct{})}
	go func() { cmd.Wait(); close(p.done) }()
	return p, nil
}

// sessionProc is a session leader we started (ip netns exec execs the
// program: same pid).
type sessionProc struct {
	pid  int
	done chan struct{}
}

func (p *sessionProc) Pid() int              { return p.pid }
func (p *sessionProc) Done() <-chan struct{} { return p.done }

func (p *sessionProc) Signal(sig syscall.Signal) error {
	select {
	case <-p.done:
		// Reaped: the pid may be someone else's now. Its session's
		// children (keepalived's VRRP child dies with its parent) are not
		// signalled.
		return nil
	default:
	}
	if err := syscall.Kill(-p.pid, sig); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("signalling session %d: %w", p.pid, err)
	}
	return nil
}

// Instance is one keepalived running in a node.
type Instance struct {
	Dir  string // its configuration, pid files and log
	Proc Proc
}

// Argv is keepalived's command line for the files in dir: in the
// foreground, VRRP only, logging to the console (the log file), its own pid
// files (several instances share a /run in tests).
func Argv(dir string) []string {
	return []string{"keepalived", "--dont-fork", "--log-console", "--log-detail", "--no-syslog", "--vrrp",
		"--use-file=" + filepath.Join(dir, "keepalived.conf"),
		"--pid=" + filepath.Join(dir, "keepalived.pid"),
		"--vrrp_pid=" + filepath.Join(dir, "vrrp.pid"),
		"--checkers_pid=" + filepath.Join(dir, "checkers.pid"),
		"--bfd_pid=" + filepath.Join(dir, "bfd.pid"),
	}
}

// Start writes conf to dir/keepalived.conf (dir is made, mode 0700) and
// starts keepalived in node n, its output in dir/keepalived.log.
func Start(ctx context.Context, n Node, dir, conf string) (*Instance, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "keepalived.conf"), []byte(conf), 0o600); err != nil {
		return nil, err
	}
	p, err := n.Start(ctx, "keepalived", filepath.Join(dir, "keepalived.log"), Argv(dir))
	if err != nil {
		return nil, err
	}
	return &Instance{Dir: dir, Proc: p}, nil
}

// Stop ends keepalived gracefully (SIGTERM: it gives the VIP up and sends
// a priority-0 advert), then by SIGKILL if it is still there when ctx ends
// or after 10 s.
func (i *Instance) Stop(ctx context.Context) error {
	if err := i.Proc.Signal(syscall.SIGTERM); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	select {
	case <-i.Proc.Done():
		return nil
	case <-ctx.Done():
	}
	return i.Kill()
}

// Kill ends keepalived as a crash does (SIGKILL to its session): the VIP
// stays configured on the interface, as on a node whose keepalived died
// and whose kernel still runs. It waits (up to 10 s) for the exit.
func (i *Instance) Kill() error {
	if err := i.Proc.Signal(syscall.SIGKILL); err != nil {
		return err
	}
	select {
	case <-i.Proc.Done():
		return nil
	case <-time.After(10 * time.Second):
		return fmt.Errorf("keepalived (pid %d) did not exit after SIGKILL", i.Proc.Pid())
	}
}
