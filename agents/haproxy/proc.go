package haproxy

import (
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"syscall"

	"github.com/stackha/stackha/instance"
)

// Processes are identified, never trusted. A process counts as this
// instance's only when everything about it matches what start recorded, in
// the instance's root-owned state directory, about the master it launched
// (see record.go); the facts come from instance's /proc primitives:
//   - owner: root, or the user the configuration's global "user" or "uid"
//     names (haproxy's workers drop to it), for the real and effective uid;
//   - session: the master's (haproxy -D starts its own session; its workers
//     inherit it, and no other user's process can join it);
//   - start time: the master's own for the master's pid, not earlier for
//     the processes it forked;
//   - executable: the file the master ran;
//   - master socket: the command line carries -S <the recorded socket>.
// Without a record nothing is ours. A pid file that points anywhere else is
// stale, and nothing is ever sent to that pid.

// procInfo is what /proc says about a process: instance's facts, and the
// executable and command line.
type procInfo struct {
	instance.Proc
	Exe  string
	Argv []string
}

// readProc reads all of pid the identity needs. A zombie (which has no
// executable any more) is returned without them.
func readProc(pid int) (procInfo, error) {
	p, err := instance.ReadProc(pid)
	pi := procInfo{Proc: p}
	if err != nil || p.Zombie() {
		return pi, err
	}
	if pi.Exe, err = instance.Exe(pid); err != nil {
		return pi, err
	}
	pi.Argv, err = instance.Cmdline(pid)
	return pi, err
}

// masterSocketArg returns the socket path of the -S argument in argv, "" when
// there is none.
func masterSocketArg(argv []string) string {
	for i := 0; i+1 < len(argv); i++ {
		if argv[i] == "-S" {
			p, _, _ := strings.Cut(argv[i+1], ",")
			return p
		}
	}
	return ""
}

// identity is what makes a process ours: the record of the master start
// launched; nil when there is none (then nothing is ours).
type identity struct{ rec *record }

// related reports whether p may be ours by what stat says: alive, in the
// master's session, not older than the master, and not the master's pid
// reused.
func (id identity) related(p instance.Proc) bool {
	m := id.rec.Master
	return !p.Zombie() && p.Session == m.Session && p.Start >= m.Start && (p.PID != m.PID || p.Start == m.Start)
}

// owned reports whether p's real and effective owner may own our processes.
func (id identity) owned(p instance.Proc) bool {
	return id.rec.uidAllowed(p.UID) && id.rec.uidAllowed(p.EUID)
}

// ours reports whether the live process pi belongs to this instance.
func (id identity) ours(pi procInfo) bool {
	return id.rec != nil && id.related(pi.Proc) && id.owned(pi.Proc) &&
		pi.Exe == id.rec.Master.Exe && masterSocketArg(pi.Argv) == id.rec.Socket
}

// check reads pid from /proc and reports whether it is ours; the cheap
// facts are compared first.
func (id identity) check(pid int) (procInfo, bool) {
	if id.rec == nil {
		return procInfo{}, false
	}
	p, err := instance.ReadProc(pid)
	if err != nil || !id.related(p) || !id.owned(p) {
		return procInfo{Proc: p}, false
	}
	pi, err := readProc(pid)
	return pi, err == nil && id.ours(pi)
}

// instanceProcs lists every live process of this instance.
func (id identity) instanceProcs() ([]procInfo, error) {
	if id.rec == nil {
		return nil, nil
	}
	cand, err := instance.Processes(id.related, id.owned)
	if err != nil {
		return nil, err
	}
	var out []procInfo
	for _, p := range cand {
		pi := procInfo{Proc: p}
		if pi.Exe, err = instance.Exe(p.PID); err != nil {
			continue
		}
		if pi.Argv, err = instance.Cmdline(p.PID); err == nil && id.ours(pi) {
			out = append(out, pi)
		}
	}
	return out, nil
}

// signal sends sig to pid only after checking, again, that it is ours.
func (id identity) signal(pid int, sig syscall.Signal) error {
	if _, ok := id.check(pid); !ok {
		return fmt.Errorf("pid %d is not (or no longer) this haproxy: not signalled", pid)
	}
	if err := syscall.Kill(pid, sig); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("sending %s to haproxy pid %d: %w", sig, pid, err)
	}
	return nil
}

// describeProc says what pid is, for a reason or a log line.
func describeProc(pid int) string {
	pi, err := readProc(pid)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return "no such process"
	case err != nil:
		return err.Error()
	case pi.Zombie():
		return "a defunct process"
	}
	return fmt.Sprintf("uid %d, executable %s, command line %s", pi.UID, instance.Quote(pi.Exe), instance.Quote(strings.Join(pi.Argv, " ")))
}
