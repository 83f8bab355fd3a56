package haproxy

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stackha/stackha/agents/internal/watch/watchtest"
	"github.com/stackha/stackha/instance"
	"github.com/stackha/stackha/ocf"
)

// runTestWatcher is TestMain for a watcher the in-process starts run (their
// binary is this test binary): it finds the state directory of its
// instance among the tests' (the environment a watcher gets names none),
// then runs as the real binary would.
func runTestWatcher() {
	name := ""
	for _, a := range os.Args[2:] {
		if v, ok := strings.CutPrefix(a, "-name="); ok {
			name = v
		}
	}
	dirs, _ := filepath.Glob("/tmp/shh-state-*/stackha/" + name)
	if name == "" || len(dirs) != 1 {
		os.Exit(2)
	}
	instance.Root = filepath.Dir(dirs[0])
	code := ocf.MainArgs(os.Args, ocf.ProcessEnv, ocf.Streams{Stdout: os.Stdout, Stderr: os.Stderr}, nil)
	syscall.Exit(int(code))
}

// The watcher reports a kill -9 of the master at once, never a stop, and
// no watcher outlives its instance (stop, a monitor's restart).
func TestRootWatcher(t *testing.T) {
	r := newRig(t)
	crm := watchtest.FakeCRM(t)
	os.Setenv("PATH", crm.Dir+":"+os.Getenv("PATH")) // the watcher's PATH is the agent's
	r.env["OCF_RESKEY_watch"] = "true"
	r.env["OCF_RESKEY_CRM_meta_on_node"] = "node1"
	want := "--fail --resource " + r.instance + " --node node1"
	defer watchtest.WaitNoWatcher(t, watchCmd, r.instance)

	r.must("start", ocf.Success)
	rec, err := loadRecord(r.instance, nil, nil)
	if err != nil || rec == nil || !rec.Watcher.Runs() || rec.Watcher.Node != "node1" {
		t.Fatalf("no running watcher recorded: %+v, %v", rec, err)
	}
	first := *rec.Watcher
	if ws := watchtest.Watchers(t, watchCmd, r.instance); !slices.Equal(ws, []int{first.PID}) {
		t.Fatalf("watchers %v, want only %d", ws, first.PID)
	}
	// A dead watcher is no failure: the next recurring monitor starts another.
	syscall.Kill(first.PID, syscall.SIGKILL)
	for first.Runs() {
		time.Sleep(10 * time.Millisecond)
	}
	r.must("monitor", ocf.Success, "OCF_RESKEY_CRM_meta_interval=10000")
	rec, _ = loadRecord(r.instance, nil, nil)
	if rec == nil || !rec.Watcher.Runs() || rec.Watcher.PID == first.PID {
		t.Fatalf("monitor did not restart the watcher: %+v", rec)
	}
	// A seamless reload (the master re-executes itself) is no failure.
	restarted := *rec.Watcher
	r.must("reload", ocf.Success)
	r.must("monitor", ocf.Success, "OCF_RESKEY_CRM_meta_interval=10000")
	if rec, _ = loadRecord(r.instance, nil, nil); rec == nil || rec.Watcher == nil || rec.Watcher.PID != restarted.PID || !restarted.Runs() {
		t.Fatalf("the watcher did not live through a reload: %+v", rec)
	}
	// A stop is never reported.
	r.must("stop", ocf.Success)
	watchtest.WaitNoWatcher(t, watchCmd, r.instance)
	if calls := crm.Calls(); len(calls) != 0 {
		t.Fatalf("stop was reported: %q", calls)
	}
	// kill -9 of the master: reported, and the watcher ends.
	r.must("start", ocf.Success)
	rec, _ = loadRecord(r.instance, nil, nil)
	if rec == nil || !rec.Watcher.Runs() {
		t.Fatalf("no watcher: %+v", rec)
	}
	if err := syscall.Kill(rec.Master.PID, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if calls := crm.WaitCalls(t, 1); calls[0] != want {
		t.Fatalf("crm_resource %q, want %q", calls[0], want)
	}
	watchtest.WaitNoWatcher(t, watchCmd, r.instance)
	r.must("stop", ocf.Success)
}

// TestRootWatcherIdle measures an idle watcher (STACKHA_WATCH_IDLE=<seconds>):
// its memory and the CPU time it uses while nothing happens. Run it with
// `strace -c -f -p <pid>` beside it to count its system calls.
func TestRootWatcherIdle(t *testing.T) {
	secs, _ := strconv.Atoi(os.Getenv("STACKHA_WATCH_IDLE"))
	if secs <= 0 {
		t.Skip("STACKHA_WATCH_IDLE=<seconds> measures an idle watcher")
	}
	r := newRig(t)
	watchtest.FakeCRM(t)
	r.env["OCF_RESKEY_watch"] = "true"
	r.env["OCF_RESKEY_CRM_meta_on_node"] = "node1"
	defer watchtest.WaitNoWatcher(t, watchCmd, r.instance)
	r.must("start", ocf.Success)
	defer r.must("stop", ocf.Success)
	rec, _ := loadRecord(r.instance, nil, nil)
	if rec == nil || rec.Watcher == nil {
		t.Fatal("no watcher")
	}
	pid := rec.Watcher.PID
	cpu := func() int {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			t.Fatal(err)
		}
		f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
		u, _ := strconv.Atoi(f[11])
		s, _ := strconv.Atoi(f[12])
		return u + s
	}
	time.Sleep(time.Second) // settled
	before := cpu()
	t.Logf("watcher %d idle for %d s", pid, secs)
	time.Sleep(time.Duration(secs) * time.Second)
	after := cpu()
	status, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	for _, l := range strings.Split(string(status), "\n") {
		if strings.HasPrefix(l, "VmRSS") || strings.HasPrefix(l, "Rss") || strings.HasPrefix(l, "Threads") {
			t.Logf("%s", l)
		}
	}
	t.Logf("utime+stime over %d s idle: %d clock ticks", secs, after-before)
}
