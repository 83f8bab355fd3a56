package haproxy

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/stackha/stackha/instance"
	"github.com/stackha/stackha/ocf"
)

// checkAndInspect is what start and reload do first: check the
// configuration (a rejected one stops the action, nothing touched), then
// look at what runs.
func (o *op) checkAndInspect(ctx context.Context) (*Config, []BindProblem, *state, error) {
	c, problems, err := o.checkConfig(ctx)
	if err != nil {
		return nil, nil, nil, err
	}
	s, err := o.inspect(ctx)
	if err != nil {
		return nil, nil, nil, err
	}
	return c, problems, s, nil
}

// beforeLaunch, when set (tests only), runs right before start launches
// haproxy, once it has found nothing of the instance running.
var beforeLaunch func()

// startLog is start's record of what haproxy printed, in the state
// directory.
const startLog = "start.log"

func (o *op) start(ctx context.Context) error {
	c, problems, s, err := o.checkAndInspect(ctx)
	if err != nil {
		return err
	}
	o.endWatcher() // one watcher per instance: this start's, started last
	if o.health(s) == nil {
		o.log.Infof("haproxy already runs (master pid %d, worker %d)", s.master, s.worker())
		o.ensureWatcher()
		o.publishListening(ctx, true)
		return nil
	}
	if len(s.procs) > 0 {
		o.log.Warnf("clearing what is left of a previous run before starting: %v", o.health(s))
		if err := o.terminate(ctx, 0); err != nil {
			return err
		}
	}
	for _, p := range problems {
		o.log.Warnf("%s", p)
	}
	if beforeLaunch != nil {
		beforeLaunch()
	}
	st, err := o.prepare(c)
	if err != nil {
		return err
	}
	defer st.Close()
	logf, _, err := st.OpenFile(startLog, unix.O_CREAT|unix.O_TRUNC|unix.O_RDWR, 0o600, instance.RootOnly)
	if err != nil {
		return fmt.Errorf("creating the start log: %w", err)
	}
	defer logf.Close()
	argv := o.argv()
	o.log.Infof("starting %s", strings.Join(argv, " "))
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Dir = "/"
	// A file, not a pipe: the daemonized master must not hold a pipe the
	// agent waits on.
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting %s: %w", instance.Quote(o.exe), err)
	}
	// The launcher is our child, not reaped yet: its start time bounds the
	// master's from below, and it binds the listeners.
	launched, statErr := instance.ReadProc(cmd.Process.Pid)
	runErr := cmd.Wait()
	if statErr != nil && runErr == nil {
		runErr = statErr
	}
	out := make([]byte, maxStartLog)
	n, _ := logf.ReadAt(out, 0)
	out = out[:n]
	if runErr != nil {
		left := o.reapLeftovers(ctx)
		msg := instance.Quote(firstAlert(string(out)))
		if len(problems) > 0 {
			msg += "; " + describeBindProblems(problems)
		}
		if ctx.Err() != nil {
			return ocf.Generic("haproxy did not start in time (%v)%s: %s", ctx.Err(), left, msg)
		}
		return ocf.Generic("haproxy failed to start (%v)%s: %s", runErr, left, msg)
	}
	for _, a := range alerts(string(out)) {
		o.log.Warnf("haproxy: %s", instance.Quote(a))
	}
	uids, err := allowedUIDs(c)
	if err != nil {
		return ocf.Configured("%w", err)
	}
	if err := o.adopt(ctx, launched, uids); err != nil {
		return ocf.Generic("%w; see %s", err, logf.Name())
	}
	if err := o.waitReady(ctx); err != nil {
		return err
	}
	o.ensureWatcher()
	o.publishListening(ctx, true)
	return nil
}

// maxStartLog is how much of haproxy's start output is read back.
const maxStartLog = 64 << 10

// prepare creates the state directory (returned open), the generated
// configuration and an empty server state file (a fresh start takes the
// state of the configuration), makes sure only root has a say in the
// directories of the pid file and the socket (haproxy writes its pid file
// and binds its socket as root, following links), and clears a stale pid
// file and socket.
func (o *op) prepare(c *Config) (*instance.Dir, error) {
	st, err := instance.OpenState(o.name, true)
	if err != nil {
		return nil, ocf.Perm("the state directory: %v", err)
	}
	ok := false
	defer func() {
		if !ok {
			st.Close()
		}
	}()
	for _, d := range []string{filepath.Dir(o.pidfile), filepath.Dir(o.socket)} {
		dir, err := instance.MkdirAll(d, instance.RootOnly, 0o700)
		if err != nil {
			return nil, ocf.Perm("%v: the pid file's and the master socket's directories must be root's alone", err)
		}
		dir.Close()
	}
	if err := o.writeConfDir(st, c); err != nil {
		return nil, err
	}
	if c.ServerStateFile == "" {
		// The format's version line and no server: nothing to restore, and
		// no warning from haproxy about an empty file.
		if err := st.WriteAtomic(stateFile, []byte("1\n"), 0o600); err != nil {
			return nil, err
		}
	}
	if err := removePidfile(o.pidfile, 0); err != nil {
		return nil, ocf.Configured("stale pid file: %w", err)
	}
	if err := removeSocket(o.socket); err != nil {
		return nil, ocf.Configured("stale master socket: %w", err)
	}
	ok = true
	return st, nil
}

// reapLeftovers kills whatever a failed start left; it returns a note for
// the reason when something had to be killed.
func (o *op) reapLeftovers(ctx context.Context) string {
	s, err := o.inspect(ctx)
	if err != nil || len(s.procs) == 0 {
		return ""
	}
	kctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := o.terminate(kctx, 0); err != nil {
		return fmt.Sprintf(" (and its processes %s could not be removed: %v)", joinInts(s.pids()), err)
	}
	return fmt.Sprintf(" (its processes %s were removed)", joinInts(s.pids()))
}

// waitReady waits until the master answers on its socket with a worker.
// Right after `haproxy -D` returns, the daemonized master may not be seen
// yet: "no process" counts as an exit only after stoppedGrace. Whatever a
// failed start leaves is removed.
func (o *op) waitReady(ctx context.Context) error {
	var last error
	begun := time.Now()
	for {
		s, err := o.inspect(ctx)
		if err == nil {
			last = o.health(s)
			if last == nil {
				o.log.Infof("haproxy started: master pid %d, worker %d", s.master, s.worker())
				return nil
			}
			if errors.Is(last, errStopped) && time.Since(begun) > stoppedGrace {
				return ocf.Generic("haproxy exited right after starting%s; see %s", o.reapLeftovers(ctx), filepath.Join(o.stateDir(), startLog))
			}
		} else {
			last = err
		}
		if ocf.Sleep(ctx, pollInterval) != nil {
			return ocf.Generic("haproxy did not become ready in time: %v%s", last, o.reapLeftovers(ctx))
		}
	}
}

// stoppedGrace is how long start waits to see the daemonized master before
// it believes haproxy exited.
const stoppedGrace = time.Second
