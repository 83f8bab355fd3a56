package instance

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"syscall"
	"time"
)

// Identity is what a record keeps of a process we started: enough to tell
// that a pid still is that process.
type Identity struct {
	PID     int    `json:"pid"`
	Start   uint64 `json:"start"`   // clock ticks after boot
	UID     uint32 `json:"uid"`     // real and effective
	Session int    `json:"session"` // the session it is in
	// Exe, when recorded, must match too. Record it only for a program
	// that has made its last exec when it is identified (our own helper,
	// a daemon found after it is up), never for a service right after
	// start: a wrapper or a "#!/usr/bin/env" script changes it.
	Exe string `json:"exe,omitempty"`
}

// Identify reads the identity of the running process pid; with exe, its
// executable too.
func Identify(pid int, exe bool) (Identity, error) {
	p, err := ReadProc(pid)
	if err != nil {
		return Identity{}, fmt.Errorf("process %d: %w", pid, err)
	}
	if p.Zombie() {
		return Identity{}, fmt.Errorf("process %d has exited", pid)
	}
	if p.UID != p.EUID {
		return Identity{}, fmt.Errorf("process %d: real uid %d, effective %d", pid, p.UID, p.EUID)
	}
	id := Identity{PID: pid, Start: p.Start, UID: p.UID, Session: p.Session}
	if exe {
		if id.Exe, err = Exe(pid); err != nil {
			return Identity{}, fmt.Errorf("process %d: %w", pid, err)
		}
	}
	return id, nil
}

// Valid reports a recorded identity that cannot be one of a process we
// started (a record that says so is broken, not "nothing running").
func (id Identity) Valid() error {
	if id.PID <= 1 || id.Session <= 1 || id.Start == 0 {
		return fmt.Errorf("implausible process identity (pid %d, session %d, start %d)", id.PID, id.Session, id.Start)
	}
	return nil
}

// Check reports nil when the process at id.PID is the one recorded: alive,
// with the same start time, owner (real and effective), session and, when
// recorded, executable; otherwise why not.
func (id Identity) Check() error {
	_, err := id.check()
	return err
}

// check is Check, and also reports whether the recorded process is gone:
// no process at its pid, one that has exited, or another one (the pid
// reused).
func (id Identity) check() (gone bool, err error) {
	p, err := ReadProc(id.PID)
	switch {
	case errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ESRCH): // ESRCH: reaped while read
		return true, fmt.Errorf("pid %d is gone", id.PID)
	case err != nil:
		return false, fmt.Errorf("pid %d: %w", id.PID, err)
	case p.Zombie():
		return true, fmt.Errorf("pid %d has exited", id.PID)
	case p.Start != id.Start:
		return true, fmt.Errorf("pid %d is another process now (started at tick %d, ours at %d)", id.PID, p.Start, id.Start)
	case p.UID != id.UID || p.EUID != id.UID:
		return false, fmt.Errorf("pid %d belongs to uid %d (effective %d), ours to uid %d", id.PID, p.UID, p.EUID, id.UID)
	case p.Session != id.Session:
		return false, fmt.Errorf("pid %d is in session %d, ours was in %d", id.PID, p.Session, id.Session)
	}
	if id.Exe != "" {
		if exe, err := Exe(id.PID); err != nil || exe != id.Exe {
			return false, fmt.Errorf("pid %d runs %s, ours ran %s", id.PID, Quote(exe), Quote(id.Exe))
		}
	}
	return false, nil
}

// Signal sends sig to id.PID after checking, again, that it is ours. A
// process that is gone (exited, or its pid now another process's) is no
// error: nothing is sent. One that is still there but no longer matches
// the record (another owner, session or program) is an error.
func (id Identity) Signal(sig syscall.Signal) error {
	if gone, err := id.check(); gone {
		return nil
	} else if err != nil {
		return fmt.Errorf("not signalled: %w", err)
	}
	if err := syscall.Kill(id.PID, sig); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("sending %s to pid %d: %w", sig, id.PID, err)
	}
	return nil
}

// Members lists the live processes of the recorded session: in id.Session,
// owned by id.UID (real and effective), started no earlier than the
// session's leader. A session id is not reused while any process is in it,
// and the owner keeps a reused one from reaching anyone else's process.
func (id Identity) Members() ([]Proc, error) {
	return Processes(func(p Proc) bool {
		return p.Session == id.Session && p.Start >= id.Start
	}, func(p Proc) bool {
		return p.UID == id.UID && p.EUID == id.UID
	})
}

// SignalSession sends sig to every member of the recorded session and,
// when its leader still is the recorded process, to the leader's process
// group too (which reaches a child forked meanwhile).
func (id Identity) SignalSession(sig syscall.Signal) error {
	if id.Check() == nil && id.PID == id.Session {
		if err := syscall.Kill(-id.PID, sig); err != nil && !errors.Is(err, syscall.ESRCH) {
			return fmt.Errorf("sending %s to process group %d: %w", sig, id.PID, err)
		}
	}
	ms, err := id.Members()
	if err != nil {
		return err
	}
	for _, p := range ms {
		if err := syscall.Kill(p.PID, sig); err != nil && !errors.Is(err, syscall.ESRCH) {
			return fmt.Errorf("sending %s to pid %d: %w", sig, p.PID, err)
		}
	}
	return nil
}

// WaitGone waits until no member of the recorded session is left, until
// the time until or the end of ctx, and reports whether none is.
func (id Identity) WaitGone(ctx context.Context, until time.Time) bool {
	for {
		ms, err := id.Members()
		if err == nil && len(ms) == 0 {
			return true
		}
		if time.Now().After(until) {
			return false
		}
		select {
		case <-ctx.Done():
			ms, err := id.Members()
			return err == nil && len(ms) == 0
		case <-time.After(50 * time.Millisecond):
		}
	}
}
