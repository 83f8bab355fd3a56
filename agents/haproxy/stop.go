package haproxy

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"syscall"
	"time"

	"github.com/stackha/stackha/agents/internal/pcmktool"
	"github.com/stackha/stackha/instance"
	"github.com/stackha/stackha/ocf"
)

func (o *op) stop(ctx context.Context) error {
	rec, err := o.record()
	if err != nil {
		return o.stopWithoutRecord(ctx, err)
	}
	o.endWatcher() // first: from here on it cannot report
	// Before the soft stop closes the listeners: the VIP goes nowhere
	// new on this node's account.
	o.publishListening(ctx, false)
	// No question to the master here: a hung one must not delay the stop.
	if pid, err := readPidfile(o.pidfile); err != nil {
		o.log.Infof("%v", err)
	} else if _, ok := o.id().check(pid); pid > 0 && !ok {
		o.log.Infof("pid file %s names pid %d, which is not this haproxy (%s): that process is left alone", o.pidfile, pid, describeProc(pid))
	}
	if rec == nil {
		o.cleanup()
		o.log.Infof("haproxy is not running (no record of a start)")
		return nil
	}
	if err := o.terminate(ctx, o.softStop(ctx)); err != nil {
		return err
	}
	o.cleanup()
	return nil
}

// quorate asks the controller whether this node's partition has quorum (a
// variable for tests).
var quorate = func(ctx context.Context) (bool, error) { return pcmktool.Quorate(ctx, pcmktool.Run) }

// softStop is how long stop lets established sessions finish: stop_timeout,
// or none when this node's partition has lost quorum. Such a partition
// stops its resources for the majority to take over once it has fenced
// this node; a session held here by a peer or a backend it can no longer
// reach ends only at stop_timeout (a node cut from every network held its
// soft stop 30 s), and nothing it could still finish outlives the fencing.
// Quorum unknown (no controller, an agent run by hand): the soft stop.
func (o *op) softStop(ctx context.Context) time.Duration {
	if o.stopTimeout <= 0 {
		return 0
	}
	q, err := quorate(ctx)
	if err != nil {
		o.log.Debugf("quorum unknown (%v): soft stop", err)
		return o.stopTimeout
	}
	if !q {
		o.log.Infof("this node's partition has no quorum: no soft stop (the majority takes over once it has fenced this node; what haproxy holds here would hold the stop until stop_timeout)")
		return 0
	}
	return o.stopTimeout
}

// stopWithoutRecord stops what the parameters name, as the record cannot
// be read (recErr): the master the pid file or the master socket names,
// when /proc shows it is one (root, its own session's leader, the binary
// and the socket of the parameters), with its session. It then fails, as
// what start recorded may not all have been found, unless the state
// directory itself is untrusted: nothing in it can be ours.
func (o *op) stopWithoutRecord(ctx context.Context, recErr error) error {
	var stopErr error
	if exe, err := filepath.EvalSymlinks(o.binary); err != nil {
		o.log.Infof("no master to stop by the parameters: %v", err)
	} else {
		o.exe = exe
		fctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		m, err := o.findMaster(fctx, 0)
		cancel()
		if err != nil {
			o.log.Infof("no master to stop by the parameters: %v", err)
		} else {
			uids := []uint32{0}
			if c, err := LoadConfig(o.configs); err == nil {
				if u, err := allowedUIDs(c); err == nil {
					uids = u
				}
			}
			o.rec = &record{Master: instance.Identity{PID: m.PID, Start: m.Start, Session: m.Session, Exe: m.Exe},
				Socket: o.socket, Pidfile: o.pidfile, UIDs: uids}
			o.log.Warnf("stopping the master the parameters name (pid %d): the record cannot be read", m.PID)
			stopErr = o.terminate(ctx, o.stopTimeout)
		}
	}
	var untrusted *instance.UntrustedError
	switch {
	case stopErr != nil:
		return fmt.Errorf("%w; and the record of this haproxy cannot be read: %v", stopErr, recErr)
	case errors.As(recErr, &untrusted):
		o.log.Warnf("%v: nothing in it can be ours; what the parameters name is stopped", recErr)
		return nil
	}
	return ocf.Generic("the record of this haproxy cannot be read, so what start left may still run (what the parameters name is stopped): %w", recErr)
}

// stopFromState is stop when the parameters are invalid: it stops what
// the record names, with the record's pid file, socket and stop timeout.
func stopFromState(ctx context.Context, r *ocf.Request) error {
	o, rec, err := fromState(r)
	if err != nil {
		return ocf.Generic("stop with invalid parameters, from the record: %w", err)
	}
	if rec == nil {
		r.Log.Infof("no record of a start: nothing of ours can be running")
		return nil
	}
	o.endWatcher()
	if err := o.terminate(ctx, rec.StopTimeout); err != nil {
		return err
	}
	o.cleanup()
	return nil
}

// probeFromState is a probe when the parameters are invalid: nil when a
// process the record names still runs.
func probeFromState(ctx context.Context, r *ocf.Request) error {
	o, rec, err := fromState(r)
	if err != nil {
		return err
	}
	if rec == nil {
		return ocf.Stopped("no record of a start")
	}
	if _, ok := o.id().check(rec.Master.PID); ok {
		return nil
	}
	procs, err := o.id().instanceProcs()
	if err != nil {
		return err
	}
	if len(procs) > 0 {
		return nil
	}
	return ocf.Stopped("no process of the recorded haproxy (master pid %d) runs", rec.Master.PID)
}

// fromState builds the op of a stop or probe from the record alone.
func fromState(r *ocf.Request) (*op, *record, error) {
	name, err := r.Name()
	if err != nil {
		return nil, nil, err
	}
	rec, err := loadRecord(name, nil, r.Log)
	if err != nil || rec == nil {
		return nil, nil, err
	}
	o := &op{settings: rec.settings(), name: name, log: r.Log, rec: rec, recRead: true}
	return o, rec, nil
}

// cleanup removes what an instance that no longer runs left: its pid file
// when it names the recorded master, its socket when it is a socket, each
// only in a directory that is root's alone, and its record.
func (o *op) cleanup() {
	master := 0
	if o.rec != nil {
		master = o.rec.Master.PID
	}
	if err := removePidfile(o.pidfile, master); err != nil {
		o.log.Warnf("%v", err)
	}
	if err := removeSocket(o.socket); err != nil {
		o.log.Warnf("%v", err)
	}
	if err := instance.Remove(o.name, recordKind); err != nil {
		o.log.Warnf("removing the record: %v", err)
	}
	o.rec = nil
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
func (o *op) terminate(ctx context.Context, soft time.Duration) error {
	id := o.id()
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
			return err
		}
		if len(procs) == 0 {
			return nil
		}
		master := masterOf(id.rec, procs)
		targets := procs
		if master != 0 && phase.sig == syscall.SIGUSR1 {
			targets = []procInfo{{Proc: instance.Proc{PID: master}}} // the master relays to its workers
		}
		for _, p := range targets {
			if err := id.signal(p.PID, phase.sig); err != nil {
				o.log.Debugf("%v", err)
			}
			if phase.sig == syscall.SIGTERM {
				// A stopped process handles SIGTERM only once continued.
				id.signal(p.PID, syscall.SIGCONT)
			}
		}
		o.log.Infof("sent %s to haproxy (pids %s)", sigName(phase.sig), joinInts(pidsOf(targets)))
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
		if o.waitGone(end) {
			o.log.Infof("every haproxy process of this instance is gone")
			return nil
		}
	}
	procs, _ := id.instanceProcs()
	return ocf.Generic("haproxy processes %s still run after SIGKILL", joinInts(pidsOf(procs)))
}

// masterOf picks the master among procs: the recorded one, or the one
// whose parent is not one of ours but whose children are.
func masterOf(rec *record, procs []procInfo) int {
	for _, p := range procs {
		if rec != nil && p.PID == rec.Master.PID {
			return p.PID
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
func (o *op) waitGone(end time.Time) bool {
	for {
		procs, err := o.id().instanceProcs()
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
