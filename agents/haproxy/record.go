package haproxy

import (
	"context"
	"errors"
	"fmt"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"time"

	"github.com/stackha/stackha/agents/internal/watch"
	"github.com/stackha/stackha/instance"
	"github.com/stackha/stackha/ocf"
)

// recordKind names the record start writes in the instance's state
// directory (instance.Save): what makes a process this haproxy's (proc.go)
// and what a stop needs when the parameters cannot be read.
var recordKind = instance.Kind{Name: "haproxy", Version: 1}

// record is what start learnt about the master it launched.
type record struct {
	// Master is the master: root, the leader of its own session (haproxy
	// -D starts one), its start time and executable.
	Master instance.Identity `json:"master"`
	// Launcher is the pid of the "haproxy -D" start ran, which bound the
	// listeners before it daemonized: the peer the kernel names for the
	// stats socket (SO_PEERCRED), also after reloads.
	Launcher int      `json:"launcher"`
	Socket   string   `json:"socket"`  // the master socket (-S)
	Pidfile  string   `json:"pidfile"` // the pid file (-p)
	UIDs     []uint32 `json:"uids"`    // root and the configured user
	// StopTimeout is the stop_timeout in force (start and reload set it).
	StopTimeout time.Duration `json:"stop_timeout"`
	// Converted: made from the record of stackha 0.2 (legacy.go), which did
	// not know the launcher (Launcher is 0).
	Converted bool `json:"converted,omitempty"`
	// Watcher is the event watcher (watch.go) and the node it reports for.
	Watcher *watch.Record `json:"watcher,omitempty"`
}

// check refuses a record that cannot describe a master start launched.
func (r *record) check() error {
	switch err := r.Master.Valid(); {
	case err != nil:
		return err
	case r.Master.UID != 0 || r.Master.PID != r.Master.Session || !filepath.IsAbs(r.Master.Exe):
		return fmt.Errorf("the master (pid %d, session %d, uid %d, executable %s) is not a root session leader running a program",
			r.Master.PID, r.Master.Session, r.Master.UID, instance.Quote(r.Master.Exe))
	case r.Launcher <= 1 && !(r.Converted && r.Launcher == 0):
		return fmt.Errorf("implausible launcher pid %d", r.Launcher)
	case !slices.Contains(r.UIDs, 0):
		return errors.New("root is not among the owners")
	case r.StopTimeout < 0 || r.StopTimeout > time.Hour:
		return fmt.Errorf("stop timeout %s out of range", r.StopTimeout)
	}
	if err := instance.CheckPath("socket", r.Socket); err != nil {
		return err
	}
	if r.Watcher != nil {
		if err := r.Watcher.Check(); err != nil {
			return err
		}
	}
	return instance.CheckPath("pidfile", r.Pidfile)
}

// uidAllowed reports whether uid may own one of our processes.
func (r *record) uidAllowed(uid uint32) bool { return slices.Contains(r.UIDs, uid) }

// settings are what a stop from the record knows of the instance.
func (r *record) settings() *settings {
	return &settings{pidfile: r.Pidfile, socket: r.Socket, stopTimeout: r.StopTimeout}
}

// loadRecord reads the instance's record, or converts the one stackha 0.2
// wrote (legacy.go; s are the parameters in force, nil for a stop or probe
// from the record): nil and no error when there is neither. A record that
// exists but cannot be read or believed, or a state directory that fails
// its checks, is an error (never "nothing runs").
func loadRecord(name string, s *settings, log *ocf.Logger) (*record, error) {
	var rec record
	found, err := instance.Load(name, recordKind, &rec)
	if err != nil {
		return nil, err
	}
	if !found {
		return upgradeRecord(name, s, log)
	}
	if err := rec.check(); err != nil {
		return nil, fmt.Errorf("the haproxy record of %s: %w", instance.Quote(name), err)
	}
	return &rec, nil
}

// record is the running master's record, read once per action.
func (o *op) record() (*record, error) {
	if !o.recRead {
		o.rec, o.recErr = loadRecord(o.name, o.settings, o.log)
		o.recRead = true
	}
	return o.rec, o.recErr
}

// saveRecord writes rec as the instance's record.
func (o *op) saveRecord(rec *record) error {
	if err := instance.Save(o.name, recordKind, rec); err != nil {
		return fmt.Errorf("recording the haproxy master: %w", err)
	}
	o.rec, o.recErr, o.recRead = rec, nil, true
	return nil
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
			return nil, fmt.Errorf("the configuration's user %s: %w", instance.Quote(c.User), lerr)
		}
		if n, err = strconv.ParseUint(u.Uid, 10, 32); err != nil {
			return nil, fmt.Errorf("the configuration's user %s: uid %s", instance.Quote(c.User), instance.Quote(u.Uid))
		}
	}
	if n != 0 {
		uids = append(uids, uint32(n))
	}
	return uids, nil
}

// findMaster looks for the master the parameters name, by the pid file and
// by the master socket's "show proc", and checks it in /proc: root, the
// leader of its own session, started no earlier than minStart, running
// the checked binary with this master socket. It waits until ctx ends.
func (o *op) findMaster(ctx context.Context, minStart uint64) (procInfo, error) {
	var last error
	for {
		var cand []int
		if pid, err := readPidfile(o.pidfile); err == nil && pid > 0 {
			cand = append(cand, pid)
		}
		qctx, cancel := context.WithTimeout(ctx, time.Second)
		if answer, err := Query(qctx, o.socket, "show proc"); err == nil {
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
			case pi.Zombie():
				last = fmt.Errorf("master pid %d exited", pid)
			case pi.UID != 0 || pi.EUID != 0 || pi.Session != pid || pi.Start < minStart || pi.Exe != o.exe || masterSocketArg(pi.Argv) != o.socket:
				last = fmt.Errorf("pid %d is not the master (%s)", pid, describeProc(pid))
			default:
				return pi, nil
			}
		}
		if last == nil {
			last = errors.New("no pid file and no answer on the master socket yet")
		}
		if ocf.Sleep(ctx, pollInterval) != nil {
			return procInfo{}, fmt.Errorf("haproxy's master could not be identified: %w", last)
		}
	}
}

// adopt finds the master the launcher (started at tick launched.Start)
// left and records it.
func (o *op) adopt(ctx context.Context, launched instance.Proc, uids []uint32) error {
	pi, err := o.findMaster(ctx, launched.Start)
	if err != nil {
		return err
	}
	return o.saveRecord(&record{
		Master:   instance.Identity{PID: pi.PID, Start: pi.Start, UID: 0, Session: pi.Session, Exe: pi.Exe},
		Launcher: launched.PID, Socket: o.socket, Pidfile: o.pidfile, UIDs: uids, StopTimeout: o.stopTimeout,
	})
}
