package haproxy

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/stackha/stackha/instance"
	"github.com/stackha/stackha/ocf"
)

// The security review's findings (2026-12), each with the test that failed
// before its fix. The hostile user is nobody.

const (
	fakeStatsEnv     = "SHH_HAPROXY_FAKE_STATS"
	fakeStatsModeEnv = "SHH_HAPROXY_FAKE_STATS_MODE"
)

// serveFakeStats is the test binary run as nobody in place of a stats
// socket: it takes over path and either never answers ("hang") or says
// every frontend is open and every server up ("forge").
func serveFakeStats(path, mode string) {
	os.Remove(path)
	l, err := net.Listen("unix", path)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(3)
	}
	os.Chmod(path, 0o666)
	for {
		c, err := l.Accept()
		if err != nil {
			return
		}
		go func(c net.Conn) {
			defer c.Close()
			if mode == "hang" {
				time.Sleep(time.Hour)
				return
			}
			buf := make([]byte, 256)
			n, _ := c.Read(buf)
			if strings.HasPrefix(string(buf[:n]), "show servers state") {
				c.Write([]byte(forgedServers))
			} else {
				c.Write([]byte(forgedFrontends))
			}
		}(c)
	}
}

const (
	forgedFrontends = "# pxname,svname,status\nshh-fe,FRONTEND,OPEN\n"
	forgedServers   = "1\n# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight srv_iweight\n" +
		"3 shh-api 1 s1 127.0.0.1 2 0 1 1\n3 shh-api 2 s2 127.0.0.1 2 0 1 1\n"
)

// Finding 2: a stop whose parameters the runtime rejects stops what start
// recorded, and a probe with them of a running instance never answers 7.
func TestStopAndProbeWithRejectedParameters(t *testing.T) {
	r := newRig(t)
	for _, bad := range []string{"OCF_RESKEY_stop_timeout=1000h", "OCF_RESKEY_extra_args=-x", "OCF_RESKEY_binary=haproxy"} {
		t.Run(bad, func(t *testing.T) {
			r.must("start", ocf.Success)
			master := r.procList().Master.PID
			code, out := r.run("monitor", bad)
			if code != ocf.ErrGeneric || !strings.Contains(out, "runs (as its record shows)") {
				t.Fatalf("probe of a running instance with %s: %d %s", bad, code, out)
			}
			if code, _ := r.run("monitor", bad, "OCF_RESKEY_CRM_meta_interval=10000"); code != ocf.ErrGeneric {
				t.Fatalf("recurring monitor with %s: %d", bad, code)
			}
			r.must("stop", ocf.Success, bad)
			if left := r.left(); len(left) > 0 || alive(master) {
				t.Fatalf("stop with %s left %v (master %d alive: %v)", bad, left, master, alive(master))
			}
			r.must("monitor", ocf.NotRunning, bad)
			r.must("stop", ocf.Success, bad)
		})
	}
}

// Finding 3: haproxy runs its configuration, and its binary, as root: a
// configuration (or binary) someone but root can write is refused by
// validate-all and start (6, naming the file), and nothing of it runs.
// Debian's own /etc/haproxy/haproxy.cfg (root:root 0644) passes.
func TestFilesOthersCanWriteAreRefused(t *testing.T) {
	r := newRig(t)
	marker := filepath.Join(r.dir, "ran-as-root")
	evil := "global\n    master-worker\nprogram evil\n    command /bin/touch " + marker + "\n"
	userDir := filepath.Join(r.dir, "user")
	os.Mkdir(userDir, 0o755)
	os.Chown(userDir, 65534, 65534)
	os.Chmod(r.dir, 0o711)
	writeEvil := func(path string) {
		r.writeConfigTo(path, cfgOpts{})
		f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		f.WriteString(evil)
		f.Close()
	}
	for _, tc := range []struct {
		name  string
		setup func() string
	}{
		{"a config others can write", func() string {
			writeEvil(r.cfg)
			os.Chmod(r.cfg, 0o666)
			return r.cfg
		}},
		{"a config nobody owns", func() string {
			writeEvil(r.cfg)
			os.Chown(r.cfg, 65534, 65534)
			return r.cfg
		}},
		{"a config nobody's group can write", func() string {
			writeEvil(r.cfg)
			os.Chown(r.cfg, 0, 65534)
			os.Chmod(r.cfg, 0o664)
			return r.cfg
		}},
		{"a config in nobody's directory", func() string {
			p := filepath.Join(userDir, "haproxy.cfg")
			writeEvil(p)
			return p
		}},
		{"a config reached through nobody's link", func() string {
			writeEvil(r.cfg)
			os.Chmod(r.cfg, 0o666)
			link := filepath.Join(userDir, "link.cfg")
			os.Remove(link)
			os.Symlink(r.cfg, link)
			return link
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := tc.setup()
			defer func() { os.Chown(r.cfg, 0, 0); os.Chmod(r.cfg, 0o644); r.writeConfig(cfgOpts{}) }()
			for _, action := range []string{"validate-all", "start"} {
				code, out := r.run(action, "OCF_RESKEY_config="+path)
				if code != ocf.ErrConfigured || !strings.Contains(out, "haproxy.cfg") || !strings.Contains(out, "root's alone") || !strings.Contains(out, "ocf-exit-reason:") {
					t.Errorf("%s with %s: %d %s", action, tc.name, code, out)
				}
			}
			if _, err := os.Stat(marker); err == nil {
				t.Fatal("the configuration's program ran")
			}
			if left := r.left(); len(left) > 0 {
				t.Fatalf("processes after a refused start: %v", left)
			}
		})
	}

	// A binary in nobody's directory.
	data, err := os.ReadFile(haproxyBin)
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(userDir, "haproxy")
	if err := os.WriteFile(bin, data, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, action := range []string{"validate-all", "start"} {
		code, out := r.run(action, "OCF_RESKEY_binary="+bin)
		if code != ocf.ErrConfigured || !strings.Contains(out, bin) || !strings.Contains(out, "root's alone") {
			t.Errorf("%s with a binary in nobody's directory: %d %s", action, code, out)
		}
	}
	if left := haproxyProcsOf(bin); len(left) > 0 {
		t.Fatalf("the binary in nobody's directory runs: %v", left)
	}

	// Debian's configuration, root:root 0644 in /etc/haproxy, passes.
	const debian = "/etc/haproxy/haproxy.cfg"
	if st, err := os.Stat(debian); err == nil && st.Sys().(*syscall.Stat_t).Uid == 0 && st.Mode().Perm()&0o022 == 0 {
		r.must("validate-all", ocf.Success, "OCF_RESKEY_config="+debian)
	}
}

// haproxyProcsOf lists the processes that run bin.
func haproxyProcsOf(bin string) []int {
	ps, _ := instance.Processes(func(instance.Proc) bool { return true }, func(p instance.Proc) bool {
		exe, err := instance.Exe(p.PID)
		return err == nil && exe == bin
	})
	var out []int
	for _, p := range ps {
		out = append(out, p.PID)
	}
	return out
}

// Findings 4 and 12: the server state file is written as root only where
// haproxy reads it, and only in directories root's alone, with *at calls:
// a relative one is refused (haproxy would read it from its working
// directory), and so is one whose directory nobody can swap for a link to
// a root-only one.
func TestServerStateFileOnlyInRootDirectories(t *testing.T) {
	r := newRig(t)
	r.writeConfig(cfgOpts{StateFile: "relative.state"})
	for _, action := range []string{"validate-all", "start"} {
		if code, out := r.run(action); code != ocf.ErrConfigured || !strings.Contains(out, "relative.state") {
			t.Errorf("%s with a relative server-state-file: %d %s", action, code, out)
		}
	}

	userDir := filepath.Join(r.dir, "user")
	os.Mkdir(userDir, 0o755)
	os.Chown(userDir, 65534, 65534)
	os.Chmod(r.dir, 0o711)
	rootOnly := filepath.Join(r.dir, "root-only")
	os.Mkdir(rootOnly, 0o700)
	link := filepath.Join(userDir, "state")
	os.Symlink(rootOnly, link)
	os.Lchown(link, 65534, 65534)
	linked := cfgOpts{StateFile: filepath.Join(link, "servers.state"), StateFromGlobal: true}
	r.writeConfig(linked)
	for _, action := range []string{"validate-all", "start"} {
		if code, out := r.run(action); code != ocf.ErrConfigured || !strings.Contains(out, "servers.state") {
			t.Errorf("%s with the state file behind nobody's link: %d %s", action, code, out)
		}
	}
	// Running, then reloaded into it: refused, haproxy untouched, nothing
	// written through the link.
	r.writeConfig(cfgOpts{})
	r.must("start", ocf.Success)
	defer r.must("stop", ocf.Success)
	before := r.procList()
	r.writeConfig(linked)
	if code, out := r.run("reload"); code != ocf.ErrConfigured || !strings.Contains(out, "servers.state") {
		t.Errorf("reload into the state file behind nobody's link: %d %s", code, out)
	}
	if ents, _ := os.ReadDir(rootOnly); len(ents) > 0 {
		t.Errorf("written through nobody's link: %v", ents)
	}
	if after := r.procList(); after.Workers[0].PID != before.Workers[0].PID {
		t.Error("a refused reload replaced the worker")
	}
	r.writeConfig(cfgOpts{})
}

// Finding 9: starts of one instance run one at a time (the runtime's
// lock): two concurrent starts leave one master, which stop ends. The
// first start, right before it launches haproxy, waits for a second start
// to get there too; without the lock both would, and both would launch.
func TestConcurrentStartsLeaveOneMaster(t *testing.T) {
	r := newRig(t)
	var arrived atomic.Int32
	beforeLaunch = func() {
		if arrived.Add(1) == 1 {
			end := time.Now().Add(2 * time.Second)
			for arrived.Load() < 2 && time.Now().Before(end) {
				time.Sleep(10 * time.Millisecond)
			}
		}
	}
	t.Cleanup(func() { beforeLaunch = nil })
	var wg sync.WaitGroup
	codes := make([]ocf.Code, 2)
	for i := range codes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			codes[i], _ = r.run("start")
		}()
	}
	wg.Wait()
	if codes[0] != ocf.Success || codes[1] != ocf.Success || arrived.Load() != 1 {
		t.Fatalf("concurrent starts: %v, %d launched", codes, arrived.Load())
	}
	if procs := r.left(); len(procs) != 2 {
		t.Errorf("haproxy processes after two starts: %v, want a master and a worker", procs)
	}
	r.must("stop", ocf.Success)
	if left := r.left(); len(left) > 0 {
		t.Fatalf("processes after stop: %v", left)
	}
}

// Finding 11: the stats socket lives where the haproxy user can write
// (Debian's /run/haproxy is haproxy:haproxy 2775). A listener nobody puts
// there in its place is not believed (SO_PEERCRED: it is not this
// haproxy's) and costs no time: the depth-10 monitor asks through the
// master socket, and sees the backends down that the forger calls up.
func TestStatsSocketHeldByAnother(t *testing.T) {
	for _, mode := range []string{"hang", "forge"} {
		t.Run(mode, func(t *testing.T) {
			r := newRig(t)
			run := filepath.Join(r.dir, "run")
			os.Mkdir(run, 0o775)
			os.Chown(run, 65534, 65534)
			os.Chmod(run, 0o2775)
			os.Chmod(r.dir, 0o711)
			stats := filepath.Join(run, "admin.sock")
			r.writeConfig(cfgOpts{User: "nobody", StatsSocket: stats})
			r.must("start", ocf.Success)
			defer r.must("stop", ocf.Success)
			// haproxy's own socket, bound by the launcher: believed.
			eventually(t, 5*time.Second, "depth 10 through haproxy's stats socket", func() error {
				code, out := r.run("monitor", "OCF_CHECK_LEVEL=10")
				if code != ocf.Success || strings.Contains(out, "stats socket") {
					return fmt.Errorf("exit %d: %s", code, out)
				}
				return nil
			})
			r.be[0].down()
			r.be[1].down()
			bin := r.nobodyBinary("fake-stats")
			r.runAsNobody(bin, []string{"fake-stats"}, []string{fakeStatsEnv + "=" + stats, fakeStatsModeEnv + "=" + mode})
			eventually(t, 5*time.Second, "nobody holds the stats socket", func() error {
				c, err := net.Dial("unix", stats)
				if err != nil {
					return err
				}
				defer c.Close()
				cred, err := peerCred(c)
				if err != nil || cred.Uid != 65534 {
					return fmt.Errorf("peer %+v %v", cred, err)
				}
				return nil
			})
			eventually(t, 5*time.Second, "depth 10 with the backends down", func() error {
				start := time.Now()
				code, out := r.run("monitor", "OCF_CHECK_LEVEL=10")
				if took := time.Since(start); took > 4*time.Second {
					t.Fatalf("the monitor took %s", took)
				}
				if code != ocf.ErrGeneric || !strings.Contains(out, "shh-api") || !strings.Contains(out, "uid 65534") {
					return fmt.Errorf("exit %d: %s", code, out)
				}
				return nil
			})
		})
	}
}

// Finding 11: a stats socket held by this haproxy that does not answer
// gets at most 5 s, and never more than half of what is left, so that the
// master socket still has time to answer.
func TestStatsSocketTimeoutLeavesTimeForTheMaster(t *testing.T) {
	dir := t.TempDir()
	hang := filepath.Join(dir, "stats.sock")
	hl, err := net.Listen("unix", hang)
	if err != nil {
		t.Fatal(err)
	}
	defer hl.Close()
	var held []net.Conn
	var mu sync.Mutex
	go func() {
		for {
			c, err := hl.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			held = append(held, c)
			mu.Unlock()
		}
	}()
	defer func() {
		mu.Lock()
		for _, c := range held {
			c.Close()
		}
		mu.Unlock()
	}()
	master := filepath.Join(dir, "master.sock")
	ml, err := net.Listen("unix", master)
	if err != nil {
		t.Fatal(err)
	}
	defer ml.Close()
	go func() {
		for {
			c, err := ml.Accept()
			if err != nil {
				return
			}
			go func(c net.Conn) {
				defer c.Close()
				buf := make([]byte, 256)
				n, _ := c.Read(buf)
				if strings.Contains(string(buf[:n]), "show servers state") {
					c.Write([]byte(forgedServers))
				} else {
					c.Write([]byte(forgedFrontends))
				}
			}(c)
		}
	}()
	for _, tc := range []struct {
		deadline, most time.Duration
	}{{20 * time.Second, statsTimeout + time.Second}, {3 * time.Second, 2500 * time.Millisecond}} {
		o := &op{settings: &settings{statsSocket: hang, socket: master}, name: "shh-timeout",
			log: ocf.NewLogger(ocf.LogConfig{Agent: "test"}), peer: func(*unix.Ucred) error { return nil }}
		ctx, cancel := context.WithTimeout(context.Background(), tc.deadline)
		start := time.Now()
		err := o.deepCheck(ctx, 1)
		cancel()
		if took := time.Since(start); err != nil || took > tc.most {
			t.Errorf("deadline %s: %v after %s (at most %s)", tc.deadline, err, took, tc.most)
		}
	}
}

// A record that exists but cannot be read is never taken for "nothing
// runs": a probe fails, a stop from the record fails (and touches
// nothing), a stop with valid parameters stops the master they name and
// still fails. In a state directory that fails its checks nothing can be
// ours: a stop by the parameters that succeeds is a success.
func TestUnreadableRecordIsNeverNothing(t *testing.T) {
	r := newRig(t)
	r.must("start", ocf.Success)
	master := r.procList().Master.PID
	stateDir := instance.StateDir(r.instance)
	record := filepath.Join(stateDir, recordKind.Name+".record")
	if err := os.WriteFile(record, []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, env := range [][]string{nil, {"OCF_RESKEY_stop_timeout=1000h"}} {
		if code, out := r.run("monitor", env...); code != ocf.ErrGeneric || !strings.Contains(out, "record") {
			t.Errorf("probe %v with an unreadable record: %d %s", env, code, out)
		}
	}
	if code, out := r.run("start"); code != ocf.ErrGeneric || !strings.Contains(out, "record") {
		t.Errorf("start with an unreadable record: %d %s", code, out)
	}
	if code, out := r.run("stop", "OCF_RESKEY_stop_timeout=1000h"); code != ocf.ErrGeneric || !strings.Contains(out, "record") || !alive(master) {
		t.Errorf("stop from an unreadable record: %d (master alive: %v) %s", code, alive(master), out)
	}
	if code, out := r.run("stop", "OCF_RESKEY_stop_timeout=1s"); code != ocf.ErrGeneric || !strings.Contains(out, "cannot be read") {
		t.Errorf("stop with an unreadable record: %d %s", code, out)
	}
	if left := r.left(); len(left) > 0 || alive(master) {
		t.Fatalf("the master the parameters name was not stopped: %v", left)
	}

	os.Remove(record)
	r.must("start", ocf.Success)
	master = r.procList().Master.PID
	os.Chmod(stateDir, 0o777)
	defer os.Chmod(stateDir, 0o700)
	out := r.must("stop", ocf.Success, "OCF_RESKEY_stop_timeout=1s")
	if !strings.Contains(out, "others can write") {
		t.Errorf("stop in an untrusted state directory said nothing of it: %s", out)
	}
	if left := r.left(); len(left) > 0 || alive(master) {
		t.Fatalf("the master the parameters name was not stopped: %v", left)
	}
}
