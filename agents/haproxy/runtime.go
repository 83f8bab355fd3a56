package haproxy

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// queryTimeout bounds one question to the master while the agent looks at
// the instance, so that a hung master cannot eat a whole operation.
const queryTimeout = 5 * time.Second

// pollInterval is how often the agent looks again while it waits.
const pollInterval = 50 * time.Millisecond

// state is what the agent found of this instance.
type state struct {
	procs   []procInfo // every live process of this instance
	master  int        // the verified master pid, 0 when none
	list    *ProcList  // the master's show proc, nil when it did not answer
	listErr error
	stale   string // why the pid file was not believed, "" when it was
	// pidfileOff: the pid file did not name the master (the record did).
	pidfileOff bool
}

// worker is the first current worker that is alive and ours, 0 when none.
func (s *state) worker() int {
	if s.list == nil {
		return 0
	}
	live := map[int]bool{}
	for _, p := range s.procs {
		live[p.PID] = true
	}
	for _, w := range s.list.Workers {
		if live[w.PID] {
			return w.PID
		}
	}
	return 0
}

func (s *state) pids() []int {
	var out []int
	for _, p := range s.procs {
		out = append(out, p.PID)
	}
	return out
}

// inspect finds this instance's processes and asks the master what
// workers it has. The recorded master, when it runs, names its workers
// itself (each is then checked in /proc); only when it does not is every
// process scanned for what is left. The pid file is only compared. A
// record that cannot be read is an error: never "nothing runs".
func (o *op) inspect(ctx context.Context) (*state, error) {
	rec, err := o.record()
	if err != nil {
		return nil, err
	}
	id := identity{rec: rec}
	s := &state{}
	pid, err := readPidfile(o.pidfile)
	if err != nil {
		s.stale = err.Error()
	} else if _, ok := id.check(pid); pid > 0 && !ok {
		s.stale = fmt.Sprintf("pid file %s names pid %d, which is not this haproxy (%s)", o.pidfile, pid, describeProc(pid))
	}
	var master procInfo
	ok := false
	if rec != nil {
		master, ok = id.check(rec.Master.PID)
	}
	if !ok {
		procs, err := id.instanceProcs()
		if err != nil {
			return nil, err
		}
		s.procs = procs
		return s, nil
	}
	s.master, s.procs, s.pidfileOff = master.PID, []procInfo{master}, pid != master.PID
	qctx, cancel := context.WithTimeout(ctx, queryTimeout)
	defer cancel()
	answer, err := Query(qctx, o.socket, "show proc")
	if err != nil {
		s.listErr = err
		return s, nil
	}
	pl, err := ParseShowProc(answer)
	if err != nil {
		s.listErr = fmt.Errorf("master socket %s: %w", o.socket, err)
		return s, nil
	}
	if pl.Master.PID != s.master {
		s.listErr = fmt.Errorf("master socket %s is answered by pid %d, not by the master %d", o.socket, pl.Master.PID, s.master)
		return s, nil
	}
	for _, w := range append(pl.Workers, pl.Old...) {
		if pi, ok := id.check(w.PID); ok {
			s.procs = append(s.procs, pi)
		}
	}
	s.list = &pl
	return s, nil
}

// id is this instance's process identity from its record (none when there
// is no record, or it cannot be read: then nothing is ours).
func (o *op) id() identity {
	rec, _ := o.record()
	return identity{rec: rec}
}

// health reports why s is not a running instance; nil when it is.
func (o *op) health(s *state) error {
	switch {
	case s.master == 0 && len(s.procs) == 0:
		return errStopped
	case s.master == 0:
		return fmt.Errorf("the haproxy master is gone but %d process(es) of this instance still run (pids %s): the master was killed",
			len(s.procs), joinInts(s.pids()))
	case s.list == nil:
		return fmt.Errorf("haproxy master pid %d does not answer on its socket: %w", s.master, s.listErr)
	case s.worker() == 0:
		return fmt.Errorf("haproxy master pid %d has no current worker running", s.master)
	}
	return nil
}

// errStopped says no process of this instance runs (a constant: no work
// at init).
var errStopped error = stoppedError{}

type stoppedError struct{}

func (stoppedError) Error() string { return "haproxy is not running" }

func joinInts(ns []int) string {
	var s []string
	for _, n := range ns {
		s = append(s, strconv.Itoa(n))
	}
	return strings.Join(s, ",")
}

// workerQuery sends cmd to the worker with this pid through the master CLI.
func (o *op) workerQuery(ctx context.Context, pid int, cmd string) (string, error) {
	return Query(ctx, o.socket, fmt.Sprintf("@!%d %s", pid, cmd))
}
