package haproxy

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/stackha/stackha/ocf"
)

// checkAndInspect is what start and reload do first: check the
// configuration (a rejected one stops the action, nothing touched), then
// look at what runs.
func (in *instance) checkAndInspect(ctx context.Context) (*Config, []BindProblem, *state, error) {
	c, problems, err := in.checkConfig(ctx)
	if err != nil {
		return nil, nil, nil, err
	}
	s, err := in.inspect(ctx)
	if err != nil {
		return nil, nil, nil, ocf.Generic("%v", err)
	}
	return c, problems, s, nil
}

func (in *instance) start(ctx context.Context) error {
	c, problems, s, err := in.checkAndInspect(ctx)
	if err != nil {
		return err
	}
	if in.health(s) == nil {
		in.log.Infof("haproxy already runs (master pid %d, worker %d)", s.master, s.worker())
		return nil
	}
	if len(s.procs) > 0 {
		in.log.Warnf("clearing what is left of a previous run before starting: %v", in.health(s))
		if err := in.terminate(ctx, 0); err != nil {
			return err
		}
	}
	for _, p := range problems {
		in.log.Warnf("%s", p)
	}
	if err := in.prepare(c); err != nil {
		return err
	}
	logPath := filepath.Join(in.stateDir, "start.log")
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_TRUNC|os.O_RDWR|syscall.O_NOFOLLOW, 0o600)
	if err != nil {
		return ocf.Generic("creating %s: %w", logPath, err)
	}
	defer logf.Close()
	argv := in.argv()
	in.log.Infof("starting %s", strings.Join(argv, " "))
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Dir = "/"
	// A file, not a pipe: the daemonized master must not hold a pipe the
	// agent waits on.
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return ocf.Generic("starting %s: %w", in.binary, err)
	}
	// The launcher is our child, not reaped yet: its start time bounds the
	// master's from below.
	launched, statErr := readStat(cmd.Process.Pid)
	runErr := cmd.Wait()
	if statErr != nil && runErr == nil {
		runErr = statErr
	}
	out, _ := readCapped(logPath, maxProcFile)
	if runErr != nil {
		left := in.reapLeftovers(ctx)
		msg := firstAlert(string(out))
		if len(problems) > 0 {
			msg += "; " + describeBindProblems(problems)
		}
		if ctx.Err() != nil {
			return ocf.Generic("haproxy did not start in time (%v)%s: %s", ctx.Err(), left, msg)
		}
		return ocf.Generic("haproxy failed to start (%v)%s: %s", runErr, left, msg)
	}
	for _, a := range alerts(string(out)) {
		in.log.Warnf("haproxy: %s", a)
	}
	uids, err := allowedUIDs(c)
	if err != nil {
		return ocf.Configured("%v", err)
	}
	if err := in.adopt(ctx, launched.PID, launched.Start, uids); err != nil {
		return ocf.Generic("%v; see %s", err, logPath)
	}
	return in.waitReady(ctx)
}

// prepare creates the runtime directory, the generated configuration and
// an empty server state file (a fresh start takes the state of the
// configuration), and clears a stale pid file and socket.
func (in *instance) prepare(c *Config) error {
	for _, d := range []string{in.stateDir, filepath.Dir(in.pidfile), filepath.Dir(in.socket)} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return ocf.Perm("creating %s: %v", d, err)
		}
		// haproxy writes its pid file and binds its socket as root,
		// following links: only root may have a say in those directories.
		if err := secureDir(d); err != nil {
			return ocf.Perm("%v: the state directory, the pid file's and the master socket's must be root's alone", err)
		}
	}
	state := in.statePath(c)
	if err := in.writeConfDir(c); err != nil {
		return ocf.Generic("%v", err)
	}
	if c.ServerStateFile == "" {
		// The format's version line and no server: nothing to restore, and
		// no warning from haproxy about an empty file.
		if err := writeFileAtomic(state, []byte("1\n"), 0o600); err != nil {
			return ocf.Generic("%v", err)
		}
	}
	if err := removePidfile(in.pidfile, 0); err != nil {
		return ocf.Configured("stale pid file: %v", err)
	}
	if err := removeSocket(in.socket); err != nil {
		return ocf.Configured("stale master socket: %v", err)
	}
	return nil
}

// reapLeftovers kills whatever a failed start left; it returns a note for
// the reason when something had to be killed.
func (in *instance) reapLeftovers(ctx context.Context) string {
	s, err := in.inspect(ctx)
	if err != nil || len(s.procs) == 0 {
		return ""
	}
	kctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := in.terminate(kctx, 0); err != nil {
		return fmt.Sprintf(" (and its processes %s could not be removed: %v)", joinInts(s.pids()), err)
	}
	return fmt.Sprintf(" (its processes %s were removed)", joinInts(s.pids()))
}

// waitReady waits until the master answers on its socket with a worker.
// Right after `haproxy -D` returns, the daemonized master may not be seen
// yet: "no process" counts as an exit only after stoppedGrace. Whatever a
// failed start leaves is removed.
func (in *instance) waitReady(ctx context.Context) error {
	var last error
	begun := time.Now()
	for {
		s, err := in.inspect(ctx)
		if err == nil {
			last = in.health(s)
			if last == nil {
				in.log.Infof("haproxy started: master pid %d, worker %d", s.master, s.worker())
				return nil
			}
			if errors.Is(last, errStopped) && time.Since(begun) > stoppedGrace {
				return ocf.Generic("haproxy exited right after starting%s; see %s", in.reapLeftovers(ctx), filepath.Join(in.stateDir, "start.log"))
			}
		} else {
			last = err
		}
		if sleep(ctx, pollInterval) != nil {
			return ocf.Generic("haproxy did not become ready in time: %v%s", last, in.reapLeftovers(ctx))
		}
	}
}

// stoppedGrace is how long start waits to see the daemonized master before
// it believes haproxy exited.
const stoppedGrace = time.Second
