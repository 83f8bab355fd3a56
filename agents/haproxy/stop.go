package haproxy

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/stackha/stackha/ocf"
)

func (in *instance) stop(ctx context.Context) error {
	// No question to the master here: a hung one must not delay the stop.
	procs, err := in.id().instanceProcs()
	if err != nil {
		return ocf.Generic("%v", err)
	}
	if pid, err := readPidfile(in.pidfile); err != nil {
		in.log.Infof("%v", err)
	} else if _, ok := in.id().check(pid); pid > 0 && !ok {
		in.log.Infof("pid file %s names pid %d, which is not this haproxy (%s): that process is left alone", in.pidfile, pid, describeProc(pid))
	}
	if len(procs) == 0 {
		in.cleanup()
		in.log.Infof("haproxy is not running")
		return nil
	}
	if err := in.terminate(ctx, in.stopTimeout); err != nil {
		return err
	}
	in.cleanup()
	return nil
}

// cleanup removes what an instance that no longer runs left: its record,
// its pid file when it names the recorded master, its socket when it is a
// socket, each only in a directory that is root's alone.
func (in *instance) cleanup() {
	master := 0
	if in.rec != nil {
		master = in.rec.PID
	}
	for _, f := range []struct {
		path   string
		remove func(string) error
	}{
		{in.pidfile, func(p string) error { return removePidfile(p, master) }},
		{in.socket, removeSocket},
	} {
		if err := secureDir(filepath.Dir(f.path)); err != nil {
			if !errors.Is(err, os.ErrNotExist) {
				in.log.Warnf("%s left alone: %v", f.path, err)
			}
			continue
		}
		if err := f.remove(f.path); err != nil {
			in.log.Warnf("%v", err)
		}
	}
	in.dropRecord()
}

// stopReserve is what the soft stop leaves of the operation's time for
// SIGTERM and SIGKILL.
func stopReserve(left time.Duration) time.Duration {
	r := left / 4
	if r > 5*time.Second {
		r = 5 * time.Second
	}
	return r
}

// terminate ends every process of this instance: SIGUSR1 (soft stop: the
// listeners close, established connections finish) for up to soft, then
// SIGTERM, then SIGKILL. Each signal goes only to pids /proc confirms as
// ours, the master first (it relays to its workers).
func (in *instance) terminate(ctx context.Context, soft time.Duration) error {
	id := in.id()
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(soft + 10*time.Second)
	}
	reserve := stopReserve(time.Until(deadline))
	softEnd := time.Now().Add(soft)
	if lim := deadline.Add(-reserve); softEnd.After(lim) {
		softEnd = lim
	}
	for _, phase := range []struct {
		sig syscall.Signal
		end time.Time
	}{{syscall.SIGUSR1, softEnd}, {syscall.SIGTERM, deadline.Add(-reserve / 2)}, {syscall.SIGKILL, deadline}} {
		if phase.sig == syscall.SIGUSR1 && soft <= 0 {
			continue
		}
		procs, err := id.instanceProcs()
		if err != nil {
			return ocf.Generic("%v", err)
		}
		if len(procs) == 0 {
			return nil
		}
		master := in.masterOf(procs)
		targets := procs
		if master != 0 && phase.sig == syscall.SIGUSR1 {
			targets = []procInfo{{PID: master}} // the master relays to its workers
		}
		for _, p := range targets {
			if err := id.signal(p.PID, phase.sig); err != nil {
				in.log.Debugf("%v", err)
			}
			if phase.sig == syscall.SIGTERM {
				// A stopped process handles SIGTERM only once continued.
				id.signal(p.PID, syscall.SIGCONT)
			}
		}
		in.log.Infof("sent %s to haproxy (pids %s)", sigName(phase.sig), joinInts(pidsOf(targets)))
		if phase.sig == syscall.SIGTERM {
			// haproxy leaves at once on SIGTERM; one that does not is stuck.
			if lim := time.Now().Add(termGrace); phase.end.After(lim) {
				phase.end = lim
			}
		}
		end := phase.end
		if min := time.Now().Add(killGrace); phase.sig == syscall.SIGKILL && end.Before(min) {
			end = min // a killed process needs a moment to disappear
		}
		if in.waitGone(end) {
			in.log.Infof("every haproxy process of this instance is gone")
			return nil
		}
	}
	procs, _ := id.instanceProcs()
	return ocf.Generic("haproxy processes %s still run after SIGKILL", joinInts(pidsOf(procs)))
}

// masterOf picks the master among procs: the one the pid file names, or
// the one whose parent is not one of ours but whose children are.
func (in *instance) masterOf(procs []procInfo) int {
	if pid, err := readPidfile(in.pidfile); err == nil && pid > 0 {
		for _, p := range procs {
			if p.PID == pid {
				return pid
			}
		}
	}
	parents := map[int]bool{}
	for _, p := range procs {
		parents[p.PPID] = true
	}
	for _, p := range procs {
		if parents[p.PID] {
			return p.PID
		}
	}
	return 0
}

// termGrace is how long SIGTERM gets before SIGKILL.
const termGrace = 2 * time.Second

// killGrace is how long SIGKILLed processes get to disappear even when the
// operation's deadline has passed (the runtime keeps a margin after it).
const killGrace = 300 * time.Millisecond

// waitGone waits until no process of this instance is left, or until end
// passes; it reports whether they are gone.
func (in *instance) waitGone(end time.Time) bool {
	for {
		procs, err := in.id().instanceProcs()
		if err == nil && len(procs) == 0 {
			return true
		}
		if !time.Now().Before(end) {
			return false
		}
		d := time.Until(end)
		if d > pollInterval {
			d = pollInterval
		}
		time.Sleep(d)
	}
}

func sigName(s syscall.Signal) string {
	switch s {
	case syscall.SIGUSR1:
		return "SIGUSR1 (soft stop)"
	case syscall.SIGTERM:
		return "SIGTERM"
	case syscall.SIGKILL:
		return "SIGKILL"
	}
	return s.String()
}

func pidsOf(ps []procInfo) []int {
	var out []int
	for _, p := range ps {
		out = append(out, p.PID)
	}
	return out
}
