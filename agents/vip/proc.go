package vip

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// procID is what makes a process ours: its pid with the owner, executable,
// start time (clock ticks after boot) and session read from /proc when we
// started it. A pid alone is never enough: it may have been reused.
type procID struct {
	Pid     int    `json:"pid"`
	UID     uint32 `json:"uid"`
	Exe     string `json:"exe"`
	Start   uint64 `json:"start"`
	Session int    `json:"session"`
}

// maxProcStat bounds what we read of /proc/<pid>/stat.
const maxProcStat = 4096

// readProcID reads the identity of a running process from /proc.
func readProcID(pid int) (procID, error) {
	if pid <= 1 {
		return procID{}, fmt.Errorf("pid %d is not a process of ours", pid)
	}
	dir := "/proc/" + strconv.Itoa(pid)
	var st syscall.Stat_t
	if err := syscall.Stat(dir, &st); err != nil {
		return procID{}, fmt.Errorf("process %d: %w", pid, err)
	}
	exe, err := os.Readlink(dir + "/exe")
	if err != nil {
		return procID{}, fmt.Errorf("process %d: %w", pid, err)
	}
	f, err := os.Open(dir + "/stat")
	if err != nil {
		return procID{}, fmt.Errorf("process %d: %w", pid, err)
	}
	defer f.Close()
	buf := make([]byte, maxProcStat)
	n, err := f.Read(buf)
	if err != nil {
		return procID{}, fmt.Errorf("process %d: %w", pid, err)
	}
	start, session, err := parseProcStat(buf[:n])
	if err != nil {
		return procID{}, fmt.Errorf("process %d: %w", pid, err)
	}
	return procID{Pid: pid, UID: st.Uid, Exe: strings.TrimSuffix(exe, " (deleted)"), Start: start, Session: session}, nil
}

// parseProcStat reads the session (field 6) and start time (field 22) of a
// /proc/<pid>/stat line; the command name (field 2) may hold anything, up
// to the last ')'.
func parseProcStat(b []byte) (start uint64, session int, err error) {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, 0, errors.New("unreadable /proc stat")
	}
	f := strings.Fields(string(b[i+1:]))
	// f[0] is field 3 (state): field n is f[n-3].
	if len(f) < 20 {
		return 0, 0, errors.New("short /proc stat")
	}
	session, err = strconv.Atoi(f[6-3])
	if err != nil {
		return 0, 0, fmt.Errorf("/proc stat session: %w", err)
	}
	start, err = strconv.ParseUint(f[22-3], 10, 64)
	if err != nil {
		return 0, 0, fmt.Errorf("/proc stat start time: %w", err)
	}
	return start, session, nil
}

// sameProcess reports whether the process now at rec.Pid is the one
// recorded: same owner, executable, start time and session.
func sameProcess(rec procID) bool {
	now, err := readProcID(rec.Pid)
	return err == nil && now == rec
}
