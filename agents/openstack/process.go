package openstack

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/stackha/stackha/ocf"
)

// processService runs the service as a process of its own (run_mode=process).
type processService struct {
	c      *Config
	log    *ocf.Logger
	exited chan error // closed with the exit status when our child ends
}

func (p *processService) close() {}

func (p *processService) installed(ctx context.Context) error {
	fi, err := os.Stat(p.c.Binary)
	if err != nil {
		return ocf.Installed("binary %s: %v", p.c.Binary, errors.Unwrap(err))
	}
	if fi.IsDir() || fi.Mode()&0o111 == 0 {
		return ocf.Installed("binary %s is not an executable file", p.c.Binary)
	}
	return nil
}

// validate checks what start needs beyond the program: its user and its
// configuration file, on this node.
func (p *processService) validate(ctx context.Context) error {
	if _, err := lookupUser(p.c.User); err != nil {
		return err
	}
	if p.c.ConfigFile != "" {
		if _, err := os.Stat(p.c.ConfigFile); err != nil {
			return ocf.Installed("config %s: %v", p.c.ConfigFile, errors.Unwrap(err))
		}
	}
	return nil
}

// account is the service user's identity.
type account struct {
	uid, gid int
	groups   []uint32
	name     string
	home     string
}

func lookupUser(name string) (account, error) {
	u, err := user.Lookup(name)
	if err != nil {
		return account{}, ocf.Installed("user %s: %v", name, err)
	}
	a := account{name: u.Username, home: u.HomeDir}
	a.uid, _ = strconv.Atoi(u.Uid)
	a.gid, _ = strconv.Atoi(u.Gid)
	if gs, err := u.GroupIds(); err == nil {
		for _, g := range gs {
			if n, err := strconv.Atoi(g); err == nil {
				a.groups = append(a.groups, uint32(n))
			}
		}
	}
	if fi, err := os.Stat(a.home); err != nil || !fi.IsDir() {
		a.home = "/"
	}
	return a, nil
}

// ours returns the record of the process this agent started, verified: the
// record is in the root-owned state directory, and the recorded pid runs,
// with the recorded start time (clock ticks since boot: a reused pid cannot
// match it), owner and program, and still leads the session the agent gave
// it. The command line is not compared: services may rewrite their process
// title. Anything else is "not ours" (ok false) with the reason why.
func (p *processService) ours() (record, bool, string) {
	rec, err := p.readRecord()
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return rec, false, "no record of a process started by this agent"
		}
		return rec, false, fmt.Sprintf("no trusted record: %v", err)
	}
	st, ok := alive(rec.PID)
	if !ok {
		return rec, false, fmt.Sprintf("pid %d is gone", rec.PID)
	}
	switch exe, uid := procExe(rec.PID), procUID(rec.PID); {
	case st.StartTime != rec.StartTime:
		return rec, false, fmt.Sprintf("pid %d is another process now (started at tick %d, ours at %d)", rec.PID, st.StartTime, rec.StartTime)
	case uid != rec.UID:
		return rec, false, fmt.Sprintf("pid %d belongs to uid %d, ours to uid %d: not ours", rec.PID, uid, rec.UID)
	case exe != rec.Exe:
		return rec, false, fmt.Sprintf("pid %d runs %q, ours ran %q: not ours", rec.PID, exe, rec.Exe)
	case st.SID != rec.PID || st.PGID != rec.PID:
		return rec, false, fmt.Sprintf("pid %d no longer leads its own session (sid %d, pgid %d): not ours", rec.PID, st.SID, st.PGID)
	}
	return rec, true, ""
}

func (p *processService) running(ctx context.Context) (bool, error) {
	_, ok, why := p.ours()
	if !ok {
		p.log.Debugf("not running: %s", why)
	}
	return ok, nil
}

func (p *processService) start(ctx context.Context) error {
	u, err := lookupUser(p.c.User)
	if err != nil {
		return err
	}
	logf, err := openLog(p.c.LogFile, u.uid, u.gid)
	if err != nil {
		return ocf.Generic("%v", err)
	}
	defer logf.Close()
	fmt.Fprintf(logf, "--- %s stackha %s: starting %s\n", time.Now().Format(time.RFC3339), p.c.Instance, p.c.Binary)

	argv := p.c.argv()
	cmd := &exec.Cmd{
		Path:   argv[0],
		Args:   argv,
		Dir:    "/",
		Stdout: logf,
		Stderr: logf,
		// A fixed, minimal environment: nothing of Pacemaker's (and no
		// secret) reaches the service.
		Env: append([]string{
			"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
			"HOME=" + u.home, "USER=" + u.name, "LOGNAME=" + u.name, "LANG=C.UTF-8",
		}, p.c.env()...),
		SysProcAttr: &syscall.SysProcAttr{
			Setsid:     true,
			Credential: &syscall.Credential{Uid: uint32(u.uid), Gid: uint32(u.gid), Groups: u.groups},
		},
	}
	if err := cmd.Start(); err != nil {
		return ocf.Generic("starting %s: %w", argv[0], err)
	}
	pid := cmd.Process.Pid
	p.exited = make(chan error, 1)
	go func() { p.exited <- cmd.Wait() }()
	st, err := readStat(pid)
	if err != nil {
		syscall.Kill(-pid, syscall.SIGKILL)
		return ocf.Generic("started %s as pid %d but cannot read it: %w", argv[0], pid, err)
	}
	rec := record{PID: pid, StartTime: st.StartTime, Exe: procExe(pid), UID: u.uid, GID: u.gid, SID: pid, Argv: argv, PIDFile: p.c.PIDFile}
	if err := p.writeRecord(rec); err != nil {
		syscall.Kill(-pid, syscall.SIGKILL)
		return ocf.Generic("recording pid %d: %w", pid, err)
	}
	if err := writePIDFile(p.c.PIDFile, pid, trust{u.uid, u.gid}); err != nil {
		syscall.Kill(-pid, syscall.SIGKILL)
		p.removeRecord()
		return ocf.Generic("writing pidfile: %w", err)
	}
	p.log.Infof("started %s as pid %d (user %s, log %s)", strings.Join(argv, " "), pid, p.c.User, p.c.LogFile)
	return nil
}

// died reports whether the process we just started is gone, and why.
func (p *processService) died(ctx context.Context) (bool, string) {
	if p.exited == nil {
		_, ok, why := p.ours()
		return !ok, why
	}
	select {
	case err := <-p.exited:
		p.exited = nil // the next call checks the record
		status := "exit status 0"
		if err != nil {
			status = err.Error()
		}
		return true, status
	default:
		return false, ""
	}
}

// diagnosis is the end of the service's log, for a failed start: read as
// untrusted data (see tailLog), capped.
func (p *processService) diagnosis() string {
	u, err := lookupUser(p.c.User)
	if err != nil {
		return "log " + p.c.LogFile + " not read"
	}
	lines, err := tailLog(p.c.LogFile, trust{u.uid, u.gid})
	switch {
	case err != nil:
		return fmt.Sprintf("log not read: %v", err)
	case len(lines) == 0:
		return "log " + p.c.LogFile + " is empty"
	}
	return truncate("last lines of "+p.c.LogFile+": "+strings.Join(lines, " | "), reasonMax)
}

// stop ends the process we started: SIGTERM (then SIGCONT, for a stopped
// one) to its session, a wait until the deadline less a share kept for
// SIGKILL, then SIGKILL. It succeeds only when nothing of the session is
// left. Only a process verified as ours (see ours), or what is left of its
// session under its owner when the leader is gone, is ever signalled.
func (p *processService) stop(ctx context.Context) error {
	rec, leader, why := p.ours()
	if !leader && (rec.PID <= 1 || len(sessionMembers(rec.PID, rec.UID)) == 0 || isAlive(rec.PID)) {
		// no record; or nothing of its session left; or its pid is another
		// process now (a live leader that ours() did not accept)
		p.log.Infof("nothing to stop: %s", why)
		p.cleanup(rec)
		return nil
	}
	sid, uid := rec.PID, rec.UID
	killAt := time.Now().Add(5 * time.Second)
	if dl, ok := ctx.Deadline(); ok {
		killAt = dl.Add(-min(time.Until(dl)/4, 5*time.Second))
	}
	p.log.Infof("stopping the session of pid %d with SIGTERM", sid)
	if err := signalSession(sid, uid, leader, syscall.SIGTERM); err != nil {
		return ocf.Generic("SIGTERM to the session of pid %d: %w", sid, err)
	}
	// A hung (stopped) process acts on SIGTERM only once continued.
	if err := signalSession(sid, uid, leader, syscall.SIGCONT); err != nil {
		p.log.Warnf("SIGCONT to the session of pid %d: %v", sid, err)
	}
	if waitGone(ctx, sid, uid, killAt) {
		p.cleanup(rec)
		return nil
	}
	p.log.Warnf("the session of pid %d still runs after SIGTERM; sending SIGKILL", sid)
	if err := signalSession(sid, uid, leader, syscall.SIGKILL); err != nil {
		return ocf.Generic("SIGKILL to the session of pid %d: %w", sid, err)
	}
	dl, ok := ctx.Deadline()
	if !ok {
		dl = time.Now().Add(5 * time.Second)
	}
	if waitGone(ctx, sid, uid, dl) {
		p.cleanup(rec)
		return nil
	}
	return ocf.Generic("pid %d (or a process of its session) still runs after SIGKILL", sid)
}

func isAlive(pid int) bool {
	_, ok := alive(pid)
	return ok
}

// cleanup removes the record and the pid file start wrote (only if it
// still holds the recorded pid).
func (p *processService) cleanup(rec record) {
	if rec.PID > 1 {
		if err := removePIDFile(p.c.PIDFile, rec.PID, trust{rec.UID, rec.GID}); err != nil {
			p.log.Warnf("%v", err)
		}
	}
	p.removeRecord()
}
