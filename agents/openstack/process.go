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

	"github.com/stackha/stackha/instance"
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
	if p.c.UWSGIIni == "" {
		return checkProgram(p.c.Binary)
	}
	if _, err := os.Stat(p.c.UWSGIIni); err != nil {
		return ocf.Installed("uwsgi_ini %s: %v", p.c.UWSGIIni, errors.Unwrap(err))
	}
	if p.c.ExtraIni != "" {
		return p.c.checkExtraIni()
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

// trust is what the service user may own and write: its log's and pid
// file's directories.
func (a account) trust() instance.Trust { return instance.Trust{UID: a.uid, GID: a.gid} }

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

// ours reads the record and reports whether the process it names still
// runs: the recorded pid with the recorded start time (a reused pid cannot
// have it), owner and session (instance.Identity.Check). The program is
// not compared (it changes when a wrapper execs), nor the command line
// (services rewrite their process title). A record that cannot be read is
// an error, never "not running".
func (p *processService) ours() (*record, bool, string, error) {
	rec, err := loadRecord(p.c.Instance, p.c.Profile.Name)
	switch {
	case err != nil:
		return nil, false, "", err
	case rec == nil:
		return nil, false, "no record of a process started by this agent", nil
	case rec.Mode != ModeProcess:
		return rec, false, "the record names unit " + rec.Unit + ", not a process", nil
	}
	if err := rec.Process.Check(); err != nil {
		return rec, false, err.Error(), nil
	}
	return rec, true, "", nil
}

func (p *processService) running(ctx context.Context) (bool, error) {
	_, ok, why, err := p.ours()
	if err != nil {
		return false, err
	}
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
	logf, err := openLog(p.c.LogFile, u.trust())
	if err != nil {
		return fmt.Errorf("log_file: %w", err)
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
	// Identified before anything reaps it: the pid cannot be reused yet.
	// Never its program: a wrapper or an env script has not made its last
	// exec yet.
	id, err := instance.Identify(pid, false)
	if err == nil && (id.Session != pid || id.UID != uint32(u.uid)) {
		err = fmt.Errorf("pid %d is in session %d as uid %d", pid, id.Session, id.UID)
	}
	if err != nil {
		syscall.Kill(-pid, syscall.SIGKILL) // not reaped: still ours
		status := exitStatus(cmd.Wait())
		if status == "signal: killed" {
			return ocf.Generic("started %s as pid %d but could not identify it (%v): killed it", argv[0], pid, err)
		}
		return ocf.Generic("%s ended while starting (%s); %s", p.c.Profile.Name, status, p.diagnosis(ctx))
	}
	p.exited = make(chan error, 1)
	go func() { p.exited <- cmd.Wait() }()
	rec := &record{Mode: ModeProcess, Process: &id, UWSGI: p.c.UWSGIIni != "", GID: u.gid, Argv: argv, PIDFile: p.c.PIDFile}
	if err := saveRecord(p.c.Instance, p.c.Profile.Name, rec); err != nil {
		id.SignalSession(syscall.SIGKILL)
		return fmt.Errorf("recording pid %d (killed it): %w", pid, err)
	}
	if err := writePIDFile(p.c.PIDFile, pid, u.trust()); err != nil {
		id.SignalSession(syscall.SIGKILL)
		if id.WaitGone(ctx, time.Now().Add(2*time.Second)) {
			if rerr := removeRecord(p.c.Instance, p.c.Profile.Name); rerr != nil {
				p.log.Warnf("%v", rerr)
			}
		}
		return fmt.Errorf("pidfile (killed pid %d): %w", pid, err)
	}
	p.log.Infof("started %s as pid %d (user %s, log %s)", strings.Join(argv, " "), pid, p.c.User, p.c.LogFile)
	return nil
}

func exitStatus(err error) string {
	if err == nil {
		return "exit status 0"
	}
	return err.Error()
}

// died reports whether the process we just started is gone, and why.
func (p *processService) died(ctx context.Context) (bool, string) {
	if p.exited == nil {
		_, ok, why, err := p.ours()
		if err != nil {
			return true, err.Error()
		}
		return !ok, why
	}
	select {
	case err := <-p.exited:
		p.exited = nil // the next call checks the record
		return true, exitStatus(err)
	default:
		return false, ""
	}
}

// diagnosis is the end of the service's log, for a failed start: read as
// untrusted data (see tailLog). Under uwsgi, log_file has what uwsgi
// wrote before it read its options; the rest is in the log its ini (or
// extra_args) names (uwsgiLog).
func (p *processService) diagnosis(context.Context) string {
	u, err := lookupUser(p.c.User)
	if err != nil {
		return "log " + p.c.LogFile + " not read"
	}
	out := logLines(p.c.LogFile, u.trust(), tailLog)
	if p.c.UWSGIIni != "" {
		switch l, err := p.c.uwsgiLog(u.trust()); {
		case err != nil:
			out += fmt.Sprintf("; uwsgi's log not found: %v", err)
		case l != "":
			out += "; " + logLines(l, u.trust(), uwsgiTail)
		}
	}
	return out
}

func logLines(path string, t instance.Trust, tail func(string, instance.Trust) (string, error)) string {
	s, err := tail(path, t)
	switch {
	case err != nil:
		return fmt.Sprintf("log %s not read: %v", path, err)
	case s == "":
		return "log " + path + " is empty"
	}
	return "last lines of " + path + ": " + s
}

// sessionLeft says what is left of the recorded session: whether its
// leader still is the recorded process, and the live members (owned by
// the recorded user). When the recorded pid runs but is another process,
// nothing of our session is left: a session id is not reused while any
// process is in it.
func sessionLeft(id instance.Identity) (leader bool, members []instance.Proc, err error) {
	if id.Check() == nil {
		leader = true
	} else if p, err := instance.ReadProc(id.PID); err == nil && !p.Zombie() {
		return false, nil, nil
	}
	members, err = id.Members()
	return leader, members, err
}

// stopSession ends the recorded session: SIGTERM (then SIGCONT, for a
// stopped process) to its members, a wait until the deadline less a share
// kept for SIGKILL, then SIGKILL. It succeeds only when nothing of the
// session is left. Only the recorded process, or what is left of its
// session under its owner, is ever signalled (instance.Identity).
func stopSession(ctx context.Context, id instance.Identity, log *ocf.Logger) error {
	leader, members, err := sessionLeft(id)
	if err != nil {
		return fmt.Errorf("the session of pid %d: %w", id.PID, err)
	}
	if !leader && len(members) == 0 {
		log.Infof("nothing to stop: no process of the session of pid %d is left", id.PID)
		return nil
	}
	killAt := time.Now().Add(5 * time.Second)
	if dl, ok := ctx.Deadline(); ok {
		killAt = dl.Add(-min(time.Until(dl)/4, 5*time.Second))
	}
	log.Infof("stopping the session of pid %d with SIGTERM", id.PID)
	if err := id.SignalSession(syscall.SIGTERM); err != nil {
		return fmt.Errorf("SIGTERM to the session of pid %d: %w", id.PID, err)
	}
	// A hung (stopped) process acts on SIGTERM only once continued.
	if err := id.SignalSession(syscall.SIGCONT); err != nil {
		log.Warnf("SIGCONT to the session of pid %d: %v", id.PID, err)
	}
	if id.WaitGone(ctx, killAt) {
		return nil
	}
	log.Warnf("the session of pid %d still runs after SIGTERM; sending SIGKILL", id.PID)
	return killSession(ctx, id)
}

// killSession sends SIGKILL to what is left of the recorded session and
// waits, until the deadline, for it to be gone.
func killSession(ctx context.Context, id instance.Identity) error {
	if err := id.SignalSession(syscall.SIGKILL); err != nil {
		return fmt.Errorf("SIGKILL to the session of pid %d: %w", id.PID, err)
	}
	dl, ok := ctx.Deadline()
	if !ok {
		dl = time.Now().Add(5 * time.Second)
	}
	if id.WaitGone(ctx, dl) {
		return nil
	}
	return ocf.Generic("pid %d (or a process of its session) still runs after SIGKILL", id.PID)
}
