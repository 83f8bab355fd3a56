package openstack

import (
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stackha/stackha/instance"
	"github.com/stackha/stackha/internal/testutil/require"
	"github.com/stackha/stackha/ocf"
)

// The findings of the security review of 2026-12, each with the
// test that failed before its fix.

// helperProcs lists the live processes whose command line holds all of
// words: what is left of a fake service, whoever started it.
func helperProcs(t *testing.T, words ...string) []int {
	t.Helper()
	ps, err := instance.Processes(func(p instance.Proc) bool { return p.PID != os.Getpid() }, func(instance.Proc) bool { return true })
	if err != nil {
		t.Fatal(err)
	}
	var out []int
	for _, p := range ps {
		argv, err := instance.Cmdline(p.PID)
		if err != nil || len(argv) == 0 {
			continue
		}
		args := " " + strings.Join(argv, " ") + " "
		all := true
		for _, w := range words {
			all = all && strings.Contains(args, " "+w+" ")
		}
		if all {
			out = append(out, p.PID)
		}
	}
	return out
}

// killLeft ends what a test left of a fake service (the old code's bugs
// leave it running).
func killLeft(t *testing.T, words ...string) {
	t.Cleanup(func() {
		for _, pid := range helperProcs(t, words...) {
			syscall.Kill(pid, syscall.SIGKILL)
		}
	})
}

// portFree reports whether nothing listens on port of 127.0.0.1.
func portFree(port int) bool {
	l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
	if err != nil {
		return false
	}
	l.Close()
	return true
}

func waitPortFree(t *testing.T, port int) {
	t.Helper()
	for i := 0; i < 100 && !portFree(port); i++ {
		time.Sleep(20 * time.Millisecond)
	}
	if !portFree(port) {
		t.Errorf("something still listens on port %d after stop", port)
	}
}

const pyService = `#!/usr/bin/env python3
import http.server, sys
DOC = b'{"versions": {"values": [{"id": "v3.14", "status": "stable"}]}}'
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(300)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(DOC)))
        self.end_headers()
        self.wfile.write(DOC)
    def log_message(self, *a):
        pass
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
`

// Finding 1 (High): a service whose program execs (a shell wrapper ending
// in exec, a "#!/usr/bin/env python3" script) was recorded with the
// program it ran right after start (/bin/sh, /usr/bin/env): every monitor
// said 7, stop said 0 without a signal, and the service kept its port.
func TestServiceThatExecs(t *testing.T) {
	require.Root(t)
	require.Command(t, "python3")
	const name = "sho-fake-api"
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	for _, kind := range []string{"shell wrapper", "env python3"} {
		t.Run(kind, func(t *testing.T) {
			dir := t.TempDir()
			p, port := fakeParams(t, dir, "serve")
			script := filepath.Join(dir, "svc")
			// a distribution's wrapper does some work before its exec
			body := "#!/bin/sh\nsleep 0.2\nexec " + self + " \"$@\"\n"
			if kind == "env python3" {
				body = pyService
				p["extra_args"] = strconv.Itoa(port)
			}
			if err := os.WriteFile(script, []byte(body), 0o755); err != nil {
				t.Fatal(err)
			}
			p["binary"] = script
			killLeft(t, strconv.Itoa(port))
			// env execs python3 at once: the old agent saw env in most
			// starts, not all
			for n := 0; n < 4; n++ {
				cycle(t, name, p, port)
			}
		})
	}
}

// cycle starts the service, monitors it after its exec, stops it, and
// checks nothing of it is left.
func cycle(t *testing.T, name string, p map[string]string, port int) {
	t.Helper()
	op := runOpts{timeoutMS: 10000}
	mon := runOpts{timeoutMS: 5000, intervalMS: 10000}
	wantCode(t, "start", runAgent(t, name, "start", p, op), ocf.Success)
	pid := pidOf(t, p["pidfile"])
	// the program has made its exec by now (it answers)
	for i := 0; i < 3; i++ {
		wantCode(t, fmt.Sprintf("monitor %d", i), runAgent(t, name, "monitor", p, mon), ocf.Success)
	}
	wantCode(t, "probe", runAgent(t, name, "monitor", p, runOpts{timeoutMS: 5000}), ocf.Success)
	wantCode(t, "stop", runAgent(t, name, "stop", p, op), ocf.Success)
	if left := helperProcs(t, strconv.Itoa(port)); len(left) > 0 {
		t.Errorf("pid %d: %v still run after stop", pid, left)
	}
	waitPortFree(t, port)
	wantCode(t, "monitor after stop", runAgent(t, name, "monitor", p, mon), ocf.NotRunning)
}

// Finding 2: parameters the runtime rejects (out of range, unsupported)
// made stop a silent 0 that left the service running, and a probe say 7.
// Now stop works from the record, and a probe of a running instance never
// says 7.
func TestStopWithRejectedParameters(t *testing.T) {
	require.Root(t)
	const name = "sho-fake-api"
	op := runOpts{timeoutMS: 10000}
	for _, bad := range []map[string]string{{"probe_timeout": "500s"}, {"degraded_ms": "999999"}, {"os_password": "x"}} {
		t.Run(fmt.Sprint(bad), func(t *testing.T) {
			p, port := fakeParams(t, t.TempDir(), "serve")
			killLeft(t, strconv.Itoa(port))
			wantCode(t, "start", runAgent(t, name, "start", p, op), ocf.Success)
			pid := pidOf(t, p["pidfile"])
			r := runAgent(t, name, "monitor", merge(p, bad), runOpts{timeoutMS: 5000})
			if r.code == ocf.NotRunning || r.code == ocf.Success {
				t.Errorf("probe of a running instance with %v: %d (%s), want a failure", bad, r.code, r.reason())
			}
			wantCode(t, "stop", runAgent(t, name, "stop", merge(p, bad), op), ocf.Success)
			if left := helperProcs(t, strconv.Itoa(port)); len(left) > 0 {
				t.Errorf("pid %d: %v still run after stop with %v", pid, left, bad)
			}
			waitPortFree(t, port)
			wantCode(t, "probe after stop", runAgent(t, name, "monitor", merge(p, bad), runOpts{timeoutMS: 5000}), ocf.NotRunning)
		})
	}
	// a stop with another run_mode stops the process start recorded
	t.Run("run_mode changed", func(t *testing.T) {
		useSystemd(t, &fakeSystemd{units: map[string]*UnitState{"sho-other.service": loaded("inactive")}}, nil)
		p, port := fakeParams(t, t.TempDir(), "serve")
		killLeft(t, strconv.Itoa(port))
		wantCode(t, "start", runAgent(t, name, "start", p, op), ocf.Success)
		q := merge(p, map[string]string{"run_mode": "systemd", "unit": "sho-other.service"})
		wantCode(t, "start in the other mode", runAgent(t, name, "start", q, op), ocf.ErrGeneric, "stop the resource first")
		wantCode(t, "stop", runAgent(t, name, "stop", q, op), ocf.Success)
		if left := helperProcs(t, strconv.Itoa(port)); len(left) > 0 {
			t.Errorf("%v still run after a stop with run_mode=systemd", left)
		}
	})
}

// Finding 6: degraded (190) hid a failure of depth 20. A keystone that
// refuses tokens but answers its version document slower than degraded_ms
// got 190 (1.1) or 0 (1.0). Degraded is for a service every check passed.
func TestDegradedHidesNothing(t *testing.T) {
	require.Root(t) // the credentials file is root's
	accept := false
	var mu sync.Mutex
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		ok := accept
		mu.Unlock()
		switch {
		case r.URL.Path == "/":
			time.Sleep(200 * time.Millisecond)
			w.WriteHeader(300)
			io.WriteString(w, keystoneDoc)
		case r.URL.Path == "/v3/auth/tokens" && r.Method == http.MethodPost && ok:
			w.Header().Set("X-Subject-Token", "tok")
			w.WriteHeader(201)
			json.NewEncoder(w).Encode(map[string]any{"token": map[string]any{"project": map[string]string{"id": "p1"}}})
		case r.URL.Path == "/v3/auth/tokens" && r.Method == http.MethodGet && ok:
			io.WriteString(w, `{"token": {}}`)
		default:
			w.WriteHeader(401)
			io.WriteString(w, `{"error": {"code": 401}}`)
		}
	}))
	t.Cleanup(srv.Close)
	creds := filepath.Join(t.TempDir(), "admin.rc")
	os.WriteFile(creds, []byte("OS_USERNAME=admin\nOS_PASSWORD=pw\nOS_PROJECT_NAME=admin\n"), 0o600)
	useSystemd(t, &fakeSystemd{units: map[string]*UnitState{"sho.service": loaded("active")}}, nil)
	p := map[string]string{"run_mode": "systemd", "unit": "sho.service", "url": srv.URL + "/", "keystone_url": srv.URL,
		"credentials": creds, "degraded_ms": "50"}
	v11 := map[string]string{"OCF_RA_VERSION_MAJOR": "1", "OCF_RA_VERSION_MINOR": "1"}
	d20 := runOpts{timeoutMS: 10000, intervalMS: 60000, depth: 20, env: v11}
	wantCode(t, "refused tokens, slow, 1.1", runAgent(t, "keystone", "monitor", p, d20), ocf.ErrGeneric, "refused the credentials")
	d20.env = nil
	wantCode(t, "refused tokens, slow, 1.0", runAgent(t, "keystone", "monitor", p, d20), ocf.ErrGeneric, "refused the credentials")
	mu.Lock()
	accept = true
	mu.Unlock()
	d20.env = v11
	wantCode(t, "tokens, slow, 1.1", runAgent(t, "keystone", "monitor", p, d20), ocf.RunningDegraded)
}

// Finding 8: a record that exists but cannot be read (truncated) made
// stop a silent 0 while the service kept running. Now every path fails
// with a reason, and signals nothing it cannot identify.
func TestTruncatedRecord(t *testing.T) {
	require.Root(t)
	const name = "sho-fake-api"
	op := runOpts{timeoutMS: 10000}
	p, port := fakeParams(t, t.TempDir(), "serve")
	killLeft(t, strconv.Itoa(port))
	wantCode(t, "start", runAgent(t, name, "start", p, op), ocf.Success)
	pid := pidOf(t, p["pidfile"])
	full, err := os.ReadFile(recordPath(name))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(recordPath(name), full[:len(full)/2], 0o600); err != nil {
		t.Fatal(err)
	}
	wantCode(t, "stop", runAgent(t, name, "stop", p, op), ocf.ErrGeneric, "record")
	wantCode(t, "stop, invalid parameters", runAgent(t, name, "stop", merge(p, map[string]string{"probe_timeout": "500s"}), op),
		ocf.ErrGeneric, "record")
	r := runAgent(t, name, "monitor", p, runOpts{timeoutMS: 5000})
	if r.code == ocf.NotRunning || r.code == ocf.Success {
		t.Errorf("probe with a truncated record: %d, want a failure", r.code)
	}
	if len(helperProcs(t, strconv.Itoa(port))) == 0 {
		t.Fatalf("pid %d was signalled although its record could not be read", pid)
	}
	os.WriteFile(recordPath(name), full, 0o600)
	wantCode(t, "stop with the record back", runAgent(t, name, "stop", p, op), ocf.Success)
	if left := helperProcs(t, strconv.Itoa(port)); len(left) > 0 {
		t.Errorf("%v still run after stop", left)
	}
}

// Finding 9: two starts of one instance at once: the loser overwrote the
// record and orphaned the winner. The runtime's per-instance lock makes the
// second wait and find the first running.
func TestConcurrentStarts(t *testing.T) {
	require.Root(t)
	const name = "sho-fake-api"
	op := runOpts{timeoutMS: 20000}
	p, port := fakeParams(t, t.TempDir(), "serve")
	killLeft(t, strconv.Itoa(port))
	var wg sync.WaitGroup
	codes := make([]result, 3)
	for i := range codes {
		wg.Add(1)
		go func() { defer wg.Done(); codes[i] = runAgent(t, name, "start", p, op) }()
	}
	wg.Wait()
	for i, r := range codes {
		wantCode(t, fmt.Sprintf("start %d", i), r, ocf.Success)
	}
	if n := len(helperProcs(t, strconv.Itoa(port))); n != 1 {
		t.Errorf("%d services run after three concurrent starts, want 1", n)
	}
	wantCode(t, "stop", runAgent(t, name, "stop", p, op), ocf.Success)
	if left := helperProcs(t, strconv.Itoa(port)); len(left) > 0 {
		t.Errorf("%v still run after stop: a start orphaned them", left)
	}
	waitPortFree(t, port)
}

// Finding 5: the log and pid directories were checked, then opened by
// path, and created with MkdirAll, which follows links: the service user,
// swapping a directory it owns with a link (renameat2 RENAME_EXCHANGE),
// made root create a file it owned inside a root-only directory, and mkdir
// there. A child running as nobody swaps while the agent starts; nothing
// may appear in the root-only directory.
func TestDirectorySwap(t *testing.T) {
	require.Root(t)
	const name = "sho-fake-api"
	base, err := os.MkdirTemp("", "sho-swap-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(base) })
	os.Chmod(base, 0o755)
	svc := filepath.Join(base, "svc")
	sub := filepath.Join(svc, "sub")
	evil := filepath.Join(svc, "evil")
	victim := filepath.Join(base, "victim")
	for _, d := range []string{svc, sub, filepath.Join(sub, "log"), victim, filepath.Join(victim, "log")} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	os.Chmod(victim, 0o700)
	for _, d := range []string{svc, sub, filepath.Join(sub, "log")} {
		os.Chown(d, nobody, nobody)
	}
	os.Symlink(victim, evil)
	os.Lchown(evil, nobody, nobody)
	// the swapper is this test binary, where nobody can run it
	bin := nobodyBinary(t)
	swap := exec.Command(bin, "-test.run=^TestHelperService$", "--", "swap", sub, evil)
	swap.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: nobody, Gid: nobody}}
	swap.Stderr = os.Stderr
	if err := swap.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { swap.Process.Kill(); swap.Wait() })

	p, _ := fakeParams(t, t.TempDir(), "die")
	p["user"], p["binary"] = "nobody", bin
	p["log_file"] = filepath.Join(sub, "log", "api.log")
	p["pidfile"] = filepath.Join(sub, "run", "api.pid")
	op := runOpts{timeoutMS: 5000}
	started := 0
	for i := 0; i < 40; i++ {
		r := runAgent(t, name, "start", p, op)
		if i < 3 {
			t.Logf("start %d: %s", i, r.reason())
		}
		if strings.Contains(r.reason(), "ended while starting") {
			started++
		}
		runAgent(t, name, "stop", p, op)
		if ents, _ := os.ReadDir(victim); len(ents) != 1 {
			t.Fatalf("start %d made %v in the root-only directory %s", i, names(ents), victim)
		}
		if ents, _ := os.ReadDir(filepath.Join(victim, "log")); len(ents) != 0 {
			t.Fatalf("start %d made %v in the root-only directory %s/log", i, names(ents), victim)
		}
	}
	t.Logf("%d of 40 starts got as far as running the service", started)
}

// Finding 5, deterministically: the service user swaps its log directory
// for a link to a root-only directory right after the agent opened and
// checked it (hookDirOpened). The log is still made in the directory that
// was checked; the pid file's directory, walked after the swap, meets the
// link and is refused; nothing appears in the root-only directory, and the
// service start started is killed.
func TestDirectorySwapHook(t *testing.T) {
	require.Root(t)
	const name = "sho-fake-api"
	base := t.TempDir()
	svc := filepath.Join(base, "svc")
	sub := filepath.Join(svc, "sub")
	victim := filepath.Join(base, "victim")
	for _, d := range []string{svc, sub, filepath.Join(sub, "log"), victim, filepath.Join(victim, "log")} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	os.Chmod(victim, 0o700)
	for _, d := range []string{svc, sub, filepath.Join(sub, "log")} {
		os.Chown(d, nobody, nobody)
	}
	swapped := false
	hookDirOpened = func(dir string) {
		if dir == filepath.Join(sub, "log") && !swapped {
			swapped = true
			os.Rename(sub, sub+".real")
			os.Symlink(victim, sub)
		}
	}
	t.Cleanup(func() { hookDirOpened = nil })
	p, port := fakeParams(t, t.TempDir(), "serve")
	killLeft(t, strconv.Itoa(port))
	p["user"], p["binary"] = "nobody", nobodyBinary(t)
	p["log_file"] = filepath.Join(sub, "log", "api.log")
	p["pidfile"] = filepath.Join(sub, "run", "api.pid")
	r := runAgent(t, name, "start", p, runOpts{timeoutMS: 10000})
	wantCode(t, "start", r, ocf.ErrGeneric, "pidfile", "symbolic link")
	if !swapped {
		t.Fatal("the hook never ran")
	}
	if _, err := os.Stat(filepath.Join(sub+".real", "log", "api.log")); err != nil {
		t.Errorf("the log is not in the directory that was checked: %v", err)
	}
	if ents, _ := os.ReadDir(victim); len(ents) != 1 {
		t.Errorf("start made %v in the root-only directory %s", names(ents), victim)
	}
	if ents, _ := os.ReadDir(filepath.Join(victim, "log")); len(ents) != 0 {
		t.Errorf("start made %v in the root-only directory %s/log", names(ents), victim)
	}
	for i := 0; i < 100 && len(helperProcs(t, strconv.Itoa(port))) > 0; i++ {
		time.Sleep(20 * time.Millisecond)
	}
	if left := helperProcs(t, strconv.Itoa(port)); len(left) > 0 {
		t.Errorf("the service start could not finish still runs: %v", left)
	}
	wantCode(t, "stop", runAgent(t, name, "stop", p, runOpts{timeoutMS: 10000}), ocf.Success)
}

// "ca_file is read following links with no owner check": root decides
// whom to trust from it, so it must be root's, on a path of root's
// directories no one else can write, and a link is refused, never
// followed (the bundle's own path, /etc/ssl/certs/ca-certificates.crt, is
// a regular file; name that, not a link in /etc/ssl/certs).
func TestCAFileTrust(t *testing.T) {
	require.Root(t)
	srv := httptest.NewTLSServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	t.Cleanup(srv.Close)
	bundle := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	dir := t.TempDir()
	good := filepath.Join(dir, "ca.pem")
	os.WriteFile(good, bundle, 0o644)
	if _, err := newClient(good); err != nil {
		t.Fatalf("a root-owned bundle: %v", err)
	}
	if _, err := os.Stat("/etc/ssl/certs/ca-certificates.crt"); err == nil {
		if _, err := newClient("/etc/ssl/certs/ca-certificates.crt"); err != nil {
			t.Errorf("the system's bundle: %v", err)
		}
	}
	theirs := nobodyDir(t)
	cases := map[string]func() string{
		"a link": func() string {
			l := filepath.Join(dir, "link.pem")
			os.Symlink(good, l)
			return l
		},
		"owned by nobody": func() string {
			f := filepath.Join(dir, "nobody.pem")
			os.WriteFile(f, bundle, 0o644)
			os.Chown(f, nobody, nobody)
			return f
		},
		"writable by others": func() string {
			f := filepath.Join(dir, "open.pem")
			os.WriteFile(f, bundle, 0o644)
			os.Chmod(f, 0o666)
			return f
		},
		"in a directory nobody owns": func() string {
			f := filepath.Join(theirs, "ca.pem")
			os.WriteFile(f, bundle, 0o644)
			return f
		},
	}
	for what, mk := range cases {
		path := mk()
		_, err := newClient(path)
		if err == nil || ocf.CodeOf(err) != ocf.ErrInstalled {
			t.Errorf("ca_file %s: %v, want exit 5 with the reason", what, err)
		}
		t.Logf("%s: %v", what, err)
	}
}

func names(ents []os.DirEntry) []string {
	var out []string
	for _, e := range ents {
		out = append(out, e.Name())
	}
	return out
}

// nobodyBinary is a copy of this test binary that nobody can run (the
// build's own directory is root's only).
func nobodyBinary(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "sho-bin-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	os.Chmod(dir, 0o755)
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "openstack.test")
	if err := copyFile(self, bin); err != nil {
		t.Fatal(err)
	}
	return bin
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o755)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
