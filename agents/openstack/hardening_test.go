package openstack

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"unicode"

	"github.com/stackha/stackha/instance"
	"github.com/stackha/stackha/internal/testutil/require"
	"github.com/stackha/stackha/ocf"
	"github.com/stackha/stackha/ocf/ocftest"
)

// nobody is the unprivileged user that plays a compromised service user.
const nobody = 65534

// nobodyDir is a directory the service user owns (as /var/log/keystone is
// keystone's on Debian), under a root-only temporary directory.
func nobodyDir(t *testing.T) string {
	t.Helper()
	d := filepath.Join(t.TempDir(), "svc")
	if err := os.Mkdir(d, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(d, nobody, nobody); err != nil {
		t.Fatal(err)
	}
	return d
}

// rootSecret is a root-only file the service user must never get.
func rootSecret(t *testing.T) string {
	t.Helper()
	f := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(f, []byte("sho-root-secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return f
}

func wantUntouched(t *testing.T, path string) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st := fi.Sys().(*syscall.Stat_t); st.Uid != 0 || st.Gid != 0 {
		t.Errorf("%s is now owned by %d:%d", path, st.Uid, st.Gid)
	}
	if b, _ := os.ReadFile(path); string(b) != "sho-root-secret\n" {
		t.Errorf("%s was written: %q", path, b)
	}
}

// docs/security.md, "Files": a link (symbolic or hard) the service user plants as its
// log is refused: the root file it points at is neither chowned, nor
// written, nor quoted.
func TestLogFilePlanted(t *testing.T) {
	require.Root(t) // the agent sets the child's credentials
	const name = "sho-fake-api"
	op := runOpts{timeoutMS: 10000}
	for _, kind := range []string{"symlink", "hardlink"} {
		t.Run(kind, func(t *testing.T) {
			secret := rootSecret(t)
			logs := nobodyDir(t)
			p, _ := fakeParams(t, t.TempDir(), "die")
			p["user"] = "nobody"
			p["log_file"] = filepath.Join(logs, "api.log")
			link := os.Symlink
			if kind == "hardlink" {
				link = os.Link
			}
			if err := link(secret, p["log_file"]); err != nil {
				if require.InCI() {
					t.Fatalf("CI=true: cannot plant a %s: %v", kind, err)
				}
				t.Skipf("SKIP: cannot plant a %s here: %v", kind, err)
			}
			if kind == "symlink" {
				os.Lchown(p["log_file"], nobody, nobody) // a hard link shares the root file's owner
			}
			r := runAgent(t, name, "start", p, op)
			wantCode(t, "start", r, ocf.ErrGeneric, "log_file: ", map[string]string{"symlink": "symbolic link", "hardlink": "2 links"}[kind])
			if strings.Contains(r.stderr, "sho-root-secret") {
				t.Errorf("the root file's content is in the output:\n%s", r.stderr)
			}
			wantUntouched(t, secret)
			wantCode(t, "stop", runAgent(t, name, "stop", p, op), ocf.Success)
		})
	}
	t.Run("log directory others can write", func(t *testing.T) {
		logs := nobodyDir(t)
		os.Chmod(logs, 0o777)
		p, _ := fakeParams(t, t.TempDir(), "serve")
		p["user"] = "nobody"
		p["log_file"] = filepath.Join(logs, "api.log")
		wantCode(t, "start", runAgent(t, name, "start", p, op), ocf.ErrGeneric, "others can write")
	})
}

// docs/security.md, "Files": what the service wrote in its log reaches the exit reason
// without control bytes and capped.
func TestLogReasonSanitised(t *testing.T) {
	require.Root(t)
	const name = "sho-fake-api"
	p, _ := fakeParams(t, t.TempDir(), "noisy")
	r := runAgent(t, name, "start", p, runOpts{timeoutMS: 10000})
	wantCode(t, "start", r, ocf.ErrGeneric, "ended while starting", "FAKE ALERT")
	reason := r.reason()
	if i := strings.IndexFunc(reason, unicode.IsControl); i >= 0 {
		t.Errorf("control byte %q in the reason %q", reason[i], reason)
	}
	for _, l := range strings.Split(r.stderr, "\n") {
		if strings.HasPrefix(l, "ocf-exit-reason:forged") {
			t.Errorf("the log forged a reason line:\n%s", r.stderr)
		}
	}
	if len(reason) > reasonMax+1024 {
		t.Errorf("reason of %d bytes, want it capped near %d", len(reason), reasonMax)
	}
}

// docs/security.md, "Processes": stop removes the pid file only if it still holds the pid it
// recorded; a file put in its place is left alone.
func TestPIDFileReplaced(t *testing.T) {
	require.Root(t)
	const name = "sho-fake-api"
	op := runOpts{timeoutMS: 10000}
	secret := rootSecret(t)
	for what, replace := range map[string]func(pidfile string){
		"another file": func(f string) { os.Remove(f); os.WriteFile(f, []byte("not a pid\n"), 0o644) },
		"a link":       func(f string) { os.Remove(f); os.Symlink(secret, f) },
	} {
		t.Run(what, func(t *testing.T) {
			p, _ := fakeParams(t, t.TempDir(), "serve")
			t.Cleanup(func() { runAgent(t, name, "stop", p, op) })
			wantCode(t, "start", runAgent(t, name, "start", p, op), ocf.Success)
			replace(p["pidfile"])
			wantCode(t, "stop", runAgent(t, name, "stop", p, op), ocf.Success)
			if _, err := os.Lstat(p["pidfile"]); err != nil {
				t.Errorf("stop removed %s, which was not its pid file: %v", what, err)
			}
			wantUntouched(t, secret)
		})
	}
}

// docs/security.md, "Processes": the pid file is never written through a link planted at
// an old fixed temporary name or at the pid file itself.
func TestPIDFileLinks(t *testing.T) {
	dir := t.TempDir()
	victim := filepath.Join(dir, "victim")
	os.WriteFile(victim, []byte("victim\n"), 0o600)
	target := filepath.Join(dir, "x.pid")
	os.Symlink(victim, target+".tmp")
	os.Symlink(victim, filepath.Join(dir, ".x.pid.tmp"))
	if err := writePIDFile(target, 42, instance.RootOnly); err != nil {
		t.Fatal(err)
	}
	os.Remove(target)
	os.Symlink(victim, target)
	if err := writePIDFile(target, 43, instance.RootOnly); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(victim); string(b) != "victim\n" {
		t.Errorf("written through a link: victim holds %q", b)
	}
	if fi, err := os.Lstat(target); err != nil || !fi.Mode().IsRegular() {
		t.Errorf("%s is not a regular file now: %v", target, err)
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 4 { // victim, the two planted links, x.pid
		for _, e := range ents {
			t.Log(e.Name())
		}
		t.Errorf("temporary files left behind")
	}
	// a directory others can write is refused
	open := filepath.Join(dir, "open")
	os.Mkdir(open, 0o777)
	os.Chmod(open, 0o777)
	if err := writePIDFile(filepath.Join(open, "x.pid"), 1, instance.RootOnly); err == nil {
		t.Error("wrote into a directory others can write")
	}
}

// docs/security.md, "The resource id and the state directory": the instance name builds only the state directory, and one
// that would leave it is refused.
func TestInstanceEscapes(t *testing.T) {
	p := profile("keystone")
	meta := declare(p)
	params, err := ocftest.Params(&meta, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"../../etc", "..", "a/b", "", "."} {
		if _, err := NewConfig(p, params, name); err == nil || ocf.CodeOf(err) != ocf.ErrConfigured {
			t.Errorf("instance %q: %v, want exit 6", name, err)
		}
	}
	fake := &fakeSystemd{units: map[string]*UnitState{"sho.service": loaded("active")}}
	useSystemd(t, fake, nil)
	r := runAgent(t, "keystone", "start", map[string]string{"run_mode": "systemd", "unit": "sho.service"},
		runOpts{timeoutMS: 5000, instance: "../../sho-escape"})
	if r.code == ocf.Success {
		t.Errorf("start as instance ../../sho-escape succeeded")
	}
	if len(fake.calls) != 0 {
		t.Errorf("start as instance ../../sho-escape drove systemd: %v", fake.calls)
	}
}

// Who may own and write the directories of the service's files (its
// instance.Trust): root or the service user owns them, others cannot
// write them, and a group that can is root's or the service's.
func TestTrustedDir(t *testing.T) {
	require.Root(t)
	svc := account{uid: nobody, gid: nobody}.trust()
	cases := []struct {
		uid, gid int
		mode     os.FileMode
		ok       bool
	}{
		{0, 0, 0o755, true},
		{nobody, nobody, 0o755, true},
		{nobody, nobody, 0o770, true},
		{0, nobody, 0o775, true},
		{0, 0, 0o1777, false},
		{nobody, 100, 0o775, false},
		{1, 1, 0o755, false},
	}
	for _, tc := range cases {
		d := filepath.Join(t.TempDir(), "d")
		os.Mkdir(d, 0o700)
		os.Chown(d, tc.uid, tc.gid)
		os.Chmod(d, tc.mode)
		h, err := instance.OpenDir(d, svc)
		if (err == nil) != tc.ok {
			t.Errorf("%d:%d %o: %v, want ok=%v", tc.uid, tc.gid, tc.mode, err, tc.ok)
		}
		h.Close()
	}
	link := filepath.Join(t.TempDir(), "link")
	os.Symlink(t.TempDir(), link)
	if _, err := instance.OpenDir(link, svc); err == nil || !strings.Contains(err.Error(), "symbolic link") {
		t.Errorf("a link to a directory: %v", err)
	}
}
