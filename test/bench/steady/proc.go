package steady

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// userHZ is the unit of utime and stime in /proc/<pid>/stat on Linux.
const userHZ = 100

// parseStat reads a /proc/<pid>/stat line: the process's session and its
// user+system CPU in clock ticks.
func parseStat(b []byte) (sid int, ticks uint64, err error) {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, 0, fmt.Errorf("stat without a command name")
	}
	f := strings.Fields(string(b[i+1:]))
	// after the name: state ppid pgrp session ... utime (12th) stime (13th)
	if len(f) < 13 {
		return 0, 0, fmt.Errorf("stat with %d fields after the name", len(f))
	}
	sid, err = strconv.Atoi(f[3])
	if err != nil {
		return 0, 0, fmt.Errorf("stat session %q: %w", f[3], err)
	}
	u, err1 := strconv.ParseUint(f[11], 10, 64)
	s, err2 := strconv.ParseUint(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, 0, fmt.Errorf("stat utime/stime %q %q", f[11], f[12])
	}
	return sid, u + s, nil
}

// SessionCPU is the CPU the live processes of session sid have used so far
// (the service the agent started leads its own session).
func SessionCPU(sid int) (time.Duration, error) {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return 0, err
	}
	var ticks uint64
	found := false
	for _, e := range ents {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue // gone
		}
		s, t, err := parseStat(b)
		if err != nil || s != sid {
			continue
		}
		found = true
		ticks += t
	}
	if !found {
		return 0, fmt.Errorf("no process left in session %d", sid)
	}
	return time.Duration(ticks) * time.Second / userHZ, nil
}

// ReadPID reads the first number of a pid file.
func ReadPID(path string) (int, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return 0, fmt.Errorf("%s: empty", path)
	}
	pid, err := strconv.Atoi(f[0])
	if err != nil || pid <= 1 {
		return 0, fmt.Errorf("%s: %q is not a pid", path, f[0])
	}
	return pid, nil
}

// ParseRC reads the OS_* variables of a shell rc file of `export K=V`
// lines (V plain, or in single quotes without a quote inside).
func ParseRC(text string) (map[string]string, error) {
	out := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		rest, ok := strings.CutPrefix(line, "export ")
		if !ok {
			continue
		}
		k, v, ok := strings.Cut(rest, "=")
		if !ok || !strings.HasPrefix(k, "OS_") {
			continue
		}
		if strings.HasPrefix(v, "'") {
			if len(v) < 2 || !strings.HasSuffix(v, "'") || strings.Contains(v[1:len(v)-1], "'") {
				return nil, fmt.Errorf("%s: badly quoted value", k)
			}
			v = v[1 : len(v)-1]
		}
		out[k] = v
	}
	if out["OS_AUTH_URL"] == "" || out["OS_PASSWORD"] == "" {
		return nil, fmt.Errorf("no OS_AUTH_URL or OS_PASSWORD")
	}
	return out, nil
}
