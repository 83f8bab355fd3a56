package openstack

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stackha/stackha/instance"
	"github.com/stackha/stackha/internal/testutil"
	"github.com/stackha/stackha/internal/testutil/openstacktest"
	"github.com/stackha/stackha/internal/testutil/require"
	"github.com/stackha/stackha/ocf"
)

func pidOf(t *testing.T, pidfile string) int {
	t.Helper()
	b, err := os.ReadFile(pidfile)
	if err != nil {
		t.Fatalf("pidfile: %v", err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatalf("pidfile %s: %q", pidfile, b)
	}
	return pid
}

func uidOf(t *testing.T, pid int) string {
	t.Helper()
	p, err := instance.ReadProc(pid)
	if err != nil {
		t.Fatal(err)
	}
	return strconv.Itoa(int(p.UID))
}

// record fetches a document from a real service and compares it with (or,
// with -update, writes it to) testdata/versions/<name>.txt.
func recordDocument(t *testing.T, url, name string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	ids, err := ParseVersions(body)
	if err != nil {
		t.Fatalf("real %s at %s: %v: %s", name, url, err, body)
	}
	file := filepath.Join("testdata", "versions", name+".txt")
	content := fmt.Sprintf("%d\n%s", resp.StatusCode, body)
	if testutil.Updating() {
		if err := os.WriteFile(file, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("%v (record it with go test -run %s -update)", err, t.Name())
	}
	wantStatus, wantBody, _ := strings.Cut(string(want), "\n")
	wantIDs, _ := ParseVersions([]byte(wantBody))
	if wantStatus != strconv.Itoa(resp.StatusCode) || strings.Join(wantIDs, ",") != strings.Join(ids, ",") {
		t.Errorf("%s: real service answers %d %v, recorded %s %v: re-record with -update", name, resp.StatusCode, ids, wantStatus, wantIDs)
	}
}

// TestKeystoneReal runs Debian's keystone (on sqlite, on a free port of
// 127.0.0.1) with the agent in run_mode=process, through the OCF runtime.
func TestKeystoneReal(t *testing.T) {
	require.Root(t)
	require.Command(t, "keystone-manage", "keystone-wsgi-public", "uwsgi_python3", "sqlite3")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	dir := t.TempDir()
	k, err := openstacktest.SetupKeystone(ctx, dir, true)
	if err != nil {
		t.Fatal(err)
	}
	params := k.Params()
	agentLog := filepath.Join(dir, "agent.log")
	op := runOpts{timeoutMS: 60000, logFile: agentLog}
	mon := runOpts{timeoutMS: 20000, intervalMS: 10000, logFile: agentLog}
	t.Cleanup(func() { runAgent(t, "keystone", "stop", params, op) })
	var outputs []string
	do := func(what, action string, p map[string]string, o runOpts, code ocf.Code, reason ...string) result {
		t.Helper()
		r := runAgent(t, "keystone", action, p, o)
		outputs = append(outputs, r.stderr, r.stdout)
		wantCode(t, what, r, code, reason...)
		if r.code != ocf.Success {
			t.Logf("%s: exit %d: %s", what, r.code, r.reason())
		}
		return r
	}

	do("validate-all", "validate-all", params, op, ocf.Success)
	do("probe before start", "monitor", params, runOpts{timeoutMS: 20000, logFile: agentLog}, ocf.NotRunning)
	do("monitor before start", "monitor", params, mon, ocf.NotRunning)
	do("start", "start", params, op, ocf.Success)

	pid := pidOf(t, k.PIDFile)
	if st, _ := alive(pid); st.Session != pid {
		t.Errorf("keystone pid %d is not the leader of its own session (sid %d)", pid, st.Session)
	}
	if uid := uidOf(t, pid); uid != lookupUID(t, "keystone") {
		t.Errorf("keystone runs as uid %s, want the keystone user", uid)
	}

	// keystone as its unit runs it: uwsgi's master with the package's ini,
	// its workers in the master's session, all as keystone
	checkUWSGI(t, pid, "/etc/keystone/keystone-uwsgi.ini", lookupUID(t, "keystone"))

	do("monitor depth 0", "monitor", params, mon, ocf.Success)
	do("probe while running", "monitor", params, runOpts{timeoutMS: 20000, logFile: agentLog}, ocf.Success)
	d10 := mon
	d10.depth = 10
	do("monitor depth 10", "monitor", params, d10, ocf.Success)
	d20 := mon
	d20.depth = 20
	do("monitor depth 20", "monitor", params, d20, ocf.Success)
	do("start again", "start", params, op, ocf.Success)
	if got := pidOf(t, k.PIDFile); got != pid {
		t.Errorf("start on a running keystone started another (pid %d, was %d)", got, pid)
	}

	t.Run("wrong password", func(t *testing.T) {
		wrong := filepath.Join(dir, "wrong.rc")
		os.WriteFile(wrong, []byte("OS_USERNAME=admin\nOS_PASSWORD=sho-not-the-password\nOS_PROJECT_NAME=admin\n"), 0o600)
		r := do("depth 20 with a wrong password", "monitor", merge(params, map[string]string{"credentials": wrong}), d20,
			ocf.ErrGeneric, "refused the credentials of user admin", "401")
		if strings.Contains(r.stderr, "sho-not-the-password") {
			t.Errorf("the wrong password is in the output:\n%s", r.stderr)
		}
	})
	t.Run("credentials readable by others", func(t *testing.T) {
		open := filepath.Join(dir, "open.rc")
		b, _ := os.ReadFile(k.Credentials)
		os.WriteFile(open, b, 0o644)
		os.Chmod(open, 0o644)
		p := merge(params, map[string]string{"credentials": open})
		do("depth 20", "monitor", p, d20, ocf.ErrConfigured, "others must have no access")
		do("validate-all", "validate-all", p, op, ocf.ErrConfigured, "others must have no access")
	})
	t.Run("credentials not owned by root", func(t *testing.T) {
		f := filepath.Join(dir, "nobody.rc")
		b, _ := os.ReadFile(k.Credentials)
		os.WriteFile(f, b, 0o600)
		os.Chown(f, 65534, 65534)
		do("depth 20", "monitor", merge(params, map[string]string{"credentials": f}), d20, ocf.ErrConfigured, "must be owned by root")
	})

	t.Run("password never leaks", func(t *testing.T) {
		// the CIB holds only the path of the credentials file
		for k2, v := range params {
			if strings.Contains(v, k.Password) {
				t.Errorf("parameter %s carries the password", k2)
			}
		}
		// no process of the service's session has it in argv or environment
		for _, p := range sessionPIDs(t, pid) {
			for _, f := range []string{"cmdline", "environ"} {
				b, err := procFile(p, f)
				if err != nil {
					t.Fatal(err)
				}
				if strings.Contains(string(b), k.Password) {
					t.Errorf("the password is in the %s of pid %d", f, p)
				}
			}
		}
		// not in any log line (debug included) nor in any output
		b, err := os.ReadFile(agentLog)
		if err != nil || len(b) == 0 {
			t.Fatalf("agent log %s: %v (empty: %v)", agentLog, err, len(b) == 0)
		}
		outputs = append(outputs, string(b))
		if svc, err := os.ReadFile(k.LogFile); err == nil {
			outputs = append(outputs, string(svc))
		}
		for _, o := range outputs {
			if strings.Contains(o, k.Password) {
				t.Fatalf("the password is in the agent's output or log:\n%s", o)
			}
		}
		if !strings.Contains(string(b), "depth 20: keystone") {
			t.Errorf("the debug log has no line about depth 20, so this test proves nothing:\n%s", b)
		}
	})

	t.Run("version documents", func(t *testing.T) {
		recordDocument(t, fmt.Sprintf("http://127.0.0.1:%d/", k.Port), "keystone")
		recordDocument(t, fmt.Sprintf("http://127.0.0.1:%d/v3", k.Port), "keystone-v3")
	})

	// probe_timeout: a hung keystone (SIGSTOP) fails its monitor on
	// probe_timeout, well before the operation's timeout
	t.Run("hung", func(t *testing.T) {
		// every process of the session, scanned again until no new one
		// appears (a worker uwsgi forks meanwhile would still answer: the
		// process group alone once let the monitor pass)
		stopped := map[int]bool{}
		defer func() {
			for p := range stopped {
				syscall.Kill(p, syscall.SIGCONT)
			}
		}()
		for more := true; more; {
			more = false
			for _, p := range sessionPIDs(t, pid) {
				if !stopped[p] {
					syscall.Kill(p, syscall.SIGSTOP)
					stopped[p], more = true, true
				}
			}
		}
		do("monitor of a hung keystone", "monitor", merge(params, map[string]string{"probe_timeout": "1s"}), mon,
			ocf.ErrGeneric, "(probe_timeout 1s): the service hangs")
	})

	// kill -9 of uwsgi's master: monitor says stopped; the recovery's stop
	// leaves nothing of the session (its workers), and a start brings it back
	t.Run("kill -9 of the master", func(t *testing.T) {
		procs := sessionPIDs(t, pid)
		syscall.Kill(pid, syscall.SIGKILL)
		// the kernel ends it asynchronously: monitor asks once it has
		for i := 0; i < 200; i++ {
			if _, ok := alive(pid); !ok {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		do("monitor after kill -9", "monitor", params, mon, ocf.NotRunning)
		do("stop after kill -9", "stop", params, op, ocf.Success)
		for _, p := range procs {
			if _, ok := alive(p); ok {
				t.Errorf("pid %d of the killed master's session survived stop", p)
			}
		}
		do("start after kill -9", "start", params, op, ocf.Success)
		pid = pidOf(t, k.PIDFile)
		do("monitor after the restart", "monitor", params, mon, ocf.Success)
	})

	// finding 2: parameters the runtime rejects: the probe does not say
	// 7, and the stop stops what start recorded
	bad := merge(params, map[string]string{"probe_timeout": "500s"})
	do("probe with a rejected parameter", "monitor", bad, runOpts{timeoutMS: 20000, logFile: agentLog}, ocf.ErrGeneric, "configuration is invalid")
	do("stop with a rejected parameter", "stop", bad, op, ocf.Success)
	if left := sessionPIDs(t, pid); len(left) > 0 {
		t.Errorf("processes of keystone's session still run after stop: %v", left)
	}
	if _, err := os.Stat(k.PIDFile); !os.IsNotExist(err) {
		t.Errorf("pidfile left after stop: %v", err)
	}
	do("monitor after stop", "monitor", params, mon, ocf.NotRunning)
	do("stop again", "stop", params, op, ocf.Success)

	// under uwsgi a keystone that cannot load stays up without an
	// application: start fails on its timeout, quoting uwsgi's log
	t.Run("broken config", func(t *testing.T) {
		bdir := filepath.Join(k.Dir, "broken")
		os.Mkdir(bdir, 0o755)
		bad := filepath.Join(bdir, "keystone.conf")
		os.WriteFile(bad, []byte("[DEFAULT]\nthis is not an ini file [\n"), 0o644)
		p := merge(params, map[string]string{"config": bad, "log_file": filepath.Join(dir, "log", "broken.log")})
		do("start with a broken config", "start", p, runOpts{timeoutMS: 20000, logFile: agentLog}, ocf.ErrGeneric,
			"last lines of "+filepath.Join(k.Dir, "uwsgi.log"))
		do("stop", "stop", p, op, ocf.Success)
		do("monitor", "monitor", p, mon, ocf.NotRunning)
	})
}

// checkUWSGI: pid is uwsgi's master run with ini, leading a session of
// more than one process (its workers), every one of them owned by uid.
func checkUWSGI(t *testing.T, pid int, ini, uid string) {
	t.Helper()
	cmd, _ := procFile(pid, "cmdline")
	if args := strings.Split(string(cmd), "\x00"); len(args) == 0 || !strings.HasPrefix(filepath.Base(args[0]), "uwsgi") ||
		!strings.Contains(string(cmd), "--ini\x00"+ini) {
		t.Errorf("pid %d runs %q, want uwsgi --ini %s", pid, cmd, ini)
	}
	procs := sessionPIDs(t, pid)
	if len(procs) < 2 {
		t.Errorf("uwsgi's session has %v: want its master and workers", procs)
	}
	for _, p := range procs {
		if got := uidOf(t, p); got != uid {
			t.Errorf("pid %d of uwsgi's session runs as uid %s, want %s", p, got, uid)
		}
	}
}

func lookupUID(t *testing.T, name string) string {
	t.Helper()
	out, err := exec.Command("id", "-u", name).Output()
	if err != nil {
		t.Fatalf("id -u %s: %v", name, err)
	}
	return strings.TrimSpace(string(out))
}

// TestGlanceReal runs Debian's glance-api (sqlite, file store, one worker)
// the same way: start, monitor, stop of the whole session (parent and
// worker).
func TestGlanceReal(t *testing.T) {
	require.Root(t)
	require.Command(t, "glance-manage", "glance-api")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	dir := t.TempDir()
	g, err := openstacktest.SetupGlance(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	params := g.Params()
	pid := startReal(t, "glance-api", params, g.PIDFile, "glance", g.Port)
	stopReal(t, "glance-api", params, pid)
}

// TestPlacementReal runs Debian's placement-api (sqlite) against the real
// keystone of this test: depth 0 without a token, depth 20 with a token
// that placement validates with keystone (keystonemiddleware).
func TestPlacementReal(t *testing.T) {
	require.Root(t)
	require.Command(t, "keystone-manage", "placement-manage")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	dir := t.TempDir()
	k, err := openstacktest.SetupKeystone(ctx, dir, true)
	if err != nil {
		t.Fatal(err)
	}
	pl, err := openstacktest.SetupPlacement(ctx, dir, k)
	if err != nil {
		t.Fatal(err)
	}
	kp, pp := k.Params(), pl.Params()
	op, mon := realOp, realMon
	t.Cleanup(func() { runAgent(t, "keystone", "stop", kp, op) })
	wantCode(t, "start keystone", runAgent(t, "keystone", "start", kp, op), ocf.Success)
	pid := startReal(t, "placement-api", pp, pl.PIDFile, "placement", pl.Port)

	// placement really checks tokens: without one, the authenticated path is refused
	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/resource_providers", pl.Port))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("placement without a token answers %d, want 401: keystone auth is not on", resp.StatusCode)
	}
	d20 := mon
	d20.depth = 20
	withCreds := merge(pp, map[string]string{"credentials": k.Credentials})
	if r := runAgent(t, "placement-api", "monitor", withCreds, d20); r.code != ocf.Success {
		b, _ := os.ReadFile(pl.LogFile)
		t.Fatalf("depth 20: %s\n%s", r.reason(), b[max(0, len(b)-4096):])
	}
	wrong := filepath.Join(dir, "wrong.rc")
	os.WriteFile(wrong, []byte(fmt.Sprintf("OS_AUTH_URL=http://127.0.0.1:%d/v3\nOS_USERNAME=admin\nOS_PASSWORD=sho-wrong\nOS_PROJECT_NAME=admin\n", k.Port)), 0o600)
	wantCode(t, "depth 20, wrong password", runAgent(t, "placement-api", "monitor", merge(pp, map[string]string{"credentials": wrong}), d20),
		ocf.ErrGeneric, "refused the credentials of user admin")
	// keystone gone: depth 0 still passes (it needs no keystone), depth 20 fails
	wantCode(t, "stop keystone", runAgent(t, "keystone", "stop", kp, op), ocf.Success)
	wantCode(t, "depth 0 without keystone", runAgent(t, "placement-api", "monitor", pp, mon), ocf.Success)
	wantCode(t, "depth 20 without keystone", runAgent(t, "placement-api", "monitor", withCreds, d20), ocf.ErrGeneric, "connection refused")
	stopReal(t, "placement-api", pp, pid)
}

// TestCinderReal runs Debian's cinder-api (sqlite, one worker) with keystone
// auth against the real keystone: depth 0, and depth 20 listing volume types
// of the token's project, the token validated by cinder with keystone.
func TestCinderReal(t *testing.T) {
	require.Root(t)
	require.Command(t, "keystone-manage", "cinder-manage", "sqlite3")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	dir := t.TempDir()
	k, err := openstacktest.SetupKeystone(ctx, dir, true)
	if err != nil {
		t.Fatal(err)
	}
	c, err := openstacktest.SetupCinder(ctx, dir, k)
	if err != nil {
		t.Fatal(err)
	}
	kp, cp := k.Params(), c.Params()
	t.Cleanup(func() { runAgent(t, "keystone", "stop", kp, realOp) })
	wantCode(t, "start keystone", runAgent(t, "keystone", "start", kp, realOp), ocf.Success)
	pid := startReal(t, "cinder-api", cp, c.PIDFile, "cinder", c.Port)
	d20 := realMon
	d20.depth = 20
	if r := runAgent(t, "cinder-api", "monitor", merge(cp, map[string]string{"credentials": k.Credentials}), d20); r.code != ocf.Success {
		b, _ := os.ReadFile(c.LogFile)
		t.Fatalf("depth 20: %s\n%s", r.reason(), b[max(0, len(b)-4096):])
	}
	stopReal(t, "cinder-api", cp, pid)
}

// TestHeatReal runs Debian's heat-api alone (no engine, no database needed
// for its version document): start, monitor depth 0, stop.
func TestHeatReal(t *testing.T) {
	require.Root(t)
	require.Command(t, "heat-api")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dir := t.TempDir()
	h, err := openstacktest.SetupHeat(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	hp := h.Params()
	pid := startReal(t, "heat-api", hp, h.PIDFile, "heat", h.Port)
	stopReal(t, "heat-api", hp, pid)
}

// The operation timeouts the real-service tests run with.
var (
	realOp  = runOpts{timeoutMS: 60000}
	realMon = runOpts{timeoutMS: 20000, intervalMS: 10000}
)

// startReal brings a real service up through its agent as a cluster first
// meets it: a probe (not running), start, running as its own user, a
// depth-0 monitor; its version document is recorded and its stop is left
// to the test's cleanup. It returns the service's pid.
func startReal(t *testing.T, agent string, params map[string]string, pidfile, user string, port int) int {
	t.Helper()
	t.Cleanup(func() { runAgent(t, agent, "stop", params, realOp) })
	wantCode(t, "probe "+agent, runAgent(t, agent, "monitor", params, runOpts{timeoutMS: 20000}), ocf.NotRunning)
	wantCode(t, "start "+agent, runAgent(t, agent, "start", params, realOp), ocf.Success)
	pid := pidOf(t, pidfile)
	if uid := uidOf(t, pid); uid != lookupUID(t, user) {
		t.Errorf("%s runs as uid %s, want the %s user", agent, uid, user)
	}
	wantCode(t, "monitor depth 0 of "+agent, runAgent(t, agent, "monitor", params, realMon), ocf.Success)
	recordDocument(t, fmt.Sprintf("http://127.0.0.1:%d/", port), agent)
	return pid
}

// stopReal stops the service and checks that nothing of its session (the
// parent and its workers) survived, and that monitor then says stopped.
func stopReal(t *testing.T, agent string, params map[string]string, pid int) {
	t.Helper()
	procs := sessionPIDs(t, pid)
	wantCode(t, "stop "+agent, runAgent(t, agent, "stop", params, realOp), ocf.Success)
	for _, p := range procs {
		if _, ok := alive(p); ok {
			t.Errorf("pid %d of %s's session survived stop", p, agent)
		}
	}
	wantCode(t, "monitor after stop of "+agent, runAgent(t, agent, "monitor", params, realMon), ocf.NotRunning)
}
