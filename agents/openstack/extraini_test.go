package openstack

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stackha/stackha/instance"
	"github.com/stackha/stackha/internal/testutil/require"
	"github.com/stackha/stackha/ocf"
)

// TestExtraIni: extra_ini is read as root reads what it acts on (a
// root-owned file no one else can write, on a path of root's directories,
// no link followed: exit 5 otherwise), an ini that would make uwsgi leave
// the process the agent started is refused (exit 6), and its logto is
// where uwsgi logs unless extra_args names one (the package's ini's
// otherwise).
func TestExtraIni(t *testing.T) {
	require.Root(t) // files of nobody's
	dir := t.TempDir()
	pkg := filepath.Join(dir, "svc-uwsgi.ini")
	os.WriteFile(pkg, []byte("[uwsgi]\nprocesses = 8\nlogto = /var/log/svc/svc.log\n"), 0o644)
	theirs := nobodyDir(t)
	const workers = "[uwsgi]\nprocesses = 2\nthreads = 4\nlogto = /run/shc/svc/uwsgi.log\n"
	file := func(name, data string, mode os.FileMode) func() string {
		return func() string {
			f := filepath.Join(dir, name)
			os.WriteFile(f, []byte(data), mode)
			os.Chmod(f, mode)
			return f
		}
	}
	cases := []struct {
		what string
		mk   func() string
		code ocf.Code // ocf.Success: accepted
		why  string   // in the reason
		log  string   // uwsgiLog when accepted
	}{
		{"root's, read-only to others", file("workers.ini", workers, 0o644), ocf.Success, "", "/run/shc/svc/uwsgi.log"},
		{"no logto: the package's", file("nolog.ini", "[uwsgi]\nprocesses = 2\n", 0o644), ocf.Success, "", "/var/log/svc/svc.log"},
		{"logto of another section", file("other.ini", "[uwsgi]\nprocesses = 2\n[other]\nlogto = /elsewhere\n", 0o644), ocf.Success, "", "/var/log/svc/svc.log"},
		{"daemonize commented out", file("comment.ini", "[uwsgi]\n# daemonize = /tmp/x\n; pidfile = /tmp/p\n", 0o644), ocf.Success, "", "/var/log/svc/svc.log"},
		{"daemonize", file("daemon.ini", "[uwsgi]\nprocesses = 2\ndaemonize = /tmp/x\n", 0o644), ocf.ErrConfigured, `sets "daemonize": uwsgi must stay the process the agent started`, ""},
		{"daemonize2", file("daemon2.ini", "[uwsgi]\ndaemonize2=/tmp/x\n", 0o644), ocf.ErrConfigured, `sets "daemonize2"`, ""},
		{"pidfile", file("pid.ini", "[uwsgi]\npidfile = /tmp/p\n", 0o644), ocf.ErrConfigured, `sets "pidfile"`, ""},
		{"missing", func() string { return filepath.Join(dir, "none.ini") }, ocf.ErrInstalled, "extra_ini", ""},
		{"a link", func() string {
			l := filepath.Join(dir, "link.ini")
			os.Symlink(filepath.Join(dir, "workers.ini"), l)
			return l
		}, ocf.ErrInstalled, "extra_ini", ""},
		{"owned by nobody", func() string {
			f := file("nobody.ini", workers, 0o644)()
			os.Chown(f, nobody, nobody)
			return f
		}, ocf.ErrInstalled, "extra_ini", ""},
		{"writable by others", file("open.ini", workers, 0o666), ocf.ErrInstalled, "extra_ini", ""},
		{"in a directory nobody owns", func() string {
			f := filepath.Join(theirs, "workers.ini")
			os.WriteFile(f, []byte(workers), 0o644)
			return f
		}, ocf.ErrInstalled, "extra_ini", ""},
	}
	me := instance.Trust{UID: nobody, GID: nobody}
	for _, tc := range cases {
		c := &Config{UWSGIIni: pkg, ExtraIni: tc.mk()}
		err := c.checkExtraIni()
		if got := ocf.CodeOf(err); err != nil && got != tc.code || err == nil && tc.code != ocf.Success {
			t.Errorf("%s: %v (exit %d), want exit %d", tc.what, err, got, tc.code)
			continue
		}
		if err != nil {
			if !strings.Contains(err.Error(), tc.why) {
				t.Errorf("%s: %v, want %q in the reason", tc.what, err, tc.why)
			}
			t.Logf("%s: %v", tc.what, err)
			if _, lerr := c.uwsgiLog(me); tc.code == ocf.ErrInstalled && lerr == nil {
				t.Errorf("%s: its logto read", tc.what)
			}
			continue
		}
		if got, err := c.uwsgiLog(me); err != nil || got != tc.log {
			t.Errorf("%s: uwsgi logs to %q (%v), want %q", tc.what, got, err, tc.log)
		}
		// a --logto of extra_args comes last on uwsgi's command line
		c.ExtraArgs = []string{"--logto", "/run/x.log"}
		if got, _ := c.uwsgiLog(me); got != "/run/x.log" {
			t.Errorf("%s with extra_args --logto: %q", tc.what, got)
		}
	}
}
