package vip

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stackha/stackha/instance"
	"github.com/stackha/stackha/ocf"
)

// Root tests of the security review's findings, in a lab's namespaces.

// Finding 7: with the state read-only (/run/stackha mounted read-only in
// the binary's mount namespace), stop removed the address and then exited
// 1 because it could not remove the record. Removing the record after the
// work is done is only a warning.
func TestRootFindingStopReadOnlyState(t *testing.T) {
	rg := newRig(t, "192.0.2.15", "nic", "shv0", "cidr_netmask", "24", "arp_count", "1")
	rg.want("start", 0, ocf.Success)
	code, out := rg.binary(true, "stop")
	if code != 0 {
		t.Fatalf("stop with the state read-only: exit %d\n%s", code, out)
	}
	if !strings.Contains(out, "the record is left") {
		t.Errorf("no warning about the record:\n%s", out)
	}
	if as := rg.addrsOf(false, "shv0", "192.0.2.15"); len(as) != 0 {
		t.Fatalf("left: %v", as)
	}
	if rec := rg.record(); rec == nil {
		t.Fatal("the record went from a read-only state directory")
	}
	rg.want("stop", 0, ocf.Success)
	if rec := rg.record(); rec != nil {
		t.Fatalf("record left: %+v", rec)
	}
}

// Finding 2, through the binary: a probe with a parameter the runtime
// rejects, while the recorded address is up, is 1 (it was 7).
func TestRootFindingProbeFromState(t *testing.T) {
	rg := newRig(t, "192.0.2.17", "nic", "shv0", "cidr_netmask", "24", "arp_count", "1")
	rg.want("start", 0, ocf.Success)
	if code, out := rg.binary(false, "monitor", "arp_count", "999999"); code != 1 || !strings.Contains(out, "runs (as its record shows)") {
		t.Fatalf("probe with arp_count=999999 and the address up: exit %d, want 1\n%s", code, out)
	}
	rg.want("stop", 0, ocf.Success)
	if code, out := rg.binary(false, "monitor", "arp_count", "999999"); code != 7 {
		t.Fatalf("probe with arp_count=999999 after stop: exit %d, want 7\n%s", code, out)
	}
}

// Finding 9: a start racing a stop left the address without a record (4
// times in 20): the runtime's per-instance lock serialises them. The hook
// holds start between recording and adding the address: stop must wait for
// it, and then remove both.
func TestRootFindingStartStopRace(t *testing.T) {
	rg := newRig(t, "192.0.2.18", "nic", "shv0", "cidr_netmask", "24", "arp_count", "1")
	paused, resume := make(chan struct{}), make(chan struct{})
	afterRecord = func() { close(paused); <-resume }
	started := make(chan error, 1)
	go func() { started <- ocfRun(logWriter{t}, rg.inst, "start", 0, 10, rg.params()) }()
	<-paused
	stopped := make(chan error, 1)
	go func() { stopped <- ocfRun(logWriter{t}, rg.inst, "stop", 0, 10, rg.params()) }()
	var early error
	ranEarly := false
	select {
	case early = <-stopped:
		ranEarly = true
	case <-time.After(time.Second):
	}
	close(resume)
	serr := <-started
	if !ranEarly {
		early = <-stopped
	}
	afterRecord = nil
	if ranEarly {
		t.Errorf("stop finished (%v) while start held the instance", early)
	}
	if serr != nil || early != nil {
		t.Fatalf("start: %v; stop: %v", serr, early)
	}
	up, rec := len(rg.addrsOf(false, "shv0", "192.0.2.18")) > 0, rg.record()
	if up || rec != nil {
		t.Fatalf("after start then stop: address up %v, record %+v", up, rec)
	}
}

// Finding 9: start and stop run at once, as two processes of the built
// binary, 20 times in a random order: the address and the record always
// agree.
func TestRootFindingStartStopAgree(t *testing.T) {
	rg := newRig(t, "192.0.2.19", "nic", "shv0", "cidr_netmask", "24", "arp_count", "1")
	for round := range 20 {
		actions := []string{"start", "stop"}
		rand.Shuffle(2, func(i, j int) { actions[i], actions[j] = actions[j], actions[i] })
		codes, outs := make([]int, 2), make([]string, 2)
		var wg sync.WaitGroup
		for i, action := range actions {
			wg.Add(1)
			go func() {
				defer wg.Done()
				codes[i], outs[i] = rg.binary(false, action)
			}()
		}
		wg.Wait()
		if codes[0] != 0 || codes[1] != 0 {
			t.Fatalf("round %d: %s: exit %d\n%s\n%s: exit %d\n%s", round, actions[0], codes[0], outs[0], actions[1], codes[1], outs[1])
		}
		up, rec := len(rg.addrsOf(false, "shv0", "192.0.2.19")) > 0, rg.record()
		if up != (rec != nil) {
			t.Fatalf("round %d (%s and %s): address up %v, record %+v", round, actions[0], actions[1], up, rec)
		}
	}
	rg.want("stop", 0, ocf.Success)
}

// The background announcer inherits nothing of the instance's state: not
// the lock start holds (close-on-exec), no file under the state root.
func TestRootAnnouncerInheritsNoLock(t *testing.T) {
	rg := newRig(t, "192.0.2.16", "nic", "shv0", "cidr_netmask", "24", "arp_count", "1000", "arp_interval", "100", "arp_bg", "true")
	rg.want("start", 0, ocf.Success)
	t.Cleanup(func() { rg.run("stop", 0) })
	rec := rg.record()
	if rec == nil || rec.Announcer == nil {
		t.Fatalf("no announcer recorded: %+v", rec)
	}
	dir := fmt.Sprintf("/proc/%d/fd", rec.Announcer.PID)
	fds, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, fd := range fds {
		target, _ := os.Readlink(filepath.Join(dir, fd.Name()))
		if strings.HasPrefix(target, instance.Root) {
			t.Errorf("announcer %d holds fd %s: %s", rec.Announcer.PID, fd.Name(), target)
		}
	}
}
