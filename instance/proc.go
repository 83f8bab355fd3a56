package instance

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// Process identity. A pid alone never makes a process ours: pids are
// reused. What does is the pid with its start time (clock ticks after boot:
// a reused pid cannot have the same), its owner, and its session; the
// executable only where it cannot change after we record it (a program
// that execs another, a "#!/usr/bin/env python3" script, changes it after
// start returns).

// procRoot is where /proc is; the parsers take the bytes, so fixtures test
// them without it.
var procRoot = "/proc"

// maxProcFile bounds what is read of one /proc file.
const maxProcFile = 64 << 10

// Proc is what /proc says about a process.
type Proc struct {
	PID, PPID, PGID, Session int
	State                    byte   // R, S, D, T, Z, ...
	Start                    uint64 // clock ticks after boot
	UID, EUID                uint32 // real and effective
}

// Zombie reports a process that has exited and not been reaped.
func (p Proc) Zombie() bool { return p.State == 'Z' || p.State == 'X' }

// ParseStat parses a /proc/<pid>/stat line. The command name (field 2) is
// in parentheses and may hold anything, so fields are counted from the
// last ')'.
func ParseStat(b []byte) (Proc, error) {
	var p Proc
	open := bytes.IndexByte(b, '(')
	i := bytes.LastIndexByte(b, ')')
	if open <= 0 || i < open {
		return p, errors.New("/proc stat: no command name")
	}
	pid, err := strconv.Atoi(string(bytes.TrimSpace(b[:open])))
	if err != nil {
		return p, fmt.Errorf("/proc stat: pid: %w", err)
	}
	f := strings.Fields(string(b[i+1:]))
	// f[0] is field 3 (state): field n is f[n-3].
	if len(f) < 20 || len(f[0]) != 1 {
		return p, errors.New("/proc stat: too few fields")
	}
	p.PID, p.State = pid, f[0][0]
	var e1, e2, e3, e4 error
	p.PPID, e1 = strconv.Atoi(f[1])
	p.PGID, e2 = strconv.Atoi(f[2])
	p.Session, e3 = strconv.Atoi(f[3])
	p.Start, e4 = strconv.ParseUint(f[19], 10, 64)
	if err := errors.Join(e1, e2, e3, e4); err != nil {
		return p, fmt.Errorf("/proc stat: %w", err)
	}
	return p, nil
}

// ParseStatusUIDs reads the real and effective uid from the Uid line of
// /proc/<pid>/status.
func ParseStatusUIDs(b []byte) (uid, euid uint32, err error) {
	for _, line := range strings.Split(string(b), "\n") {
		rest, ok := strings.CutPrefix(line, "Uid:")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if len(f) < 2 {
			break
		}
		u, e1 := strconv.ParseUint(f[0], 10, 32)
		eu, e2 := strconv.ParseUint(f[1], 10, 32)
		if err := errors.Join(e1, e2); err != nil {
			return 0, 0, fmt.Errorf("/proc status: %w", err)
		}
		return uint32(u), uint32(eu), nil
	}
	return 0, 0, errors.New("/proc status: no Uid line")
}

// ReadProc reads the process pid from /proc: its stat, and its owner from
// its status unless it is a zombie.
func ReadProc(pid int) (Proc, error) {
	if pid <= 0 {
		return Proc{}, fmt.Errorf("pid %d: not a process", pid)
	}
	dir := procRoot + "/" + strconv.Itoa(pid)
	b, err := readCapped(dir+"/stat", 4096)
	if err != nil {
		return Proc{}, err
	}
	p, err := ParseStat(b)
	if err != nil || p.Zombie() {
		return p, err
	}
	if p.PID != pid {
		return p, fmt.Errorf("/proc/%d/stat names pid %d", pid, p.PID)
	}
	if b, err = readCapped(dir+"/status", maxProcFile); err != nil {
		return p, err
	}
	p.UID, p.EUID, err = ParseStatusUIDs(b)
	return p, err
}

// Exe is the program pid runs. A program replaced on disk since it started
// (a package upgrade) is still the same program.
func Exe(pid int) (string, error) {
	exe, err := os.Readlink(procRoot + "/" + strconv.Itoa(pid) + "/exe")
	if err != nil {
		return "", err
	}
	return strings.TrimSuffix(exe, " (deleted)"), nil
}

// Cmdline is the command line of pid, at most maxProcFile bytes of it.
func Cmdline(pid int) ([]string, error) {
	b, err := readCapped(procRoot+"/"+strconv.Itoa(pid)+"/cmdline", maxProcFile)
	if err != nil {
		return nil, err
	}
	b = bytes.TrimRight(b, "\x00")
	if len(b) == 0 {
		return nil, nil
	}
	return strings.Split(string(b), "\x00"), nil
}

// Processes lists the live (not zombie) processes that pass pre, which
// sees only the fields of stat (cheap: one read), and then keep, which sees
// the owner too.
func Processes(pre, keep func(Proc) bool) ([]Proc, error) {
	f, err := os.Open(procRoot)
	if err != nil {
		return nil, fmt.Errorf("listing processes: %w", err)
	}
	names, err := f.Readdirnames(-1)
	f.Close()
	if err != nil {
		return nil, fmt.Errorf("listing processes: %w", err)
	}
	var out []Proc
	for _, n := range names {
		pid, err := strconv.Atoi(n)
		if err != nil || pid <= 0 {
			continue
		}
		dir := procRoot + "/" + n
		b, err := readCapped(dir+"/stat", 4096)
		if err != nil {
			continue
		}
		p, err := ParseStat(b)
		if err != nil || p.Zombie() || !pre(p) {
			continue
		}
		if b, err = readCapped(dir+"/status", maxProcFile); err != nil {
			continue
		}
		if p.UID, p.EUID, err = ParseStatusUIDs(b); err != nil || !keep(p) {
			continue
		}
		out = append(out, p)
	}
	return out, nil
}

// readCapped reads at most max bytes of path with plain system calls:
// os.File's poller set-up would double the cost of each of the many small
// /proc files a scan reads.
func readCapped(path string, max int) ([]byte, error) {
	fd, err := syscall.Open(path, syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	defer syscall.Close(fd)
	buf := make([]byte, 0, 1024)
	for len(buf) < max {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		room := buf[len(buf):min(cap(buf), max)]
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
