package openstack

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/stackha/stackha/instance"
	"github.com/stackha/stackha/ocf"
)

// run_mode=process runs a WSGI service the way its Debian 12 unit does
// (/etc/init.d/<service> systemd-start): uwsgi with the package's own ini,
// "--http-socket ADDR:PORT --ini <ini>", as the service user, here in a
// session of its own. uwsgi's master is the process start records; its
// workers are members of that session. A pbr WSGI script run directly is
// wsgiref's single-threaded test server ("DANGER! For testing only"): the
// agent never runs one.

// uwsgiProgram is the uwsgi the agent runs by default: Debian's init
// scripts pick /usr/bin/uwsgi_python3* (uwsgi-core with the python3 plugin,
// uwsgi_python311 on Debian 12: the same program as this alternative).
const uwsgiProgram = "/usr/bin/uwsgi_python3"

// uwsgiGrace is how long stop waits after SIGINT to uwsgi's master before
// it kills what is left of the session. uwsgi ends its workers at once on
// SIGINT (the requests in flight are cut either way); Debian 12's uwsgi
// 2.0.21 then often hangs or crashes in Python's teardown of a keystone
// worker (seen: a segfault in greenlet's teardown, and a worker that never
// exits while the master waits for it), which is why its unit runs into
// TimeoutStopSec.
const uwsgiGrace = 5 * time.Second

// Bounds of what the agent reads of the uwsgi ini and of a program it
// checks for pbr's marker.
const (
	iniMax  = 64 << 10
	headMax = 4 << 10
)

// bindHostDeclared: the agent takes bind_host for a service run under
// uwsgi (--http-socket) or whose program is a WSGI script.
func bindHostDeclared(p *Profile) bool { return p.WSGIScript || p.UWSGIIni != "" }

// isUWSGI: the program is a uwsgi (uwsgi, uwsgi-core, uwsgi_python3...).
func isUWSGI(path string) bool { return strings.HasPrefix(filepath.Base(path), "uwsgi") }

// checkServer refuses what would run a test server in run_mode=process
// (exit 6: the same on every node). Binary decides: uwsgi runs with
// uwsgi_ini; any other program is the service's own server.
func (c *Config) checkServer() error {
	p := c.Profile
	switch {
	case c.UWSGIIni != "":
		for _, a := range c.ExtraArgs {
			if strings.HasPrefix(a, "--daemonize") || strings.HasPrefix(a, "--pidfile") {
				return ocf.Configured("extra_args %s: uwsgi must stay the process the agent started (and records); the agent writes `pidfile` itself",
					instance.Quote(a))
			}
		}
	case isUWSGI(c.Binary):
		return ocf.Configured("binary %s is uwsgi: %s has no uwsgi ini here; run it with run_mode=systemd, or name its server in binary", c.Binary, p.Name)
	case p.WSGIScript:
		return ocf.Configured("%s has no server of its own: %s run directly is pbr's single-threaded test server (\"for testing only\"); "+
			"set binary to uwsgi (default %s) so that the agent runs it under uwsgi with uwsgi_ini (%s) as its unit does, or use run_mode=systemd",
			p.Name, c.Binary, uwsgiProgram, p.UWSGIIni)
	case c.BindHost != "":
		return ocf.Configured("bind_host is uwsgi's --http-socket: %s listens where %s of %s says", c.Binary, p.BindOption, p.Config)
	case c.ExtraIni != "":
		return ocf.Configured("extra_ini is read by uwsgi, after uwsgi_ini: %s runs %s itself, without uwsgi", p.Name, c.Binary)
	}
	return nil
}

// checkExtraIni reads extra_ini as root reads what it acts on (a regular
// file of root's that no one else can write, on a path of such
// directories, no link followed: instance.RootOnly): it decides how uwsgi
// runs, and root reads its logto (uwsgiLog). An ini that would make uwsgi
// leave the process the agent started is refused, as in extra_args.
func (c *Config) checkExtraIni() error {
	b, err := instance.ReadPath(c.ExtraIni, iniMax, instance.RootOnly)
	if err != nil {
		return ocf.Installed("extra_ini: %w", err)
	}
	for _, k := range iniKeys(string(b), "uwsgi") {
		if strings.HasPrefix(k, "daemonize") || strings.HasPrefix(k, "pidfile") {
			return ocf.Configured("extra_ini %s sets %s: uwsgi must stay the process the agent started (and records); the agent writes `pidfile` itself",
				c.ExtraIni, instance.Quote(k))
		}
	}
	return nil
}

// iniKeys are the keys of section in the ini s, in order.
func iniKeys(s, section string) []string {
	var keys []string
	in := false
	for _, l := range strings.Split(s, "\n") {
		l = strings.TrimSpace(l)
		if strings.HasPrefix(l, "[") {
			in = strings.EqualFold(strings.Trim(l, "[] "), section)
			continue
		}
		if k, _, ok := strings.Cut(l, "="); in && ok && !strings.HasPrefix(l, "#") && !strings.HasPrefix(l, ";") {
			keys = append(keys, strings.TrimSpace(k))
		}
	}
	return keys
}

// checkUWSGIConfig: how the WSGI application under uwsgi finds config.
func (c *Config) checkUWSGIConfig() error {
	p := c.Profile
	if p.ConfigDirEnv != "" {
		if filepath.Base(c.ConfigFile) != filepath.Base(p.Config) {
			return ocf.Configured("config %s: under uwsgi %s reads only %s in the directory named by %s; name the file %s",
				c.ConfigFile, p.Name, filepath.Base(p.Config), p.ConfigDirEnv, filepath.Base(p.Config))
		}
		return nil
	}
	if strings.ContainsAny(c.ConfigFile, " \t\n") {
		return ocf.Configured("config %q: uwsgi passes it in --pyargv, which splits on white space; use a path without any", c.ConfigFile)
	}
	return nil
}

// uwsgiArgv is the init script's DAEMON_ARGS with the node's address:
// --http-socket ADDR:PORT --ini <ini>, then --ini <extra_ini> (read after
// the package's, so that its options override the ini's), then the config
// file for an application that parses its arguments, then extra_args
// (after --ini, so that "--processes 2" there overrides the ini's).
func (c *Config) uwsgiArgv() []string {
	argv := []string{c.Binary, "--http-socket", net.JoinHostPort(c.BindHost, strconv.Itoa(c.Port)), "--ini", c.UWSGIIni}
	if c.ExtraIni != "" {
		argv = append(argv, "--ini", c.ExtraIni)
	}
	if c.ConfigFile != "" && c.Profile.ConfigDirEnv == "" && c.ConfigFile != c.Profile.Config {
		argv = append(argv, "--pyargv", "--config-file "+c.ConfigFile)
	}
	return append(argv, c.ExtraArgs...)
}

// env is the service's environment beyond the fixed minimum: where the
// WSGI application under uwsgi finds its configuration.
func (c *Config) env() []string {
	if c.UWSGIIni != "" && c.Profile.ConfigDirEnv != "" && c.ConfigFile != "" {
		return []string{c.Profile.ConfigDirEnv + "=" + filepath.Dir(c.ConfigFile)}
	}
	return nil
}

// checkProgram refuses (exit 6) a program that is a pbr WSGI script,
// whichever agent runs it directly: its head carries pbr's marker. A
// program that cannot be read is left to start to report.
func checkProgram(path string) error {
	b, err := readHead(path)
	if err != nil {
		return nil
	}
	if bytes.Contains(b, []byte("Generated from 'wsgi_scripts'")) {
		return ocf.Configured("binary %s is a WSGI script: run directly it is pbr's single-threaded test server (\"for testing only\"); "+
			"run it under uwsgi (binary %s and uwsgi_ini, the package's uwsgi ini) or use run_mode=systemd", path, uwsgiProgram)
	}
	return nil
}

func readHead(path string) ([]byte, error) {
	f, _, err := instance.OpenPath(path, unix.O_RDONLY, 0, instance.RootOnly)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b := make([]byte, headMax)
	n, err := f.Read(b)
	return b[:n], err
}

// uwsgiLog is where uwsgi logs once it has read its options: the last
// --logto of extra_args, else extra_ini's logto, else the ini's; "" when
// none names one. The ini may sit in a directory the service user can
// write (Debian's /etc/keystone is keystone's): it is read as the service
// user's file, and what it names is only ever read back (uwsgiTail), never
// written. extra_ini is read as root's (checkExtraIni).
func (c *Config) uwsgiLog(t instance.Trust) (string, error) {
	for i := len(c.ExtraArgs) - 1; i >= 0; i-- {
		a := c.ExtraArgs[i]
		if v, ok := strings.CutPrefix(a, "--logto="); ok {
			return v, nil
		}
		if a == "--logto" && i+1 < len(c.ExtraArgs) {
			return c.ExtraArgs[i+1], nil
		}
	}
	if c.ExtraIni != "" {
		b, err := instance.ReadPath(c.ExtraIni, iniMax, instance.RootOnly)
		if err != nil {
			return "", err
		}
		if l := iniValue(string(b), "uwsgi", "logto"); l != "" {
			return l, nil
		}
	}
	b, err := instance.ReadPath(c.UWSGIIni, iniMax, t)
	if err != nil {
		return "", err
	}
	return iniValue(string(b), "uwsgi", "logto"), nil
}

// uwsgiTail is the end of the log uwsgi writes: a file the service user
// owns (uwsgi creates it as that user), so that an ini naming a file of
// root's makes the agent read nothing of it.
func uwsgiTail(path string, t instance.Trust) (string, error) {
	if err := instance.CheckPath("logto", path); err != nil {
		return "", err
	}
	f, st, err := instance.OpenPath(path, unix.O_RDONLY, 0, t)
	if err != nil {
		return "", err
	}
	f.Close()
	if int(st.Uid) != t.UID {
		return "", fmt.Errorf("%s is owned by uid %d, not by the service user: not read", path, st.Uid)
	}
	return tailLog(path, t)
}

// stopUWSGI stops a uwsgi started by run_mode=process: SIGINT to its
// master, which ends the workers at once in every uwsgi 2.0 (SIGTERM would
// reload it without die-on-term), SIGCONT to the session (a stopped master
// acts on nothing), uwsgiGrace (cut to the deadline) for the session to
// end, then stopSession for what is left. Only the recorded master, or
// what is left of its session under its owner, is signalled.
func stopUWSGI(ctx context.Context, id instance.Identity, log *ocf.Logger) error {
	if id.Check() == nil {
		log.Infof("stopping uwsgi (master pid %d) with SIGINT", id.PID)
		if err := id.Signal(syscall.SIGINT); err != nil {
			return fmt.Errorf("SIGINT to uwsgi's master (pid %d): %w", id.PID, err)
		}
		if err := id.SignalSession(syscall.SIGCONT); err != nil {
			log.Warnf("SIGCONT to the session of pid %d: %v", id.PID, err)
		}
		grace := uwsgiGrace
		if dl, ok := ctx.Deadline(); ok {
			grace = min(grace, time.Until(dl)/2)
		}
		if id.WaitGone(ctx, time.Now().Add(grace)) {
			return nil
		}
		log.Warnf("uwsgi (master pid %d) or a worker still runs after SIGINT; sending SIGKILL to its session", id.PID)
		return killSession(ctx, id)
	}
	// the master is gone (killed?): its workers end by themselves
	// (no-orphans) or on stopSession's signals
	return stopSession(ctx, id, log)
}
