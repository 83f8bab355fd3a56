package openstack

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/stackha/stackha/ocf"
)

// procRoot is where process information is read; tests may point it
// elsewhere.
var procRoot = "/proc"

// record is what the agent keeps next to the pidfile about the process it
// started: enough to tell that a pid still is that process.
type record struct {
	PID       int      `json:"pid"`
	StartTime uint64   `json:"start_time"` // /proc/<pid>/stat field 22, clock ticks after boot
	Argv      []string `json:"argv"`
	Started   string   `json:"started"`
}

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

// processService runs the service as a process of its own (run_mode=process).
type processService struct {
	c      *Config
	log    *ocf.Logger
	exited chan error // closed with the exit status when our child ends
}

func (p *processService) recordFile() string { return p.c.PIDFile + ".stackha" }

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
	if _, err := user.Lookup(p.c.User); err != nil {
		return ocf.Installed("user %s: %v", p.c.User, err)
	}
	if p.c.ConfigFile != "" {
		if _, err := os.Stat(p.c.ConfigFile); err != nil {
			return ocf.Installed("config %s: %v", p.c.ConfigFile, errors.Unwrap(err))
		}
	}
	return nil
}

// ours returns the pid of the process this agent started, verified: the
// pidfile and the record agree, the process runs, its start time (in clock
// ticks since boot) is the recorded one, and it still leads the session the
// agent gave it. A reused pid cannot match the start time. The command line
// is not compared: services may rewrite their process title
// (setproctitle). Anything else is "not ours" (0) with the reason why.
func (p *processService) ours() (int, string) {
	raw, err := os.ReadFile(p.c.PIDFile)
	if err != nil {
		return 0, "no pidfile " + p.c.PIDFile
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(raw)))
	if err != nil || pid <= 1 {
		return 0, fmt.Sprintf("pidfile %s holds no pid", p.c.PIDFile)
	}
	var rec record
	rb, err := os.ReadFile(p.recordFile())
	if err != nil || json.Unmarshal(rb, &rec) != nil || rec.PID != pid {
		return 0, fmt.Sprintf("pid %d from %s has no matching record in %s: not trusted", pid, p.c.PIDFile, p.recordFile())
	}
	st, ok := alive(pid)
	if !ok {
		if groupAlive(pid) {
			// A session id is not reused while a process is in that
			// session: what is left of it is what we started.
			return 0, fmt.Sprintf("pid %d is gone but processes of its session remain", pid)
		}
		return 0, fmt.Sprintf("pid %d is gone", pid)
	}
	if st.StartTime != rec.StartTime {
		return 0, fmt.Sprintf("pid %d is another process now (started at tick %d, ours at %d)", pid, st.StartTime, rec.StartTime)
	}
	if st.SID != pid || st.PGID != pid {
		return 0, fmt.Sprintf("pid %d no longer leads its own session (sid %d, pgid %d): not ours", pid, st.SID, st.PGID)
	}
	return pid, ""
}

// orphans returns the recorded session id when the recorded leader is gone
// but processes of its session (workers) remain, else 0.
func (p *processService) orphans() int {
	var rec record
	rb, err := os.ReadFile(p.recordFile())
	if err != nil || json.Unmarshal(rb, &rec) != nil || rec.PID <= 1 {
		return 0
	}
	if _, ok := alive(rec.PID); ok {
		return 0 // a live pid that ours() did not accept: not ours
	}
	if groupAlive(rec.PID) {
		return rec.PID
	}
	return 0
}

func (p *processService) running(ctx context.Context) (bool, error) {
	pid, why := p.ours()
	if pid == 0 {
		p.log.Debugf("not running: %s", why)
		return false, nil
	}
	return true, nil
}

func (p *processService) start(ctx context.Context) error {
	u, err := user.Lookup(p.c.User)
	if err != nil {
		return ocf.Installed("user %s: %v", p.c.User, err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	var groups []uint32
	if gs, err := u.GroupIds(); err == nil {
		for _, g := range gs {
			if n, err := strconv.Atoi(g); err == nil {
				groups = append(groups, uint32(n))
			}
		}
	}
	for _, d := range []string{filepath.Dir(p.c.PIDFile), filepath.Dir(p.c.LogFile)} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return ocf.Generic("creating %s: %w", d, err)
		}
	}
	logf, err := os.OpenFile(p.c.LogFile, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
	if err != nil {
		return ocf.Generic("opening log_file: %w", err)
	}
	defer logf.Close()
	if err := logf.Chown(uid, gid); err != nil {
		return ocf.Generic("log_file %s: %w", p.c.LogFile, err)
	}
	fmt.Fprintf(logf, "--- %s stackha %s: starting %s\n", time.Now().Format(time.RFC3339), p.c.Instance, p.c.Binary)

	argv := p.c.argv()
	home := u.HomeDir
	if fi, err := os.Stat(home); err != nil || !fi.IsDir() {
		home = "/"
	}
	cmd := &exec.Cmd{
		Path:   argv[0],
		Args:   argv,
		Dir:    "/",
		Stdout: logf,
		Stderr: logf,
		// A fixed, minimal environment: nothing of Pacemaker's (and no
		// secret) reaches the service.
		Env: []string{
			"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
			"HOME=" + home, "USER=" + u.Username, "LOGNAME=" + u.Username, "LANG=C.UTF-8",
		},
		SysProcAttr: &syscall.SysProcAttr{
			Setsid:     true,
			Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), Groups: groups},
		},
	}
	cmd.Env = append(cmd.Env, p.c.env()...)
	if err := cmd.Start(); err != nil {
		return ocf.Generic("starting %s: %w", argv[0], err)
	}
	pid := cmd.Process.Pid
	p.exited = make(chan error, 1)
	go func() { p.exited <- cmd.Wait() }()
	st, err := readStat(pid)
	if err != nil {
		return ocf.Generic("started %s as pid %d but cannot read it: %w", argv[0], pid, err)
	}
	rec := record{PID: pid, StartTime: st.StartTime, Argv: argv, Started: time.Now().UTC().Format(time.RFC3339)}
	rb, _ := json.Marshal(rec)
	if err := writeFileAtomic(p.recordFile(), append(rb, '\n')); err != nil {
		syscall.Kill(-pid, syscall.SIGKILL)
		return ocf.Generic("recording pid %d: %w", pid, err)
	}
	if err := writeFileAtomic(p.c.PIDFile, []byte(strconv.Itoa(pid)+"\n")); err != nil {
		syscall.Kill(-pid, syscall.SIGKILL)
		return ocf.Generic("writing pidfile: %w", err)
	}
	p.log.Infof("started %s as pid %d (user %s, log %s)", strings.Join(argv, " "), pid, p.c.User, p.c.LogFile)
	return nil
}

func writeFileAtomic(path string, b []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// died reports whether the process we just started is gone, and why.
func (p *processService) died(ctx context.Context) (bool, string) {
	if p.exited == nil {
		pid, why := p.ours()
		return pid == 0, why
	}
	select {
	case err := <-p.exited:
		p.exited = nil // the next call checks the pidfile
		status := "exit status 0"
		if err != nil {
			status = err.Error()
		}
		return true, status
	default:
		return false, ""
	}
}

// diagnosis is the end of the service's log, for a failed start.
func (p *processService) diagnosis() string {
	lines := tailLines(p.c.LogFile, 5, 64<<10)
	if len(lines) == 0 {
		return "log " + p.c.LogFile + " is empty"
	}
	return "last lines of " + p.c.LogFile + ": " + strings.Join(lines, " | ")
}

// tailLines returns the last n non-empty lines of a file, reading at most
// max bytes from its end.
func tailLines(path string, n int, max int64) []string {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil
	}
	off := fi.Size() - max
	if off < 0 {
		off = 0
	}
	b, err := io.ReadAll(io.NewSectionReader(f, off, fi.Size()-off))
	if err != nil {
		return nil
	}
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "--- ") {
			out = append(out, l)
		}
	}
	if len(out) > n {
		out = out[len(out)-n:]
	}
	for i, l := range out {
		if len(l) > 300 {
			out[i] = l[:300] + "..."
		}
	}
	return out
}

// groupAlive reports whether any live process is in the session sid.
func groupAlive(sid int) bool {
	if st, ok := alive(sid); ok && st.SID == sid {
		return true
	}
	ents, err := os.ReadDir(procRoot)
	if err != nil {
		return false
	}
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if st, ok := alive(pid); ok && st.SID == sid {
			return true
		}
	}
	return false
}

// stop ends the process we started: SIGTERM (then SIGCONT, for a stopped
// one) to its session's process group, a wait until the deadline less a share kept for SIGKILL, then
// SIGKILL. It succeeds only when nothing of the session is left. A pid not
// verified as ours is never signalled.
func (p *processService) stop(ctx context.Context) error {
	pid, why := p.ours()
	if pid == 0 {
		pid = p.orphans()
	}
	if pid == 0 {
		p.log.Infof("nothing to stop: %s", why)
		p.cleanup()
		return nil
	}
	killAt := time.Now().Add(5 * time.Second)
	if dl, ok := ctx.Deadline(); ok {
		left := time.Until(dl)
		share := left / 4
		if share > 5*time.Second {
			share = 5 * time.Second
		}
		killAt = dl.Add(-share)
	}
	p.log.Infof("stopping pid %d with SIGTERM", pid)
	if err := signalSession(pid, syscall.SIGTERM); err != nil {
		return ocf.Generic("SIGTERM to the session of pid %d: %w", pid, err)
	}
	// A hung (stopped) process acts on SIGTERM only once continued.
	if err := signalSession(pid, syscall.SIGCONT); err != nil {
		p.log.Warnf("SIGCONT to the session of pid %d: %v", pid, err)
	}
	if waitGone(ctx, pid, killAt) {
		p.cleanup()
		return nil
	}
	p.log.Warnf("pid %d still running after SIGTERM; sending SIGKILL", pid)
	if err := signalSession(pid, syscall.SIGKILL); err != nil {
		return ocf.Generic("SIGKILL to the session of pid %d: %w", pid, err)
	}
	dl, ok := ctx.Deadline()
	if !ok {
		dl = time.Now().Add(5 * time.Second)
	}
	if waitGone(ctx, pid, dl) {
		p.cleanup()
		return nil
	}
	return ocf.Generic("pid %d (or a process of its session) still runs after SIGKILL", pid)
}

// signalSession signals the process group sid and every live process of
// the session sid (one that moved to a group of its own too). Membership
// of the session is what makes a process ours: a session id is not reused
// while any process is in it.
func signalSession(sid int, sig syscall.Signal) error {
	if err := syscall.Kill(-sid, sig); err != nil && !errors.Is(err, syscall.ESRCH) {
		return err
	}
	ents, err := os.ReadDir(procRoot)
	if err != nil {
		return err
	}
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if st, ok := alive(pid); ok && st.SID == sid && st.PGID != sid {
			if err := syscall.Kill(pid, sig); err != nil && !errors.Is(err, syscall.ESRCH) {
				return err
			}
		}
	}
	return nil
}

func waitGone(ctx context.Context, sid int, until time.Time) bool {
	for {
		if !groupAlive(sid) {
			return true
		}
		if time.Now().After(until) {
			return false
		}
		select {
		case <-ctx.Done():
			return !groupAlive(sid)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func (p *processService) cleanup() {
	os.Remove(p.c.PIDFile)
	os.Remove(p.recordFile())
}
