package openstack

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// procRoot is where process information is read; tests may point it
// elsewhere.
var procRoot = "/proc"

// procStat is the part of /proc/<pid>/stat the agent uses.
type procStat struct {
	State     byte
	PGID, SID int
	StartTime uint64
}

// readStat parses /proc/<pid>/stat. The command name is in parentheses and
// may hold spaces and parentheses itself, so fields are counted from the
// last ')'.
func readStat(pid int) (procStat, error) {
	b, err := os.ReadFile(filepath.Join(procRoot, strconv.Itoa(pid), "stat"))
	if err != nil {
		return procStat{}, err
	}
	return parseStat(b)
}

func parseStat(b []byte) (procStat, error) {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return procStat{}, errors.New("stat: no command name")
	}
	f := strings.Fields(string(b[i+1:]))
	// f[0] is field 3 (state); field n is f[n-3]
	if len(f) < 20 || len(f[0]) != 1 {
		return procStat{}, errors.New("stat: too few fields")
	}
	var s procStat
	var err1, err2, err3 error
	s.State = f[0][0]
	s.PGID, err1 = strconv.Atoi(f[2])
	s.SID, err2 = strconv.Atoi(f[3])
	s.StartTime, err3 = strconv.ParseUint(f[19], 10, 64)
	if err := errors.Join(err1, err2, err3); err != nil {
		return procStat{}, fmt.Errorf("stat: %w", err)
	}
	return s, nil
}

// alive reports whether pid runs and is not a zombie.
func alive(pid int) (procStat, bool) {
	s, err := readStat(pid)
	if err != nil || s.State == 'Z' || s.State == 'X' {
		return s, false
	}
	return s, true
}

// procUID is the real uid of pid (/proc/<pid>/status), or -1.
func procUID(pid int) int {
	b, err := os.ReadFile(filepath.Join(procRoot, strconv.Itoa(pid), "status"))
	if err != nil {
		return -1
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "Uid:"); ok {
			if f := strings.Fields(v); len(f) > 0 {
				if n, err := strconv.Atoi(f[0]); err == nil {
					return n
				}
			}
		}
	}
	return -1
}

// procExe is the program pid runs. A program replaced on disk since it
// started (a package upgrade) is still the same program to us.
func procExe(pid int) string {
	exe, err := os.Readlink(filepath.Join(procRoot, strconv.Itoa(pid), "exe"))
	if err != nil {
		return ""
	}
	return strings.TrimSuffix(exe, " (deleted)")
}

// sessionMembers lists the live processes of session sid owned by uid.
// Membership of the session and the owner are what make a process ours: a
// session id is not reused while any process is in it, and the owner keeps
// a reused one from reaching a process of anyone else.
func sessionMembers(sid, uid int) []int {
	ents, err := os.ReadDir(procRoot)
	if err != nil {
		return nil
	}
	var out []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if st, ok := alive(pid); ok && st.SID == sid && procUID(pid) == uid {
			out = append(out, pid)
		}
	}
	return out
}

// signalSession signals every process of the session sid owned by uid and,
// when leader says the session's leader is verified ours, its process group
// too (which also reaches a child forked meanwhile).
func signalSession(sid, uid int, leader bool, sig syscall.Signal) error {
	if leader {
		if err := syscall.Kill(-sid, sig); err != nil && !errors.Is(err, syscall.ESRCH) {
			return err
		}
	}
	for _, pid := range sessionMembers(sid, uid) {
		if err := syscall.Kill(pid, sig); err != nil && !errors.Is(err, syscall.ESRCH) {
			return err
		}
	}
	return nil
}

// waitGone waits until no process of the session (owned by uid) is left,
// or until.
func waitGone(ctx context.Context, sid, uid int, until time.Time) bool {
	for {
		if len(sessionMembers(sid, uid)) == 0 {
			return true
		}
		if time.Now().After(until) {
			return false
		}
		select {
		case <-ctx.Done():
			return len(sessionMembers(sid, uid)) == 0
		case <-time.After(50 * time.Millisecond):
		}
	}
}
