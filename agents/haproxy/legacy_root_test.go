package haproxy

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stackha/stackha/instance"
	"github.com/stackha/stackha/ocf"
)

// release02 is the commit of stackha 0.2 whose record the upgrade reads.
const release02 = "a74b5c3"

var (
	build02     sync.Once
	binary02    string
	build02Skip string
)

// stackha02 builds the stackha binary of release02 from this repository's
// history (git archive into a temporary directory, go build), once per
// test run; it skips, saying why, where that cannot be done.
func stackha02(t *testing.T) string {
	t.Helper()
	build02.Do(func() {
		top, err := exec.Command("git", "rev-parse", "--show-toplevel").Output()
		if err != nil {
			build02Skip = "no git repository here: " + err.Error()
			return
		}
		repo := strings.TrimSpace(string(top))
		if err := exec.Command("git", "-C", repo, "cat-file", "-e", release02+"^{commit}").Run(); err != nil {
			build02Skip = "commit " + release02 + " (stackha 0.2) is not in this clone"
			return
		}
		dir, err := os.MkdirTemp("", "shh-stackha02-")
		if err != nil {
			build02Skip = err.Error()
			return
		}
		var out bytes.Buffer
		archive := exec.Command("sh", "-c", `git -C "$1" archive "$2" | tar -x -C "$3"`, "sh", repo, release02, dir)
		archive.Stdout, archive.Stderr = &out, &out
		build := exec.Command("go", "build", "-o", filepath.Join(dir, "stackha"), "./cmd/stackha")
		build.Dir, build.Stdout, build.Stderr = dir, &out, &out
		build.Env = append(os.Environ(), "GOWORK=off", "CGO_ENABLED=0")
		if err := archive.Run(); err != nil {
			build02Skip = "git archive: " + err.Error() + ": " + out.String()
			return
		}
		if err := build.Run(); err != nil {
			build02Skip = "building stackha 0.2: " + err.Error() + ": " + out.String()
			return
		}
		binary02 = filepath.Join(dir, "stackha")
	})
	if binary02 == "" {
		t.Skipf("SKIP (LOUDLY): %s", build02Skip)
	}
	return binary02
}

// run02 runs an action of stackha 0.2's haproxy agent on the rig's
// instance, as Pacemaker would have before the upgrade.
func (r *rig) run02(bin, action string) (int, string) {
	r.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "haproxy", action)
	cmd.Dir = "/"
	for k, v := range r.env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	cmd.Env = append(cmd.Env, "PATH=/usr/sbin:/usr/bin:/sbin:/bin")
	out, err := cmd.CombinedOutput()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		r.t.Fatalf("running stackha 0.2: %v", err)
	}
	r.t.Logf("0.2 %s -> %d\n%s", action, code, strings.TrimSpace(string(out)))
	return code, string(out)
}

// The upgrade: haproxy started by stackha 0.2 (its binary, built from
// release02), then this stackha's monitor (both depths), reload and stop
// work on it; the record is converted at the first action and 0.2's
// removed. Again with parameters the runtime rejects: the probe says it
// runs, and the stop from the record alone stops it. This test uses the
// real /run/stackha (0.2 knows no other), under an instance of its own.
func TestUpgradeFrom02(t *testing.T) {
	r := newRig(t)
	bin := stackha02(t)
	saved := instance.Root
	instance.Root = realRoot
	t.Cleanup(func() {
		os.RemoveAll(instance.StateDir(r.instance))
		os.Remove(filepath.Join(realRoot, ".locks", r.instance))
		instance.Root = saved
	})
	legacy := filepath.Join(instance.StateDir(r.instance), legacyName)
	started02 := func() int {
		t.Helper()
		if code, _ := r.run02(bin, "start"); code != 0 {
			t.Fatalf("stackha 0.2 start: exit %d", code)
		}
		b, err := os.ReadFile(legacy)
		if err != nil {
			t.Fatalf("stackha 0.2 wrote no record: %v", err)
		}
		l, err := parseLegacy(b)
		if err != nil {
			t.Fatalf("stackha 0.2's record %q: %v", b, err)
		}
		return l.PID
	}

	master := started02()
	r.must("monitor", ocf.Success)
	if _, err := os.Lstat(legacy); err == nil {
		t.Error("0.2's record is still there after the first monitor")
	}
	rec, err := loadRecord(r.instance, nil, nil)
	if err != nil || rec == nil || !rec.Converted || rec.Master.PID != master || rec.Pidfile != r.env["OCF_RESKEY_pidfile"] {
		t.Fatalf("converted record: %+v %v", rec, err)
	}
	r.must("monitor", ocf.Success, "OCF_CHECK_LEVEL=10")
	before := r.procList()
	r.must("reload", ocf.Success)
	after := r.procList()
	if after.Master.PID != master || len(after.Workers) == 0 || after.Workers[0].PID == before.Workers[0].PID {
		t.Errorf("reload: master %d -> %d, workers %v -> %v", master, after.Master.PID, before.Workers, after.Workers)
	}
	if _, err := r.get(r.fePort, ""); err != nil {
		t.Errorf("serving after the reload: %v", err)
	}
	r.must("stop", ocf.Success)
	if left := r.left(); len(left) > 0 || alive(master) {
		t.Fatalf("stop left %v (master %d alive: %v)", left, master, alive(master))
	}
	r.must("monitor", ocf.NotRunning)

	// Parameters the runtime rejects: probe and stop from 0.2's record.
	master = started02()
	bad := "OCF_RESKEY_stop_timeout=1000h"
	if code, out := r.run("monitor", bad); code != ocf.ErrGeneric || !strings.Contains(out, "runs (as its record shows)") {
		t.Fatalf("probe with %s of haproxy 0.2 started: %d %s", bad, code, out)
	}
	r.must("stop", ocf.Success, bad)
	if left := r.left(); len(left) > 0 || alive(master) {
		t.Fatalf("stop from the record left %v (master %d alive: %v)", left, master, alive(master))
	}
	if _, err := os.Lstat(legacy); err == nil {
		t.Error("0.2's record is still there after the stop")
	}
}
