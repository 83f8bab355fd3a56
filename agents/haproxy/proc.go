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

// Processes are identified, never trusted: a pid counts as this instance's
// only when /proc says its executable is an haproxy binary (the configured
// one, or one named haproxy* — the one running before the operator changed
// the binary parameter) and its command line carries this instance's master
// socket ("-S <socket>,..."), which the master and every worker it forks
// share. A pid file that points anywhere else is stale and nothing is ever
// sent to that pid.

// procRoot is /proc; tests may point it elsewhere.
var procRoot = "/proc"

// identity is what makes a process ours.
type identity struct {
	binary string // the configured binary path
	socket string // the master socket path
}

// procInfo is what /proc says about a pid.
type procInfo struct {
	PID    int
	PPID   int
	State  byte // R, S, D, Z, ...
	Exe    string
	Argv   []string
	Zombie bool
}

// readProc reads /proc/<pid>. A pid that is gone, or a zombie (which has
// no executable any more), is reported with Zombie set or an error.
func readProc(pid int) (procInfo, error) {
	pi := procInfo{PID: pid}
	dir := filepath.Join(procRoot, strconv.Itoa(pid))
	stat, err := os.ReadFile(filepath.Join(dir, "stat"))
	if err != nil {
		return pi, err
	}
	// pid (comm) S ppid ...: comm may hold spaces and parentheses.
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 || i+2 >= len(stat) {
		return pi, fmt.Errorf("/proc/%d/stat: unexpected format", pid)
	}
	f := strings.Fields(string(stat[i+2:]))
	if len(f) < 2 {
		return pi, fmt.Errorf("/proc/%d/stat: unexpected format", pid)
	}
	pi.State = f[0][0]
	pi.PPID, _ = strconv.Atoi(f[1])
	if pi.State == 'Z' || pi.State == 'X' {
		pi.Zombie = true
		return pi, nil
	}
	exe, err := os.Readlink(filepath.Join(dir, "exe"))
	if err != nil {
		return pi, err
	}
	pi.Exe = strings.TrimSuffix(exe, " (deleted)")
	cl, err := os.ReadFile(filepath.Join(dir, "cmdline"))
	if err != nil {
		return pi, err
	}
	cl = bytes.TrimRight(cl, "\x00")
	if len(cl) > 0 {
		pi.Argv = strings.Split(string(cl), "\x00")
	}
	return pi, nil
}

// sameBinary reports whether exe (from /proc) is the configured binary, also
// across symlinks and after the package replaced the file.
func sameBinary(exe, binary string) bool {
	if exe == "" || binary == "" {
		return false
	}
	if filepath.Clean(exe) == filepath.Clean(binary) {
		return true
	}
	if r, err := filepath.EvalSymlinks(binary); err == nil && r == filepath.Clean(exe) {
		return true
	}
	return false
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

// ours reports whether the live process pi belongs to this instance.
func (id identity) ours(pi procInfo) bool {
	if pi.Zombie || masterSocketArg(pi.Argv) != id.socket {
		return false
	}
	return sameBinary(pi.Exe, id.binary) || strings.HasPrefix(filepath.Base(pi.Exe), "haproxy")
}

// check reads pid from /proc and reports whether it is ours.
func (id identity) check(pid int) (procInfo, bool) {
	pi, err := readProc(pid)
	if err != nil {
		return pi, false
	}
	return pi, id.ours(pi)
}

// instanceProcs lists every live process of this instance.
func (id identity) instanceProcs() ([]procInfo, error) {
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

// readPidfile returns the pid in path; 0 and no error when the file does not
// exist.
func readPidfile(path string) (int, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("reading pid file %s: %w", path, err)
	}
	// haproxy writes one pid per line; the master's is the first.
	line, _, _ := strings.Cut(strings.TrimSpace(string(b)), "\n")
	pid, err := strconv.Atoi(strings.TrimSpace(line))
	if err != nil || pid <= 0 {
		return 0, fmt.Errorf("pid file %s holds %q, not a pid", path, firstLine(string(b)))
	}
	return pid, nil
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
