package haproxy

import (
	"fmt"
	"net"
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
	"github.com/stackha/stackha/internal/testutil/haproxytest"
	"github.com/stackha/stackha/internal/testutil/require"
	"github.com/stackha/stackha/ocf"
)

func TestLifecycleAndMonitorDepths(t *testing.T) {
	r := newRig(t)
	r.must("validate-all", ocf.Success)
	r.must("monitor", ocf.NotRunning)
	r.must("monitor", ocf.NotRunning, "OCF_RESKEY_CRM_meta_interval=0")
	r.must("start", ocf.Success)
	pl := r.procList()
	r.must("start", ocf.Success) // idempotent: the same master keeps running
	if again := r.procList(); again.Master.PID != pl.Master.PID || again.Workers[0].PID != pl.Workers[0].PID {
		t.Fatalf("a second start changed the processes: %+v -> %+v", pl, again)
	}
	if b, err := r.get(r.fePort, ""); err != nil || (b != "s1\n" && b != "s2\n") {
		t.Fatalf("request through haproxy: %q %v", b, err)
	}
	r.must("monitor", ocf.Success, "OCF_RESKEY_CRM_meta_interval=10000")
	eventually(t, 5*time.Second, "depth 10 with both backends up", func() error {
		if code, out := r.run("monitor", "OCF_CHECK_LEVEL=10"); code != ocf.Success {
			return fmt.Errorf("exit %d: %s", code, out)
		}
		return nil
	})

	// The backend pair goes down: depth 0 still passes, depth 10 names it.
	r.be[0].down()
	r.be[1].down()
	eventually(t, 5*time.Second, "depth 10 with the backend down", func() error {
		code, out := r.run("monitor", "OCF_CHECK_LEVEL=10")
		if code != ocf.ErrGeneric || !strings.Contains(out, "shh-api") || !strings.Contains(out, "ocf-exit-reason:") {
			return fmt.Errorf("exit %d: %s", code, out)
		}
		return nil
	})
	r.must("monitor", ocf.Success)
	// One server back is enough.
	r.be[1].up(t)
	eventually(t, 5*time.Second, "depth 10 with one server back", func() error {
		if code, out := r.run("monitor", "OCF_CHECK_LEVEL=10"); code != ocf.Success {
			return fmt.Errorf("exit %d: %s", code, out)
		}
		return nil
	})
	// A stats socket that does not answer: the worker is asked through the
	// master instead, and the log says so.
	code, out := r.run("monitor", "OCF_CHECK_LEVEL=10", "OCF_RESKEY_stats_socket="+filepath.Join(r.dir, "nope.sock"))
	if code != ocf.Success || !strings.Contains(out, "nope.sock") {
		t.Fatalf("depth 10 with a wrong stats_socket: %d %s", code, out)
	}
	// A backend the parameter names that does not exist is a configuration
	// error for validate-all.
	code, out = r.run("validate-all", "OCF_RESKEY_check_level_10_backends=shh-api,nosuch")
	if code != ocf.ErrConfigured || !strings.Contains(out, "nosuch") {
		t.Fatalf("validate-all with an unknown backend: %d %s", code, out)
	}

	r.must("stop", ocf.Success)
	if left := r.left(); len(left) > 0 {
		t.Fatalf("processes after stop: %v", left)
	}
	r.must("monitor", ocf.NotRunning)
	r.must("stop", ocf.Success)
}

func TestMonitorThroughMasterWithoutStatsSocket(t *testing.T) {
	r := newRig(t)
	r.writeConfig(cfgOpts{NoStats: true})
	r.must("start", ocf.Success)
	defer r.must("stop", ocf.Success)
	eventually(t, 5*time.Second, "depth 10 through the master", func() error {
		if code, out := r.run("monitor", "OCF_CHECK_LEVEL=10"); code != ocf.Success {
			return fmt.Errorf("exit %d: %s", code, out)
		}
		return nil
	})
	r.be[0].down()
	r.be[1].down()
	eventually(t, 5*time.Second, "depth 10 through the master, backend down", func() error {
		if code, out := r.run("monitor", "OCF_CHECK_LEVEL=10"); code != ocf.ErrGeneric || !strings.Contains(out, "shh-api") {
			return fmt.Errorf("exit %d: %s", code, out)
		}
		return nil
	})
	o := r.newOp()
	worker := r.procList().Workers[0].PID
	out, err := o.runtimeQuery(t.Context(), worker, "show stat")
	if err != nil || !strings.Contains(out, "shh-fe,FRONTEND") {
		t.Fatalf("show stat through the master: %v\n%s", err, out)
	}
}

func TestReload(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts cfgOpts
	}{
		// The operator's own defaults section: the agent restores the state
		// on the new worker over the runtime API.
		{"own defaults section", cfgOpts{}},
		// No defaults section: haproxy loads the state file itself.
		{"no defaults section", cfgOpts{NoDefaults: true}},
		// The operator asks for the state file in its defaults.
		{"defaults loading the state", cfgOpts{StateFromGlobal: true}},
		// The operator names the state file: the agent uses that one.
		{"operator's state file", cfgOpts{StateFromGlobal: true, OwnStateFile: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t)
			r.writeConfig(tc.opts)
			r.must("start", ocf.Success)
			defer r.must("stop", ocf.Success)
			before := r.procList()
			if out := strings.TrimSpace(r.stats("set server shh-api/s2 state maint")); out != "" {
				t.Fatalf("set server: %q", out)
			}
			if out := strings.TrimSpace(r.stats("set server shh-api/s1 weight 7")); out != "" {
				t.Fatalf("set weight: %q", out)
			}

			// A good new configuration: a second frontend.
			o := tc.opts
			o.SecondFrontend = true
			r.writeConfig(o)
			r.must("reload", ocf.Success)
			after := r.procList()
			if after.Master.PID != before.Master.PID || after.Workers[0].PID == before.Workers[0].PID {
				t.Fatalf("reload: %+v -> %+v", before, after)
			}
			if b, err := r.get(r.fe2Port, ""); err != nil || b != "s1\n" {
				t.Fatalf("the new frontend: %q %v (s2 in maintenance: only s1 answers)", b, err)
			}
			dump := r.stats("show servers state shh-api")
			if a := serverAdmin(t, dump, "s2"); a&adminForcedMaint == 0 {
				t.Fatalf("s2 left maintenance across the reload: admin state %d\n%s", a, dump)
			}
			ss, _ := ParseServersState(dump)
			for _, s := range ss {
				if s.Server == "s1" && s.UserWeight != 7 {
					t.Fatalf("s1 weight %d after the reload, want 7", s.UserWeight)
				}
			}
			r.must("monitor", ocf.Success)
			if tc.opts.OwnStateFile {
				b, err := os.ReadFile(filepath.Join(r.dir, "operator.state"))
				if err != nil || !strings.Contains(string(b), "shh-api") {
					t.Fatalf("the operator's state file after the reload: %v %q", err, b)
				}
			}

			// A rejected configuration: exit 6, the running worker untouched.
			o.Broken = true
			r.writeConfig(o)
			code, out := r.run("reload")
			if code != ocf.ErrConfigured || !strings.Contains(out, "this-is-no-keyword") {
				t.Fatalf("reload of a bad config: %d\n%s", code, out)
			}
			if still := r.procList(); still.Workers[0].PID != after.Workers[0].PID || still.Master.Reloads != after.Master.Reloads {
				t.Fatalf("a rejected reload touched haproxy: %+v -> %+v", after, still)
			}
			if _, err := r.get(r.fePort, ""); err != nil {
				t.Fatalf("serving after a rejected reload: %v", err)
			}
			o.Broken = false
			r.writeConfig(o)
		})
	}
}

func TestConfigDirectoryAndFileList(t *testing.T) {
	r := newRig(t)
	r.writeConfig(cfgOpts{})
	whole, err := os.ReadFile(r.cfg)
	if err != nil {
		t.Fatal(err)
	}
	// Split the rig's configuration at the first frontend: base + proxies.
	text := string(whole)
	i := strings.Index(text, "frontend ")
	dir := filepath.Join(r.dir, "conf.d")
	os.Mkdir(dir, 0o755)
	os.WriteFile(filepath.Join(dir, "00-base.cfg"), []byte(text[:i]), 0o644)
	os.WriteFile(filepath.Join(dir, "10-api.cfg"), []byte(text[i:]), 0o644)
	os.WriteFile(filepath.Join(dir, "README"), []byte("not a config\n"), 0o644)

	r.must("validate-all", ocf.Success, "OCF_RESKEY_config="+dir)
	r.must("start", ocf.Success, "OCF_RESKEY_config="+dir)
	pl := r.procList()
	pi, err := readProc(pl.Master.PID)
	conf := filepath.Join(instance.StateDir(r.instance), "conf")
	if err != nil || !strings.Contains(strings.Join(pi.Argv, " "), "-f "+conf) {
		t.Fatalf("master command line %q (%v)", pi.Argv, err)
	}
	// haproxy reads the generated file, then the directory's *.cfg files
	// in order, through the agent's links.
	ents, _ := os.ReadDir(conf)
	var got []string
	for _, e := range ents {
		target, _ := os.Readlink(filepath.Join(conf, e.Name()))
		got = append(got, e.Name()+">"+target)
	}
	if want := []string{"0000-stackha.cfg>", "0001-00-base.cfg>" + filepath.Join(dir, "00-base.cfg"), "0002-10-api.cfg>" + filepath.Join(dir, "10-api.cfg")}; strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("configuration directory %v, want %v", got, want)
	}
	eventually(t, 5*time.Second, "depth 10 with a config directory", func() error {
		if code, out := r.run("monitor", "OCF_CHECK_LEVEL=10", "OCF_RESKEY_config="+dir); code != ocf.Success {
			return fmt.Errorf("exit %d: %s", code, out)
		}
		return nil
	})
	r.must("reload", ocf.Success, "OCF_RESKEY_config="+dir)
	r.must("stop", ocf.Success, "OCF_RESKEY_config="+dir)

	// The same as a list of two files.
	list := filepath.Join(dir, "00-base.cfg") + ", " + filepath.Join(dir, "10-api.cfg")
	r.must("start", ocf.Success, "OCF_RESKEY_config="+list)
	if _, err := r.get(r.fePort, ""); err != nil {
		t.Fatalf("request with a file list: %v", err)
	}
	r.must("stop", ocf.Success, "OCF_RESKEY_config="+list)
}

func TestReloadThatHaproxyRejects(t *testing.T) {
	r := newRig(t)
	r.must("start", ocf.Success)
	defer r.must("stop", ocf.Success)
	before := r.procList()
	// haproxy -c accepts it, but the new generation cannot bind a port
	// another program holds: the master reports a failed reload.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	r.writeConfig(cfgOpts{ExtraBind: l.Addr().String()})
	code, out := r.run("reload")
	if code != ocf.ErrGeneric || !strings.Contains(out, "failed reload") {
		t.Fatalf("reload that cannot bind: %d %s", code, out)
	}
	if b, err := r.get(r.fePort, ""); err != nil {
		t.Fatalf("the previous workers stopped serving: %q %v", b, err)
	}
	after := r.procList()
	if after.Master.PID != before.Master.PID || after.Master.Failed != before.Master.Failed+1 {
		t.Fatalf("show proc after the failed reload: %+v", after)
	}
	// The next good reload recovers.
	r.writeConfig(cfgOpts{})
	r.must("reload", ocf.Success)
	r.must("monitor", ocf.Success)
}

func TestReloadChangedCommandLineRestarts(t *testing.T) {
	r := newRig(t)
	r.must("start", ocf.Success)
	defer r.must("stop", ocf.Success)
	before := r.procList()
	r.must("reload", ocf.Success, "OCF_RESKEY_extra_args=-dr")
	after := r.procList()
	if after.Master.PID == before.Master.PID {
		t.Fatal("a changed command line was reloaded in place")
	}
	// Another binary: the running master cannot re-execute into it.
	copyBin := filepath.Join(r.dir, "haproxy-copy")
	data, err := os.ReadFile(haproxyBin)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(copyBin, data, 0o755); err != nil {
		t.Fatal(err)
	}
	r.must("reload", ocf.Success, "OCF_RESKEY_extra_args=-dr", "OCF_RESKEY_binary="+copyBin)
	moved := r.procList()
	if moved.Master.PID == after.Master.PID {
		t.Fatal("a changed binary was reloaded in place")
	}
	if pi, err := readProc(moved.Master.PID); err != nil || pi.Exe != copyBin {
		t.Fatalf("the master runs %q (%v), want %s", pi.Exe, err, copyBin)
	}
	// The default binary again: the copy's processes are found and stopped.
	r.must("reload", ocf.Success, "OCF_RESKEY_extra_args=-dr")
	if back := r.procList(); back.Master.PID == moved.Master.PID {
		t.Fatal("the binary change back was not applied")
	}
	code, out := r.run("start", "OCF_RESKEY_extra_args=-p /tmp/x")
	if code != ocf.ErrConfigured || !strings.Contains(out, "-p") {
		t.Fatalf("extra_args with -p: %d %s", code, out)
	}
}

func TestStopWithOpenConnections(t *testing.T) {
	r := newRig(t)
	r.must("start", ocf.Success)
	// Requests in flight finish during the soft stop.
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			b, err := r.get(r.fePort, "?sleep_ms=1500")
			if err == nil && b != "s1\n" && b != "s2\n" {
				err = fmt.Errorf("body %q", b)
			}
			errs <- err
		}()
	}
	r.waitSessions(4)
	start := time.Now()
	r.must("stop", ocf.Success, "OCF_RESKEY_stop_timeout=10s")
	took := time.Since(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("a request in flight failed during the soft stop: %v", err)
		}
	}
	if left := r.left(); len(left) > 0 {
		t.Fatalf("processes after stop: %v", left)
	}
	t.Logf("soft stop with requests in flight took %s", took)

	// A connection that never finishes: the soft stop gives up at
	// stop_timeout and the processes are terminated.
	r.must("start", ocf.Success)
	hung := make(chan error, 1)
	go func() { _, err := r.get(r.fePort, "?sleep_ms=60000"); hung <- err }()
	r.waitSessions(1)
	r.must("stop", ocf.Success, "OCF_RESKEY_stop_timeout=1s")
	if left := r.left(); len(left) > 0 {
		t.Fatalf("processes after stop: %v", left)
	}
	if err := <-hung; err == nil {
		t.Error("the endless request succeeded: was haproxy really stopped?")
	}
}

func TestKilledMaster(t *testing.T) {
	r := newRig(t)
	r.must("start", ocf.Success)
	pl := r.procList()
	// A worker that cannot notice its master's death (stopped) outlives it:
	// the monitor must call that a failure, and stop must clear it.
	worker := pl.Workers[0].PID
	if err := syscall.Kill(worker, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(pl.Master.PID, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, "monitor after kill -9 of the master", func() error {
		code, out := r.run("monitor", "OCF_RESKEY_CRM_meta_interval=10000")
		if code != ocf.ErrGeneric || !strings.Contains(out, "master is gone") || !strings.Contains(out, strconv.Itoa(worker)) {
			return fmt.Errorf("exit %d: %s", code, out)
		}
		return nil
	})
	r.must("stop", ocf.Success, "OCF_RESKEY_stop_timeout=1s")
	if left := r.left(); len(left) > 0 {
		t.Fatalf("processes after stop: %v", left)
	}

	// A plain kill -9: the workers follow their master, and the monitor
	// reports the instance down, naming the dead master.
	r.must("start", ocf.Success)
	master := r.procList().Master.PID
	if err := syscall.Kill(master, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, "monitor after kill -9 of the master", func() error {
		code, out := r.run("monitor", "OCF_RESKEY_CRM_meta_interval=10000")
		switch {
		case code == ocf.ErrGeneric && strings.Contains(out, "master is gone"):
			return nil
		case code == ocf.NotRunning && strings.Contains(out, strconv.Itoa(master)):
			return nil
		}
		return fmt.Errorf("exit %d after the master was killed: %s", code, out)
	})
	r.must("stop", ocf.Success)
	if left := r.left(); len(left) > 0 {
		t.Fatalf("processes after stop: %v", left)
	}
	r.must("start", ocf.Success)
	r.must("monitor", ocf.Success)
	r.must("stop", ocf.Success)
}

func TestHungMaster(t *testing.T) {
	r := newRig(t)
	r.must("start", ocf.Success)
	master := r.procList().Master.PID
	if err := syscall.Kill(master, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	defer syscall.Kill(master, syscall.SIGCONT)
	code, out := r.run("monitor", "OCF_RESKEY_CRM_meta_interval=10000")
	if code != ocf.ErrGeneric || !strings.Contains(out, "does not answer") {
		t.Fatalf("monitor of a hung master: %d %s", code, out)
	}
	start := time.Now()
	r.must("stop", ocf.Success, "OCF_RESKEY_stop_timeout=1s")
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("stop of a hung master took %s", took)
	}
	if left := r.left(); len(left) > 0 {
		t.Fatalf("processes after stop: %v", left)
	}
}

func TestStalePidfileIsNeverSignalled(t *testing.T) {
	r := newRig(t)
	// An unrelated process whose pid the pid file names, and which ignores
	// nothing: any signal the agent sent would end it.
	other := exec.Command("/bin/sleep", "300")
	if err := other.Start(); err != nil {
		t.Fatal(err)
	}
	defer other.Process.Kill()
	exited := make(chan error, 1)
	go func() { exited <- other.Wait() }()
	pidfile := r.env["OCF_RESKEY_pidfile"]
	if err := os.WriteFile(pidfile, []byte(strconv.Itoa(other.Process.Pid)+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out := r.run("monitor")
	if code != ocf.NotRunning {
		t.Fatalf("monitor with a stale pid file: %d %s", code, out)
	}
	r.must("stop", ocf.Success)
	r.must("start", ocf.Success)
	if pid, _ := readPidfile(pidfile); pid == other.Process.Pid {
		t.Fatal("start kept the stale pid file")
	}
	r.must("stop", ocf.Success)
	// And a pid file naming this instance's master after it was replaced by
	// an unrelated process: still not ours.
	os.WriteFile(pidfile, []byte(strconv.Itoa(other.Process.Pid)), 0o644)
	r.must("stop", ocf.Success)
	select {
	case err := <-exited:
		t.Fatalf("the unrelated process was signalled: %v", err)
	case <-time.After(200 * time.Millisecond):
	}
	if err := syscall.Kill(other.Process.Pid, 0); err != nil {
		t.Fatalf("the unrelated process is gone: %v", err)
	}
}

func TestStartFailures(t *testing.T) {
	r := newRig(t)

	// A rejected configuration: 6 with haproxy's first error line.
	r.writeConfig(cfgOpts{Broken: true})
	code, out := r.run("start")
	if code != ocf.ErrConfigured || !strings.Contains(out, "this-is-no-keyword") || !strings.Contains(out, r.cfg) {
		t.Fatalf("start with a bad config: %d %s", code, out)
	}
	code, _ = r.run("validate-all")
	if code != ocf.ErrConfigured {
		t.Fatalf("validate-all with a bad config: %d", code)
	}
	r.writeConfig(cfgOpts{})

	// A configuration file missing on this node: 5.
	code, out = r.run("start", "OCF_RESKEY_config="+filepath.Join(r.dir, "missing.cfg"))
	if code != ocf.ErrInstalled || !strings.Contains(out, "missing.cfg") {
		t.Fatalf("start with a missing config: %d %s", code, out)
	}
	// No haproxy on this node: start 5, probe 7.
	code, _ = r.run("start", "OCF_RESKEY_binary=/nonexistent/haproxy")
	if code != ocf.ErrInstalled {
		t.Fatalf("start without the binary: %d", code)
	}
	r.must("monitor", ocf.NotRunning, "OCF_RESKEY_binary=/nonexistent/haproxy", "OCF_RESKEY_CRM_meta_interval=0")
	// A relative path is wrong everywhere.
	if code, _ = r.run("validate-all", "OCF_RESKEY_config=haproxy.cfg"); code != ocf.ErrConfigured {
		t.Fatalf("relative config: %d", code)
	}

	// A port another program holds: haproxy's own message, and nothing
	// left running.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	r.writeConfig(cfgOpts{ExtraBind: l.Addr().String()})
	code, out = r.run("start")
	if code != ocf.ErrGeneric || !strings.Contains(out, "cannot bind socket") {
		t.Fatalf("start with a port in use: %d %s", code, out)
	}
	if left := r.left(); len(left) > 0 {
		t.Fatalf("a failed start left processes: %v", left)
	}
	r.must("monitor", ocf.NotRunning)
	r.must("stop", ocf.Success)
}

func TestNonLocalBind(t *testing.T) {
	r := newRig(t)
	on, err := nonlocalBind(false)
	if err != nil {
		t.Fatal(err)
	}
	if on {
		t.Skip("net.ipv4.ip_nonlocal_bind is 1 on this host: every address binds")
	}
	// 192.0.2.45 (TEST-NET-1) is on no interface here: nothing is sent to it.
	r.writeConfig(cfgOpts{ExtraBind: "192.0.2.45:" + strconv.Itoa(r.fe2Port)})
	// validate-all only warns: the VIP may arrive before haproxy starts.
	out := r.must("validate-all", ocf.Success)
	if !strings.Contains(out, "192.0.2.45") || !strings.Contains(out, "haproxy.cfg:") || !strings.Contains(out, "ip_nonlocal_bind=1") {
		t.Fatalf("validate-all did not report the bind line: %s", out)
	}
	code, out := r.run("start")
	if code != ocf.ErrGeneric || !strings.Contains(out, "cannot bind socket") || !strings.Contains(out, "transparent") {
		t.Fatalf("start with a non-local bind: %d %s", code, out)
	}
	if left := r.left(); len(left) > 0 {
		t.Fatalf("a failed start left processes: %v", left)
	}
	// "transparent" on the line: not reported.
	r.writeConfig(cfgOpts{ExtraBind: "192.0.2.45:" + strconv.Itoa(r.fe2Port) + " transparent"})
	if out := r.must("validate-all", ocf.Success); strings.Contains(out, "192.0.2.45") {
		t.Fatalf("a transparent bind was reported: %s", out)
	}
	// A running haproxy is not reloaded into a configuration it cannot bind.
	r.writeConfig(cfgOpts{})
	r.must("start", ocf.Success)
	defer r.must("stop", ocf.Success)
	before := r.procList()
	r.writeConfig(cfgOpts{ExtraBind: "192.0.2.45:" + strconv.Itoa(r.fe2Port)})
	code, out = r.run("reload")
	if code != ocf.ErrGeneric || !strings.Contains(out, "untouched") {
		t.Fatalf("reload with a non-local bind: %d %s", code, out)
	}
	if after := r.procList(); after.Workers[0].PID != before.Workers[0].PID {
		t.Fatal("the refused reload replaced the worker")
	}
	r.writeConfig(cfgOpts{})
}

func TestOCFTester(t *testing.T) {
	newRig(t) // root and haproxy, or skip
	require.Command(t, "ocf-tester")
	dir, err := os.MkdirTemp("/tmp", "shh-tester-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	os.Chmod(dir, 0o755)
	bin := filepath.Join(dir, "haproxy")
	build := exec.Command("go", "build", "-o", bin, "github.com/stackha/stackha/cmd/stackha")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	sb, err := haproxytest.Sandbox(t.Context(), dir)
	if err != nil {
		t.Fatal(err)
	}
	defer sb.Cleanup()
	// The binary keeps its state in the real state root.
	defer os.RemoveAll(filepath.Join(realRoot, "shh-tester"))
	args := []string{"-n", "shh-tester", "-o", "config=" + sb.Params["config"],
		"-o", "pidfile=" + sb.Params["pidfile"], "-o", "master_socket=" + sb.Params["master_socket"], bin}
	out, err := exec.CommandContext(t.Context(), "ocf-tester", args...).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "passed all tests") {
		t.Fatalf("ocf-tester %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	if left := haproxytest.BySocket(sb.Params["master_socket"]); len(left) > 0 {
		t.Fatalf("ocf-tester left processes: %v", left)
	}
}

func TestPidfileRemovedWhileRunning(t *testing.T) {
	r := newRig(t)
	r.must("start", ocf.Success)
	os.Remove(r.env["OCF_RESKEY_pidfile"])
	// The master still answers on its socket and /proc confirms it.
	out := r.must("monitor", ocf.Success)
	if !strings.Contains(out, "does not name the master") {
		t.Errorf("monitor did not mention the missing pid file: %s", out)
	}
	r.must("stop", ocf.Success)
	if left := r.left(); len(left) > 0 {
		t.Fatalf("processes after stop: %v", left)
	}
}
