package haproxy

import (
	"crypto/tls"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stackha/stackha/internal/testutil"
	"github.com/stackha/stackha/internal/testutil/certtest"
	"github.com/stackha/stackha/ocf"
)

// withGlobal rewrites the rig's configuration with o and the global lines
// extra (each indented).
func (r *rig) withGlobal(o cfgOpts, extra ...string) {
	r.t.Helper()
	r.writeConfig(o)
	b, err := os.ReadFile(r.cfg)
	if err != nil {
		r.t.Fatal(err)
	}
	lines := ""
	for _, l := range extra {
		lines += "    " + l + "\n"
	}
	out := strings.Replace(string(b), "global\n", "global\n"+lines, 1)
	if err := os.WriteFile(r.cfg, []byte(out), 0o644); err != nil {
		r.t.Fatal(err)
	}
}

// refused runs the actions, each of which must exit 6 with a reason
// holding every word of want, and leave no process.
func (r *rig) refused(actions []string, want ...string) {
	r.t.Helper()
	for _, a := range actions {
		code, out := r.run(a)
		if code != ocf.ErrConfigured || !strings.Contains(out, "ocf-exit-reason:") {
			r.t.Errorf("%s: exit %d, want 6\n%s", a, code, out)
		}
		for _, w := range want {
			if !strings.Contains(out, w) {
				r.t.Errorf("%s: the reason lacks %q\n%s", a, w, out)
			}
		}
	}
	if left := r.left(); len(left) > 0 {
		r.t.Fatalf("processes after a refused start: %v", left)
	}
}

// haproxyHasLua reports whether the haproxy binary was built with Lua.
func haproxyHasLua(t *testing.T) bool {
	out, err := exec.Command(haproxyBin, "-vv").CombinedOutput()
	if err != nil {
		t.Fatalf("%s -vv: %v", haproxyBin, err)
	}
	return strings.Contains(strings.ToLower(string(out)), "built with lua")
}

// The Lua code haproxy loads runs as root in the master, and in haproxy -c:
// a script nobody can write (nobody's, or in nobody's directory) is refused
// by validate-all and start (6, naming lua-load and the file) before haproxy
// ever reads it: the marker it would write never appears. Root's alone, it
// loads, and runs (the marker shows).
func TestLuaLoadOnlyRootsAlone(t *testing.T) {
	r := newRig(t)
	if !haproxyHasLua(t) {
		t.Skipf("SKIP (LOUDLY): %s is built without Lua: the lua-load case cannot run here", haproxyBin)
	}
	marker := filepath.Join(r.dir, "lua-ran")
	script := fmt.Sprintf("local f = io.open(%q, 'a')\nf:write('ran\\n')\nf:close()\n", marker)
	os.Chmod(r.dir, 0o711)
	userDir := filepath.Join(r.dir, "user")
	os.Mkdir(userDir, 0o755)
	os.Chown(userDir, 65534, 65534)
	write := func(p string) string {
		if err := os.WriteFile(p, []byte(script), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	nobodys := write(filepath.Join(r.dir, "nobodys.lua"))
	os.Chown(nobodys, 65534, 65534)
	inUserDir := write(filepath.Join(userDir, "in-user-dir.lua"))
	for _, p := range []string{nobodys, inUserDir} {
		r.withGlobal(cfgOpts{}, "lua-load "+p)
		r.refused([]string{"validate-all", "start"}, "lua-load", filepath.Base(p))
		if _, err := os.Stat(marker); err == nil {
			t.Fatalf("the Lua script %s ran", p)
		}
	}
	good := write(filepath.Join(r.dir, "good.lua"))
	r.withGlobal(cfgOpts{}, "lua-load "+good)
	r.must("start", ocf.Success)
	r.must("monitor", ocf.Success)
	r.must("stop", ocf.Success)
	if _, err := os.Stat(marker); err != nil {
		t.Fatalf("the root-owned Lua script did not run: %v", err)
	}
}

// A certificate and its private key in one PEM, root's but readable by
// others (0644), is refused for the key at validate-all and start; 0600
// starts and serves TLS; made 0644 again while haproxy runs, a reload is
// refused and the running workers stay.
func TestPrivateKeyReadableByOthers(t *testing.T) {
	r := newRig(t)
	cert, key := certtest.SelfSigned(t)
	pemPath := filepath.Join(r.dir, "site.pem")
	if err := os.WriteFile(pemPath, append(cert, key...), 0o644); err != nil {
		t.Fatal(err)
	}
	os.Chmod(pemPath, 0o644)
	ports, err := testutil.FreePorts(1)
	if err != nil {
		t.Fatal(err)
	}
	tlsAddr := fmt.Sprintf("127.0.0.1:%d", ports[0])
	r.writeConfig(cfgOpts{ExtraBind: tlsAddr + " ssl crt " + pemPath})
	r.refused([]string{"validate-all", "start"}, "bind crt", pemPath, "private key", "others can read it (mode 0644)")

	os.Chmod(pemPath, 0o600)
	r.must("validate-all", ocf.Success)
	r.must("start", ocf.Success)
	defer r.must("stop", ocf.Success)
	conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", tlsAddr, &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatalf("TLS on %s: %v", tlsAddr, err)
	}
	conn.Close()

	before := r.procList()
	os.Chmod(pemPath, 0o644)
	code, out := r.run("reload")
	if code != ocf.ErrConfigured || !strings.Contains(out, "private key") {
		t.Errorf("reload with the key readable by others: %d %s", code, out)
	}
	if after := r.procList(); after.Workers[0].PID != before.Workers[0].PID {
		t.Error("a refused reload replaced the worker")
	}
	os.Chmod(pemPath, 0o600)
}
