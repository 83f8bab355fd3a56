package haproxy

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// record is what start wrote, in the instance's root-owned state directory,
// about the master it launched: what makes a process ours (proc.go).
type record struct {
	PID     int
	Start   uint64 // the master's start time, clock ticks after boot
	Session int
	Exe     string
	Socket  string
	UIDs    []uint32 // root and the configured user
}

// maxRecord bounds the record file.
const maxRecord = 4096

func (r *record) encode() []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "pid %d\nstart %d\nsession %d\nexe %s\nsocket %s\nuids", r.PID, r.Start, r.Session, r.Exe, r.Socket)
	for _, u := range r.UIDs {
		fmt.Fprintf(&b, " %d", u)
	}
	b.WriteString("\n")
	return []byte(b.String())
}

func parseRecord(b []byte) (*record, error) {
	r := &record{}
	seen := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		k, v, _ := strings.Cut(line, " ")
		seen[k] = true
		var err error
		switch k {
		case "pid":
			r.PID, err = strconv.Atoi(v)
		case "start":
			r.Start, err = strconv.ParseUint(v, 10, 64)
		case "session":
			r.Session, err = strconv.Atoi(v)
		case "exe":
			r.Exe = v
		case "socket":
			r.Socket = v
		case "uids":
			for _, f := range strings.Fields(v) {
				n, perr := strconv.ParseUint(f, 10, 32)
				err = errors.Join(err, perr)
				r.UIDs = append(r.UIDs, uint32(n))
			}
		default:
			err = fmt.Errorf("unknown key %q", clip(k))
		}
		if err != nil {
			return nil, fmt.Errorf("line %q: %w", clip(line), err)
		}
	}
	for _, k := range []string{"pid", "start", "session", "exe", "socket", "uids"} {
		if !seen[k] {
			return nil, fmt.Errorf("no %s", k)
		}
	}
	if r.PID <= 0 || r.Session <= 0 || !filepath.IsAbs(r.Exe) || !filepath.IsAbs(r.Socket) {
		return nil, errors.New("implausible values")
	}
	return r, nil
}

func (in *instance) recordPath() string { return filepath.Join(in.stateDir, "master.record") }

// loadRecord reads the record; nil and no error when there is none. A
// record that is not in a root-only directory, or not a root-only regular
// file, is not believed.
func (in *instance) loadRecord() (*record, error) {
	if _, err := os.Lstat(in.recordPath()); errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err := secureDir(in.stateDir); err != nil {
		return nil, fmt.Errorf("state directory not trusted: %w", err)
	}
	b, err := openTrusted(in.recordPath(), maxRecord, true)
	if err != nil {
		return nil, fmt.Errorf("record of the running master: %w", err)
	}
	r, err := parseRecord(b)
	if err != nil {
		return nil, fmt.Errorf("record of the running master %s: %w", in.recordPath(), err)
	}
	return r, nil
}

// identity is this instance's process identity from its record; a record
// that cannot be believed is logged and leaves nothing ours.
func (in *instance) id() identity {
	if in.rec == nil {
		r, err := in.loadRecord()
		if err != nil {
			in.log.Warnf("%v: no process counts as this haproxy", err)
		}
		in.rec = r
	}
	return identity{rec: in.rec}
}

func (in *instance) dropRecord() {
	if err := ignoreMissing(os.Remove(in.recordPath())); err != nil {
		in.log.Warnf("removing %s: %v", in.recordPath(), err)
	}
	in.rec = nil
}

// allowedUIDs are root and the user the workers run as.
func allowedUIDs(c *Config) ([]uint32, error) {
	uids := []uint32{0}
	if c == nil || c.User == "" {
		return uids, nil
	}
	n, err := strconv.ParseUint(c.User, 10, 32)
	if err != nil {
		u, lerr := user.Lookup(c.User)
		if lerr != nil {
			return nil, fmt.Errorf("the configuration's user %q: %w", clip(c.User), lerr)
		}
		if n, err = strconv.ParseUint(u.Uid, 10, 32); err != nil {
			return nil, fmt.Errorf("the configuration's user %q: uid %q", clip(c.User), u.Uid)
		}
	}
	if n != 0 {
		uids = append(uids, uint32(n))
	}
	return uids, nil
}

// adopt finds the master the launcher (pid launcher, started at tick
// launchStart) left, by the pid file or the master socket, checks it in
// /proc (root, its own session, not older than the launcher, the binary
// and socket we gave it) and records it. It waits until ctx ends.
func (in *instance) adopt(ctx context.Context, launcher int, launchStart uint64, uids []uint32) error {
	exe, err := filepath.EvalSymlinks(in.binary)
	if err != nil {
		return fmt.Errorf("resolving %s: %w", in.binary, err)
	}
	var last error
	for {
		var cand []int
		if pid, err := readPidfile(in.pidfile); err == nil && pid > 0 {
			cand = append(cand, pid)
		}
		qctx, cancel := context.WithTimeout(ctx, time.Second)
		if answer, err := Query(qctx, in.socket, "show proc"); err == nil {
			if pl, err := ParseShowProc(answer); err == nil {
				cand = append(cand, pl.Master.PID)
			}
		}
		cancel()
		for _, pid := range cand {
			pi, err := readProc(pid)
			switch {
			case err != nil:
				last = err
			case pi.Zombie:
				last = fmt.Errorf("master pid %d exited", pid)
			case pi.UIDs != [2]uint32{0, 0} || pi.Session != pid || pi.Start < launchStart || pi.Exe != exe || masterSocketArg(pi.Argv) != in.socket:
				last = fmt.Errorf("pid %d is not the master launched as pid %d (%s)", pid, launcher, describeProc(pid))
			default:
				in.rec = &record{PID: pid, Start: pi.Start, Session: pi.Session, Exe: exe, Socket: in.socket, UIDs: uids}
				return writeFileAtomic(in.recordPath(), in.rec.encode(), 0o600)
			}
		}
		if last == nil {
			last = errors.New("no pid file and no answer on the master socket yet")
		}
		if sleep(ctx, pollInterval) != nil {
			return fmt.Errorf("haproxy's master could not be identified: %w", last)
		}
	}
}
