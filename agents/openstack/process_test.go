package openstack

import (
	"flag"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/stackha/stackha/instance"
	"github.com/stackha/stackha/internal/testutil"
	"github.com/stackha/stackha/internal/testutil/require"
	"github.com/stackha/stackha/ocf"
)

// fakeProfile is a service played by this test binary (TestHelperService):
// no configuration file, so the agent's argv is the binary and extra_args.
var fakeProfile = &Profile{
	Name: "sho-fake-api", Title: "a fake API service for tests", Port: "1", Unit: "sho-fake.service",
	Binary: "/nonexistent", User: "root", VersionPath: "/",
}

// fakeUWSGIProfile is a service its package runs under uwsgi, played by
// this test binary behind a script named uwsgi-* (TestUWSGIStop).
var fakeUWSGIProfile = &Profile{
	Name: "sho-fake-uwsgi", Title: "a fake uwsgi service for tests", Port: "1", Unit: "sho-fake.service",
	Binary: "/nonexistent", User: "root", VersionPath: "/", UWSGIIni: "/nonexistent/sho-uwsgi.ini",
}

func init() {
	ocf.Register(fakeProfile.Name, func() *ocf.Agent { return testAgent(fakeProfile) }, fakeProfile.Aliases...)
	ocf.Register(fakeUWSGIProfile.Name, func() *ocf.Agent { return testAgent(fakeUWSGIProfile) })
}

// TestHelperService is not a test: run by the agent with arguments after
// "--", it plays an API service.
//
//	serve PORT         answer the version document
//	die                print a few lines, exit 3
//	noisy              print control bytes and a huge line, exit 3
//	hang PORT          accept connections, never answer
//	stubborn PORT      serve, and ignore SIGTERM
//	graceful PORT      serve, and log SIGTERM before exiting
//	fork PORT          serve, with a worker (stubborn) in the same session
//	uwsgi PORT         a uwsgi master whose worker hangs when ended
func TestHelperService(t *testing.T) {
	args := flag.Args()
	if len(args) == 0 {
		return
	}
	serve := func(port string, answer bool) {
		l, err := net.Listen("tcp", "127.0.0.1:"+port)
		if err != nil {
			fmt.Fprintln(os.Stderr, "helper: listen:", err)
			os.Exit(4)
		}
		h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if !answer {
				select {}
			}
			w.WriteHeader(300)
			fmt.Fprint(w, keystoneDoc)
		})
		http.Serve(l, h)
	}
	switch args[0] {
	case "serve":
		serve(args[1], true)
	case "hang":
		serve(args[1], false)
	case "die":
		fmt.Println("helper: loading configuration")
		fmt.Fprintln(os.Stderr, "helper: fatal: cannot connect to the database at sqlite:///nowhere")
		os.Exit(3)
	case "noisy":
		// a log written to deceive whoever reads the reason
		fmt.Print("helper: \x1b[2J\x1b[31mFAKE ALERT\x1b[0m\rocf-exit-reason:forged\x00\x07\n")
		fmt.Println(strings.Repeat("A", 10000))
		os.Exit(3)
	case "stubborn":
		signal.Ignore(syscall.SIGTERM)
		serve(args[1], true)
	case "graceful":
		// says in its log that it ended on SIGTERM, not by SIGKILL
		term := make(chan os.Signal, 1)
		signal.Notify(term, syscall.SIGTERM)
		go func() {
			<-term
			fmt.Println("helper: SIGTERM handled")
			os.Exit(0)
		}()
		serve(args[1], true)
	case "uwsgi":
		// a master as Debian 12's uwsgi behaves: SIGTERM reloads (without
		// die-on-term), SIGINT ends the workers, and a worker hangs in its
		// teardown while the master waits for it
		w := exec.Command(os.Args[0], "-test.run=^TestHelperService$", "--", "uwsgi-worker")
		w.Stdout, w.Stderr = os.Stdout, os.Stderr
		if err := w.Start(); err != nil {
			os.Exit(5)
		}
		sigs := make(chan os.Signal, 2)
		signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
		go func() {
			for s := range sigs {
				fmt.Printf("helper: master got %v\n", s)
				if s == syscall.SIGINT {
					w.Process.Signal(syscall.SIGINT)
					w.Wait()
					os.Exit(0)
				}
			}
		}()
		serve(args[1], true)
	case "uwsgi-worker":
		signal.Ignore(syscall.SIGTERM, syscall.SIGINT)
		select {}
	case "fork":
		w := exec.Command(os.Args[0], "-test.run=^TestHelperService$", "--", "worker")
		w.Stdout, w.Stderr = os.Stdout, os.Stderr
		if err := w.Start(); err != nil {
			os.Exit(5)
		}
		fmt.Printf("helper: worker %d\n", w.Process.Pid)
		serve(args[1], true)
	case "worker":
		signal.Ignore(syscall.SIGTERM)
		select {}
	case "swap":
		// run as the hostile service user: exchange two names for ever
		// for ever, a random short while apart, so that some walks
		// pass between two swaps
		for {
			unix.Renameat2(unix.AT_FDCWD, args[1], unix.AT_FDCWD, args[2], unix.RENAME_EXCHANGE)
			time.Sleep(time.Duration(rand.IntN(300)) * time.Microsecond)
		}
	case "fork-group":
		// a worker that moves to a process group of its own, in our session
		w := exec.Command(os.Args[0], "-test.run=^TestHelperService$", "--", "worker")
		w.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		if err := w.Start(); err != nil {
			os.Exit(5)
		}
		serve(args[1], true)
	}
	os.Exit(0)
}

// fakeParams runs the helper in mode on a free port, its files in dir.
func fakeParams(t *testing.T, dir, mode string) (map[string]string, int) {
	t.Helper()
	port, err := testutil.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return map[string]string{
		"run_mode": "process", "binary": self, "user": "root",
		"extra_args": fmt.Sprintf("-test.run=^TestHelperService$ -- %s %d", mode, port),
		"url":        fmt.Sprintf("http://127.0.0.1:%d/", port),
		"pidfile":    filepath.Join(dir, "run", "fake.pid"),
		"log_file":   filepath.Join(dir, "log", "fake.log"),
	}, port
}

// TestProcessMode drives run_mode=process with the helper service: the
// pidfile and its record, stop by verified pid (SIGTERM, then SIGKILL),
// a death at start, a service that never answers, and pids that are not
// ours.
func TestProcessMode(t *testing.T) {
	require.Root(t) // the agent sets the child's credentials
	const name = "sho-fake-api"
	op := runOpts{timeoutMS: 10000}
	mon := runOpts{timeoutMS: 5000, intervalMS: 10000}

	t.Run("start monitor stop", func(t *testing.T) {
		dir := t.TempDir()
		p, _ := fakeParams(t, dir, "serve")
		t.Cleanup(func() { runAgent(t, name, "stop", p, op) })
		wantCode(t, "probe", runAgent(t, name, "monitor", p, runOpts{timeoutMS: 5000}), ocf.NotRunning)
		wantCode(t, "start", runAgent(t, name, "start", p, op), ocf.Success)
		pid := pidOf(t, p["pidfile"])
		rec, err := loadRecord(testInstance, name)
		if err != nil || rec == nil || rec.Process.PID != pid || rec.Process.Exe != "" {
			t.Fatalf("record: %v %+v", err, rec)
		}
		st, _ := alive(pid)
		if st.Session != pid {
			t.Errorf("pid %d is not in a session of its own (sid %d)", pid, st.Session)
		}
		env, _ := procFile(pid, "environ")
		if strings.Contains(string(env), "OCF_") {
			t.Errorf("the service inherited the agent's environment: %q", env)
		}
		wantCode(t, "monitor", runAgent(t, name, "monitor", p, mon), ocf.Success)
		wantCode(t, "start again", runAgent(t, name, "start", p, op), ocf.Success)
		if pidOf(t, p["pidfile"]) != pid {
			t.Error("start on a running service started another")
		}
		wantCode(t, "stop", runAgent(t, name, "stop", p, op), ocf.Success)
		if _, ok := alive(pid); ok {
			t.Errorf("pid %d runs after stop", pid)
		}
		wantCode(t, "monitor", runAgent(t, name, "monitor", p, mon), ocf.NotRunning)
		wantCode(t, "stop again", runAgent(t, name, "stop", p, op), ocf.Success)
	})

	// what start recorded is stopped even when today's parameters are broken
	t.Run("stop with an invalid configuration", func(t *testing.T) {
		p, _ := fakeParams(t, t.TempDir(), "serve")
		t.Cleanup(func() { runAgent(t, name, "stop", p, op) })
		wantCode(t, "start", runAgent(t, name, "start", p, op), ocf.Success)
		pid := pidOf(t, p["pidfile"])
		wantCode(t, "stop", runAgent(t, name, "stop", merge(p, map[string]string{"url": "ftp://broken/"}), op), ocf.Success)
		if _, ok := alive(pid); ok {
			t.Errorf("pid %d runs after stop", pid)
		}
		if _, err := os.Stat(p["pidfile"]); !os.IsNotExist(err) {
			t.Errorf("pidfile left after stop: %v", err)
		}
	})

	t.Run("killed behind our back", func(t *testing.T) {
		dir := t.TempDir()
		p, _ := fakeParams(t, dir, "serve")
		t.Cleanup(func() { runAgent(t, name, "stop", p, op) })
		wantCode(t, "start", runAgent(t, name, "start", p, op), ocf.Success)
		pid := pidOf(t, p["pidfile"])
		syscall.Kill(pid, syscall.SIGKILL)
		waitDead(t, pid)
		wantCode(t, "monitor", runAgent(t, name, "monitor", p, mon), ocf.NotRunning)
		wantCode(t, "stop", runAgent(t, name, "stop", p, op), ocf.Success)
	})

	t.Run("dies at start", func(t *testing.T) {
		dir := t.TempDir()
		p, _ := fakeParams(t, dir, "die")
		wantCode(t, "start", runAgent(t, name, "start", p, op), ocf.ErrGeneric,
			"ended while starting (exit status 3)", "cannot connect to the database at sqlite:///nowhere")
		wantCode(t, "stop", runAgent(t, name, "stop", p, op), ocf.Success)
	})

	t.Run("never answers at start", func(t *testing.T) {
		dir := t.TempDir()
		p, _ := fakeParams(t, dir, "hang")
		t.Cleanup(func() { runAgent(t, name, "stop", p, op) })
		wantCode(t, "start", runAgent(t, name, "start", p, runOpts{timeoutMS: 4000}), ocf.ErrGeneric,
			"did not answer within", "no answer in")
		wantCode(t, "monitor", runAgent(t, name, "monitor", p, runOpts{timeoutMS: 1500, intervalMS: 10000}), ocf.ErrGeneric, "no answer in")
		// probe_timeout: a hung service fails on probe_timeout, not at the deadline
		wantCode(t, "monitor", runAgent(t, name, "monitor", merge(p, map[string]string{"probe_timeout": "300ms"}),
			runOpts{timeoutMS: 60000, intervalMS: 10000}), ocf.ErrGeneric, "(probe_timeout 300ms): the service hangs")
		wantCode(t, "stop", runAgent(t, name, "stop", p, op), ocf.Success)
	})

	t.Run("ignores SIGTERM", func(t *testing.T) {
		dir := t.TempDir()
		p, _ := fakeParams(t, dir, "stubborn")
		wantCode(t, "start", runAgent(t, name, "start", p, op), ocf.Success)
		pid := pidOf(t, p["pidfile"])
		wantCode(t, "stop", runAgent(t, name, "stop", p, runOpts{timeoutMS: 3000}), ocf.Success)
		if _, ok := alive(pid); ok {
			t.Errorf("pid %d survived stop", pid)
		}
	})

	// A hung service (SIGSTOP) cannot act on SIGTERM until it is continued:
	// stop sends SIGCONT after SIGTERM, so it ends cleanly rather than
	// waiting out the stop timeout for SIGKILL.
	t.Run("stopped by SIGSTOP", func(t *testing.T) {
		dir := t.TempDir()
		p, _ := fakeParams(t, dir, "graceful")
		t.Cleanup(func() { runAgent(t, name, "stop", p, op) })
		wantCode(t, "start", runAgent(t, name, "start", p, op), ocf.Success)
		pid := pidOf(t, p["pidfile"])
		syscall.Kill(pid, syscall.SIGSTOP)
		wantCode(t, "stop", runAgent(t, name, "stop", p, op), ocf.Success)
		if _, ok := alive(pid); ok {
			t.Errorf("pid %d survived stop", pid)
		}
		log, _ := os.ReadFile(p["log_file"])
		if !strings.Contains(string(log), "helper: SIGTERM handled") {
			t.Errorf("the stopped service did not get to handle SIGTERM (killed instead); log:\n%s", log)
		}
	})

	t.Run("worker in the session", func(t *testing.T) {
		dir := t.TempDir()
		p, _ := fakeParams(t, dir, "fork")
		t.Cleanup(func() { runAgent(t, name, "stop", p, op) })
		wantCode(t, "start", runAgent(t, name, "start", p, op), ocf.Success)
		pid := pidOf(t, p["pidfile"])
		procs := waitSession(t, pid, 2)
		// the leader dies alone: its worker is left behind
		syscall.Kill(pid, syscall.SIGKILL)
		waitDead(t, pid)
		wantCode(t, "monitor", runAgent(t, name, "monitor", p, mon), ocf.NotRunning)
		wantCode(t, "stop", runAgent(t, name, "stop", p, runOpts{timeoutMS: 3000}), ocf.Success)
		for _, q := range procs {
			if _, ok := alive(q); ok {
				t.Errorf("pid %d of the session survived stop", q)
			}
		}
	})

	t.Run("worker in a process group of its own", func(t *testing.T) {
		dir := t.TempDir()
		p, _ := fakeParams(t, dir, "fork-group")
		t.Cleanup(func() { runAgent(t, name, "stop", p, op) })
		wantCode(t, "start", runAgent(t, name, "start", p, op), ocf.Success)
		procs := waitSession(t, pidOf(t, p["pidfile"]), 2)
		wantCode(t, "stop", runAgent(t, name, "stop", p, runOpts{timeoutMS: 3000}), ocf.Success)
		for _, q := range procs {
			if _, ok := alive(q); ok {
				t.Errorf("pid %d of the session survived stop", q)
			}
		}
	})

	// docs/security.md, "Processes": the record that makes a pid ours is root's, in the
	// state directory; nothing next to the pidfile is trusted, and a record
	// whose process differs in start time, owner or session is not ours
	// either. The victim is a root process in a session of its own. A
	// record that cannot be read fails stop and monitor (finding 8).
	t.Run("pid not ours", func(t *testing.T) {
		dir := t.TempDir()
		p, _ := fakeParams(t, dir, "serve")
		victim := exec.Command("sleep", "60")
		victim.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
		if err := victim.Start(); err != nil {
			t.Fatal(err)
		}
		defer func() { victim.Process.Kill(); victim.Wait() }()
		pid := victim.Process.Pid
		good, err := instance.Identify(pid, false)
		if err != nil {
			t.Fatal(err)
		}
		// nobody owns the pidfile's directory and plants the pidfile there
		run := filepath.Dir(p["pidfile"])
		os.MkdirAll(run, 0o755)
		os.Chown(run, 65534, 65534)
		os.WriteFile(p["pidfile"], []byte(strconv.Itoa(pid)+"\n"), 0o644)
		os.Chown(p["pidfile"], 65534, 65534)
		self, err := instance.Identify(os.Getpid(), false)
		if err != nil {
			t.Fatal(err)
		}
		self.Session = self.PID // as a record of a session leader would say
		with := func(f func(id *instance.Identity)) *instance.Identity {
			id := good
			f(&id)
			return &id
		}
		cases := map[string]*instance.Identity{
			"no record":           nil,
			"other start time":    with(func(id *instance.Identity) { id.Start++ }),
			"other owner":         with(func(id *instance.Identity) { id.UID = 65534 }),
			"not its own session": &self,
		}
		for what, id := range cases {
			removeRecord(testInstance, name)
			if id != nil {
				if err := saveRecord(testInstance, name, &record{Mode: ModeProcess, Process: id, PIDFile: p["pidfile"]}); err != nil {
					t.Fatal(err)
				}
			}
			wantCode(t, what+": monitor", runAgent(t, name, "monitor", p, mon), ocf.NotRunning)
			wantCode(t, what+": stop", runAgent(t, name, "stop", p, op), ocf.Success)
			if _, ok := alive(pid); !ok {
				t.Fatalf("%s: stop signalled pid %d, which is not ours", what, pid)
			}
		}
		// a record that does not parse: monitor and stop fail, and signal nothing
		os.MkdirAll(filepath.Dir(recordPath(name)), 0o700)
		os.WriteFile(recordPath(name), []byte("{"), 0o600)
		wantCode(t, "garbage: monitor", runAgent(t, name, "monitor", p, mon), ocf.ErrGeneric, "record")
		wantCode(t, "garbage: stop", runAgent(t, name, "stop", p, op), ocf.ErrGeneric, "record")
		// the right record, but in a state directory others can write:
		// nothing in it can be ours
		saveRecord(testInstance, name, &record{Mode: ModeProcess, Process: &good, PIDFile: p["pidfile"]})
		os.Chmod(filepath.Dir(recordPath(name)), 0o777)
		defer os.Chmod(filepath.Dir(recordPath(name)), 0o700)
		wantCode(t, "writable state directory: stop", runAgent(t, name, "stop", p, op), ocf.Success)
		wantCode(t, "writable state directory: stop, invalid parameters",
			runAgent(t, name, "stop", merge(p, map[string]string{"probe_timeout": "500s"}), op), ocf.ErrGeneric, "not trusted")
		if _, ok := alive(pid); !ok {
			t.Fatalf("stop trusted a record in a directory others can write and signalled pid %d", pid)
		}
		os.Chmod(filepath.Dir(recordPath(name)), 0o700)
		os.Remove(recordPath(name))
		if _, ok := alive(pid); !ok {
			t.Fatalf("pid %d was signalled", pid)
		}
	})

	t.Run("someone else answers at the url", func(t *testing.T) {
		dir := t.TempDir()
		p, _ := fakeParams(t, dir, "serve")
		p["url"] = versionServer(t, 300, keystoneDoc)
		wantCode(t, "start", runAgent(t, name, "start", p, op), ocf.ErrGeneric, "not started by this agent already answers at")
		if _, err := os.Stat(p["pidfile"]); !os.IsNotExist(err) {
			t.Errorf("start left a pidfile: %v", err)
		}
		wantCode(t, "stop", runAgent(t, name, "stop", p, op), ocf.Success)
	})

	t.Run("not installed", func(t *testing.T) {
		dir := t.TempDir()
		p, _ := fakeParams(t, dir, "serve")
		p["binary"] = "/nonexistent/sho-api"
		wantCode(t, "probe", runAgent(t, name, "monitor", p, runOpts{timeoutMS: 5000}), ocf.NotRunning)
		wantCode(t, "start", runAgent(t, name, "start", p, op), ocf.ErrInstalled, "/nonexistent/sho-api")
		wantCode(t, "validate-all", runAgent(t, name, "validate-all", p, op), ocf.ErrInstalled)
		wantCode(t, "stop", runAgent(t, name, "stop", p, op), ocf.Success)
		q, _ := fakeParams(t, dir, "serve")
		q["user"] = "sho-no-such-user"
		wantCode(t, "start as a missing user", runAgent(t, name, "start", q, op), ocf.ErrInstalled, "sho-no-such-user")
	})
}

// An upgrade without a reboot: what a stackha from before the instance
// layer started, recorded in <agent>.stackha, is still found, probed and
// stopped, from its pid, start time, owner and session.
func TestLegacyRecord(t *testing.T) {
	require.Root(t)
	const name = "sho-fake-api"
	op := runOpts{timeoutMS: 10000}
	p, port := fakeParams(t, t.TempDir(), "serve")
	killLeft(t, strconv.Itoa(port))
	wantCode(t, "start", runAgent(t, name, "start", p, op), ocf.Success)
	rec, err := loadRecord(testInstance, name)
	if err != nil || rec == nil {
		t.Fatalf("record: %v", err)
	}
	id := rec.Process
	old := fmt.Sprintf(`{"pid":%d,"start_time":%d,"exe":"/usr/bin/env","uid":%d,"gid":%d,"sid":%d,"argv":["x"],"pidfile":%q,"started":"2026-12-01T00:00:00Z"}`,
		id.PID, id.Start, id.UID, rec.GID, id.Session, rec.PIDFile)
	legacy := filepath.Join(instance.StateDir(testInstance), name+".stackha")
	writeLegacy := func(b string) {
		t.Helper()
		if err := instance.Remove(testInstance, recordKind(name)); err != nil {
			t.Fatal(err)
		}
		d, err := instance.OpenState(testInstance, true)
		if err != nil {
			t.Fatal(err)
		}
		defer d.Close()
		if err := d.WriteAtomic(name+".stackha", []byte(b), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	writeLegacy(old)
	wantCode(t, "probe", runAgent(t, name, "monitor", p, runOpts{timeoutMS: 5000}), ocf.Success)
	wantCode(t, "probe, invalid parameters", runAgent(t, name, "monitor", merge(p, map[string]string{"os_password": "x"}), runOpts{timeoutMS: 5000}),
		ocf.ErrGeneric, "configuration is invalid")
	wantCode(t, "stop", runAgent(t, name, "stop", p, op), ocf.Success)
	if left := helperProcs(t, strconv.Itoa(port)); len(left) > 0 {
		t.Errorf("%v still run after stop", left)
	}
	if _, err := os.Lstat(legacy); !os.IsNotExist(err) {
		t.Errorf("the earlier record is still there after stop: %v", err)
	}
	// one that does not parse fails the stop, with the reason
	writeLegacy("{")
	t.Cleanup(func() { removeRecord(testInstance, name) })
	wantCode(t, "stop, broken earlier record", runAgent(t, name, "stop", p, op), ocf.ErrGeneric, "earlier stackha")
}

func waitDead(t *testing.T, pid int) {
	t.Helper()
	for i := 0; i < 200; i++ {
		if _, ok := alive(pid); !ok {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("pid %d does not die", pid)
}

func waitSession(t *testing.T, sid, n int) []int {
	t.Helper()
	for i := 0; i < 300; i++ {
		if ps := sessionPIDs(t, sid); len(ps) >= n {
			return ps
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("session %d never had %d processes: %v", sid, n, sessionPIDs(t, sid))
	return nil
}

// TestUWSGIStop: stop of a uwsgi sends its master SIGINT, never SIGTERM
// (which reloads a uwsgi without die-on-term), and kills what is left of
// the session when a worker hangs in its teardown (Debian 12's uwsgi with
// keystone), well within the stop's timeout.
func TestUWSGIStop(t *testing.T) {
	require.Root(t)
	const name = "sho-fake-uwsgi"
	dir := t.TempDir()
	p, port := fakeParams(t, dir, "uwsgi")
	self, _ := os.Executable()
	prog := filepath.Join(dir, "uwsgi-sho")
	os.WriteFile(prog, []byte(fmt.Sprintf("#!/bin/sh\nexec %s -test.run=^TestHelperService$ -- uwsgi %d\n", self, port)), 0o755)
	ini := filepath.Join(dir, "sho-uwsgi.ini")
	os.WriteFile(ini, []byte("[uwsgi]\nmaster = true\n"), 0o644)
	extra := filepath.Join(dir, "sho-workers.ini")
	os.WriteFile(extra, []byte("[uwsgi]\nprocesses = 2\n"), 0o644)
	delete(p, "extra_args")
	p["binary"], p["uwsgi_ini"], p["bind_host"], p["port"] = prog, ini, "127.0.0.1", strconv.Itoa(port)
	p["extra_ini"] = extra
	op := runOpts{timeoutMS: 30000}
	t.Cleanup(func() { runAgent(t, name, "stop", p, op) })
	// an extra_ini the service user could write is refused before uwsgi runs
	os.Chown(extra, nobody, nobody)
	wantCode(t, "start, extra_ini not root's", runAgent(t, name, "start", p, op), ocf.ErrInstalled, "extra_ini")
	os.Chown(extra, 0, 0)
	wantCode(t, "start", runAgent(t, name, "start", p, op), ocf.Success)
	pid := pidOf(t, p["pidfile"])
	rec, err := loadRecord(testInstance, name)
	if err != nil || rec == nil || !rec.UWSGI {
		t.Fatalf("record: %v %+v", err, rec)
	}
	if argv := strings.Join(rec.Argv, " "); !strings.Contains(argv, "--ini "+ini+" --ini "+extra) {
		t.Errorf("argv %s: want --ini %s --ini %s", argv, ini, extra)
	}
	cmd, _ := procFile(pid, "cmdline")
	if !strings.Contains(string(cmd), "\x00uwsgi\x00") {
		t.Fatalf("pid %d runs %q", pid, cmd)
	}
	procs := sessionPIDs(t, pid)
	if len(procs) != 2 {
		t.Fatalf("session of pid %d: %v, want the master and its worker", pid, procs)
	}
	wantCode(t, "stop", runAgent(t, name, "stop", p, op), ocf.Success)
	for _, q := range procs {
		if _, ok := alive(q); ok {
			t.Errorf("pid %d of the session survived stop", q)
		}
	}
	log, _ := os.ReadFile(p["log_file"])
	if !strings.Contains(string(log), "master got interrupt") || strings.Contains(string(log), "master got terminated") {
		t.Errorf("the master did not get SIGINT alone:\n%s", log)
	}
}
