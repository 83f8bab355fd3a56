package vip

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stackha/stackha/agents/internal/watch/watchtest"
	"github.com/vishvananda/netlink"
)

// watchRun runs the built binary's action (in inStateRoot, so the watcher
// it starts sees the test's state) as Pacemaker does on node1, with the
// fake crm_resource first on the PATH.
func (rg *rig) watchRun(crm *watchtest.CRM, action string, interval time.Duration, kv ...string) int {
	rg.t.Helper()
	cmd := inStateRoot(rg.t, false, stackhaBinary(rg.t), "vip", action)
	cmd.Env = []string{"OCF_RESOURCE_INSTANCE=" + rg.inst, "HA_LOGFACILITY=none", crm.PATH(),
		"OCF_RESKEY_CRM_meta_on_node=node1"}
	if interval > 0 {
		cmd.Env = append(cmd.Env, "OCF_RESKEY_CRM_meta_interval="+strings.TrimSuffix(interval.String(), "s")+"000")
	}
	for k, v := range rg.params(kv...) {
		cmd.Env = append(cmd.Env, "OCF_RESKEY_"+k+"="+v)
	}
	out, err := cmd.CombinedOutput()
	rg.t.Logf("%s: %s", action, out)
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	} else if err != nil {
		rg.t.Fatal(err)
	}
	return 0
}

// The watcher reports the address removed and the link down at once,
// never what stop does, and no watcher outlives its instance (stop, a
// monitor's restart, a failed start).
func TestRootWatcher(t *testing.T) {
	rg := newRig(t, "192.0.2.30", "nic", "shv0", "cidr_netmask", "24", "arp_count", "1", "watch", "true")
	crm := watchtest.FakeCRM(t)
	want := "--fail --resource " + rg.inst + " --node node1"
	defer watchtest.WaitNoWatcher(t, watchCmd, rg.inst)

	if code := rg.watchRun(crm, "start", 0); code != 0 {
		t.Fatalf("start: %d", code)
	}
	rec := rg.record()
	if rec == nil || rec.Watcher == nil || !rec.Watcher.Runs() || rec.Watcher.Node != "node1" || !rec.WatchLink {
		t.Fatalf("no running watcher recorded: %+v", rec)
	}
	first := *rec.Watcher
	if ws := watchtest.Watchers(t, watchCmd, rg.inst); !slices.Equal(ws, []int{first.PID}) {
		t.Fatalf("watchers %v, want only %d", ws, first.PID)
	}
	// Another address of the interface comes and goes: nothing reported.
	rg.addAddr(false, "shv0", "192.0.2.31/24", 0)
	h := rg.handle(false)
	a, _ := netlink.ParseAddr("192.0.2.31/24")
	if err := h.AddrDel(rg.link(h, "shv0"), a); err != nil {
		t.Fatal(err)
	}
	// A dead watcher is no failure: the next recurring monitor starts another.
	syscall.Kill(first.PID, syscall.SIGKILL)
	for first.Runs() {
		time.Sleep(10 * time.Millisecond)
	}
	if code := rg.watchRun(crm, "monitor", 10*time.Second); code != 0 {
		t.Fatalf("monitor with a dead watcher: %d", code)
	}
	rec = rg.record()
	if rec.Watcher == nil || !rec.Watcher.Runs() || rec.Watcher.PID == first.PID {
		t.Fatalf("monitor did not restart the watcher: %+v", rec.Watcher)
	}
	// The address removed behind the agent's back: reported.
	a, _ = netlink.ParseAddr("192.0.2.30/24")
	if err := h.AddrDel(rg.link(h, "shv0"), a); err != nil {
		t.Fatal(err)
	}
	if calls := crm.WaitCalls(t, 1); calls[0] != want {
		t.Fatalf("crm_resource %q, want %q", calls[0], want)
	}
	// The monitor stays the ground truth, and ends the watcher of a stopped VIP.
	if code := rg.watchRun(crm, "monitor", 10*time.Second); code != 7 {
		t.Fatalf("monitor without the address: %d, want 7", code)
	}
	watchtest.WaitNoWatcher(t, watchCmd, rg.inst)
	if got := rg.record(); got != nil && got.Watcher != nil {
		t.Fatalf("watcher still recorded: %+v", got.Watcher)
	}

	// Started again: the link set down is reported; then stop, which
	// removes the address, reports nothing.
	if code := rg.watchRun(crm, "start", 0); code != 0 {
		t.Fatalf("start: %d", code)
	}
	rg.setLink(false, "shv0", false)
	if calls := crm.WaitCalls(t, 2); calls[1] != want {
		t.Fatalf("crm_resource %q, want %q", calls[1], want)
	}
	rg.setLink(false, "shv0", true)
	if code := rg.watchRun(crm, "start", 0); code != 0 {
		t.Fatalf("start: %d", code)
	}
	if code := rg.watchRun(crm, "stop", 0); code != 0 {
		t.Fatalf("stop: %d", code)
	}
	watchtest.WaitNoWatcher(t, watchCmd, rg.inst)
	if calls := crm.Calls(); len(calls) != 2 {
		t.Fatalf("stop was reported: %q", calls)
	}
	// A failed start (no such interface) leaves no watcher.
	if code := rg.watchRun(crm, "start", 0, "nic", "shv9"); code == 0 {
		t.Fatal("start on a missing interface succeeded")
	}
	watchtest.WaitNoWatcher(t, watchCmd, rg.inst)
}

// TestRootWatcherIdle measures an idle watcher (STACKHA_WATCH_IDLE=<seconds>):
// its RSS and the CPU time it uses while nothing happens. Run it with
// `strace -c -f -p <pid>` beside it to count its system calls.
func TestRootWatcherIdle(t *testing.T) {
	secs, _ := strconv.Atoi(os.Getenv("STACKHA_WATCH_IDLE"))
	if secs <= 0 {
		t.Skip("STACKHA_WATCH_IDLE=<seconds> measures an idle watcher")
	}
	rg := newRig(t, "192.0.2.32", "nic", "shv0", "cidr_netmask", "24", "arp_count", "1", "watch", "true")
	crm := watchtest.FakeCRM(t)
	defer watchtest.WaitNoWatcher(t, watchCmd, rg.inst)
	if code := rg.watchRun(crm, "start", 0); code != 0 {
		t.Fatalf("start: %d", code)
	}
	defer rg.watchRun(crm, "stop", 0)
	w := rg.record().Watcher
	cpu := func() (ticks int) {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", w.PID))
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
	t.Logf("watcher %d idle for %d s", w.PID, secs)
	time.Sleep(time.Duration(secs) * time.Second)
	after := cpu()
	status, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", w.PID))
	for _, l := range strings.Split(string(status), "\n") {
		if strings.HasPrefix(l, "VmRSS") || strings.HasPrefix(l, "Rss") || strings.HasPrefix(l, "Threads") || strings.HasPrefix(l, "voluntary_ctxt") || strings.HasPrefix(l, "nonvoluntary_ctxt") {
			t.Logf("%s", l)
		}
	}
	t.Logf("utime+stime over %d s idle: %d clock ticks (%d before, %d after)", secs, after-before, before, after)
	if len(crm.Calls()) != 0 {
		t.Fatalf("an idle watcher reported: %q", crm.Calls())
	}
}
