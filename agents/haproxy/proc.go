package haproxy

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// Processes are identified, never trusted. A process counts as this
// instance's only when everything about it matches what start recorded, in
// the instance's root-owned state directory, about the master it launched
// (see record.go):
//   - owner: root, or the user the configuration's global "user" or "uid"
//     names (haproxy's workers drop to it), for the real and effective uid;
//   - session: the master's (haproxy -D starts its own session; its workers
//     inherit it, and no other user's process can join it);
//   - start time: the master's own for the master's pid, not earlier for
//     the processes it forked;
//   - executable: /proc/<pid>/exe is the file the master ran;
//   - master socket: the command line carries -S <the recorded socket>.
// Without a record nothing is ours. A pid file that points anywhere else is
// stale, and nothing is ever sent to that pid.

// procRoot is /proc; tests may point it elsewhere.
var procRoot = "/proc"

// maxProcFile bounds what is read of one /proc file (a command line may be
// long; ours is short, and one longer than this is not ours).
const maxProcFile = 64 << 10

// procInfo is what /proc says about a pid.
type procInfo struct {
	PID     int
	PPID    int
	State   byte // R, S, D, Z, ...
	Session int
	Start   uint64    // clock ticks after boot
	UIDs    [2]uint32 // real, effective
	Exe     string
	Argv    []string
	Zombie  bool
}

// readCapped reads at most max bytes of path. It uses the plain system
// calls: os.File's poller set-up would double the cost of each of the
// hundreds of small /proc files a scan reads.
func readCapped(path string, max int64) ([]byte, error) {
	fd, err := syscall.Open(path, syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	defer syscall.Close(fd)
	buf := make([]byte, 0, 1024)
	for int64(len(buf)) < max {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		room := buf[len(buf):min(int64(cap(buf)), max)]
		n, err := syscall.Read(fd, room)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return nil, &os.PathError{Op: "read", Path: path, Err: err}
		}
		if n == 0 {
			break
		}
		buf = buf[:len(buf)+n]
	}
	return buf, nil
}

// readStat reads /proc/<pid>/stat: state, parent, session and start time.
func readStat(pid int) (procInfo, error) {
	pi := procInfo{PID: pid}
	stat, err := readCapped(filepath.Join(procRoot, strconv.Itoa(pid), "stat"), 4096)
	if err != nil {
		return pi, err
	}
	// pid (comm) S ppid pgrp session ... starttime (22nd): comm may hold
	// spaces and parentheses.
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 || i+2 >= len(stat) {
		return pi, fmt.Errorf("/proc/%d/stat: unexpected format", pid)
	}
	f := strings.Fields(string(stat[i+2:]))
	if len(f) < 20 || len(f[0]) == 0 {
		return pi, fmt.Errorf("/proc/%d/stat: unexpected format", pid)
	}
	pi.State = f[0][0]
	pi.Zombie = pi.State == 'Z' || pi.State == 'X'
	var e1, e2, e3 error
	pi.PPID, e1 = strconv.Atoi(f[1])
	pi.Session, e2 = strconv.Atoi(f[3])
	pi.Start, e3 = strconv.ParseUint(f[19], 10, 64)
	if err := errors.Join(e1, e2, e3); err != nil {
		return pi, fmt.Errorf("/proc/%d/stat: %w", pid, err)
	}
	return pi, nil
}

// readUIDs reads the real and effective uid from /proc/<pid>/status.
func readUIDs(pid int) ([2]uint32, error) {
	var ids [2]uint32
	b, err := readCapped(filepath.Join(procRoot, strconv.Itoa(pid), "status"), maxProcFile)
	if err != nil {
		return ids, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "Uid:"); ok {
			f := strings.Fields(rest)
			if len(f) < 2 {
				break
			}
			for i := range ids {
				n, err := strconv.ParseUint(f[i], 10, 32)
				if err != nil {
					return ids, fmt.Errorf("/proc/%d/status: %w", pid, err)
				}
				ids[i] = uint32(n)
			}
			return ids, nil
		}
	}
	return ids, fmt.Errorf("/proc/%d/status: no Uid line", pid)
}

// readProc reads all of /proc/<pid> the identity needs. A zombie (which has
// no executable any more) is reported with Zombie set.
func readProc(pid int) (procInfo, error) {
	pi, err := readStat(pid)
	if err != nil || pi.Zombie {
		return pi, err
	}
	if pi.UIDs, err = readUIDs(pid); err != nil {
		return pi, err
	}
	if err := pi.readExeArgv(); err != nil {
		return pi, err
	}
	return pi, nil
}

func (pi *procInfo) readExeArgv() error {
	dir := filepath.Join(procRoot, strconv.Itoa(pi.PID))
	exe, err := os.Readlink(filepath.Join(dir, "exe"))
	if err != nil {
		return err
	}
	pi.Exe = strings.TrimSuffix(exe, " (deleted)")
	cl, err := readCapped(filepath.Join(dir, "cmdline"), maxProcFile)
	if err != nil {
		return err
	}
	cl = bytes.TrimRight(cl, "\x00")
	if len(cl) > 0 {
		pi.Argv = strings.Split(string(cl), "\x00")
	}
	return nil
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

// uidAllowed reports whether uid may own one of our processes.
func (r *record) uidAllowed(uid uint32) bool {
	for _, u := range r.UIDs {
		if u == uid {
			return true
		}
	}
	return false
}

// ours reports whether the live process pi belongs to this instance.
func (id identity) ours(pi procInfo) bool {
	r := id.rec
	if r == nil || pi.Zombie || pi.Session != r.Session || pi.Start < r.Start {
		return false
	}
	if pi.PID == r.PID && pi.Start != r.Start {
		return false // the master's pid, reused
	}
	if !r.uidAllowed(pi.UIDs[0]) || !r.uidAllowed(pi.UIDs[1]) {
		return false
	}
	return pi.Exe == r.Exe && masterSocketArg(pi.Argv) == r.Socket
}

// check reads pid from /proc and reports whether it is ours; the cheap
// fields are compared first.
func (id identity) check(pid int) (procInfo, bool) {
	if id.rec == nil {
		return procInfo{PID: pid}, false
	}
	pi, err := readStat(pid)
	if err != nil || pi.Zombie || pi.Session != id.rec.Session {
		return pi, false
	}
	if pi.UIDs, err = readUIDs(pid); err != nil {
		return pi, false
	}
	if err := pi.readExeArgv(); err != nil {
		return pi, false
	}
	return pi, id.ours(pi)
}

// instanceProcs lists every live process of this instance.
func (id identity) instanceProcs() ([]procInfo, error) {
	if id.rec == nil {
		return nil, nil
	}
	ents, err := os.ReadDir(procRoot)
	if err != nil {
		return nil, fmt.Errorf("listing processes: %w", err)
	}
	var out []procInfo
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid <= 0 {
			continue
		}
		if pi, ok := id.check(pid); ok {
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
