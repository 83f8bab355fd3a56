package sysnode

import (
	"context"
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stackha/stackha/internal/testutil/nodelock"
	"github.com/stackha/stackha/internal/testutil/require"
)

// needNodes makes the test need what a node needs: root, systemd, the
// programs the boot runs and cgroups a systemd can use.
func needNodes(t *testing.T) {
	t.Helper()
	require.Root(t)
	require.File(t, SystemdPath)
	require.Command(t, "nsenter", "unshare", "pivot_root", "ip", "mount", "umount", "runuser", "systemctl", "journalctl")
	if _, err := detectCgroups(); errors.Is(err, ErrNoCgroups) {
		if require.InCI() {
			t.Fatalf("CI=true and this test needs %v", err)
		}
		t.Skipf("SKIP: %v", err)
	}
}

type testLog struct{ t *testing.T }

func (w testLog) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// newLab makes a lab closed at the end of the test; a failed teardown or
// leak check fails the test.
func newLab(t *testing.T, ctx context.Context, specs ...Spec) *Lab {
	t.Helper()
	return newLabOpts(t, ctx, Options{Nodes: specs})
}

func newLabOpts(t *testing.T, ctx context.Context, opts Options) *Lab {
	t.Helper()
	opts.Log = testLog{t}
	if d := os.Getenv("SYSNODE_LOGS"); d != "" {
		opts.LogDir = filepath.Join(d, t.Name())
	}
	l, err := New(ctx, opts)
	nodelock.Check(t, "booting the nodes", err)
	t.Cleanup(func() {
		if err := l.Close(); err != nil {
			t.Errorf("teardown: %v", err)
		}
	})
	return l
}

// tmpMarker puts a file in the machine's /tmp; the test fails if it is
// gone at the end (a systemd that booted on the machine's root would
// have emptied /tmp).
func tmpMarker(t *testing.T) {
	t.Helper()
	f, err := os.CreateTemp("/tmp", "sysnode-marker-")
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	t.Cleanup(func() {
		if _, err := os.Stat(f.Name()); err != nil {
			t.Errorf("the machine's /tmp lost its marker %s: %v", f.Name(), err)
			return
		}
		os.Remove(f.Name())
	})
}

// TestBootPowerOff boots one node, checks that it is its own machine
// (hostname, root on its overlay, its own /tmp and /run, journald, its
// address), runs a unit of its own, power-cycles it (its disk survives,
// its /tmp does not), and tears down without leaks; the machine's /tmp
// keeps its marker throughout.
func TestBootPowerOff(t *testing.T) {
	needNodes(t)
	tmpMarker(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	l := newLab(t, ctx, Spec{Name: "n1", Addr: netip.MustParseAddr("192.0.2.11"), Files: map[string]File{
		"/etc/sysnode-test.conf": {Data: []byte("mine\n"), Mode: 0o640, Owner: "root:adm"},
	}})
	n := l.Node("n1")
	rep, err := n.Boot(ctx, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if rep.System != "running" {
		t.Errorf("booted %s, want running (failed units: %v)", rep.System, rep.Failed)
	}
	t.Logf("boot to running: %s (systemd's userspace figure %s)", rep.ToRunning, rep.Userspace)
	checks := []struct{ cmd, want string }{
		{"hostname", "n1"},
		{"cat /proc/1/comm", "systemd"},
		{"stat -f -c %T /", "overlayfs"},
		{"stat -f -c %T /tmp", "tmpfs"},
		{"stat -f -c %T /run", "tmpfs"},
		{"systemd-detect-virt --container", "container-other"},
		{"systemctl is-active systemd-journald", "active"},
		{"systemctl is-active systemd-tmpfiles-setup", "active"},
		{"ip -o -4 addr show dev eth0 | awk '{print $4}'", "192.0.2.11/24"},
		{"stat -c '%U:%G %a' /etc/sysnode-test.conf; cat /etc/sysnode-test.conf", "root:adm 640\nmine"},
		{"stat -c '%U:%G %a' /etc/systemd/system", "root:root 755"},
		{"ls /etc/systemd/system/multi-user.target.wants 2>/dev/null | wc -l", "0"},
		{"test -e /var/lib/stackha-test/sysnode/n1 || echo hidden", "hidden"},
	}
	for _, c := range checks {
		out, err := n.Script(ctx, c.cmd)
		if err != nil {
			t.Errorf("%s: %v", c.cmd, err)
			continue
		}
		if got := strings.TrimSpace(out); got != c.want {
			t.Errorf("%s: got %q, want %q", c.cmd, got, c.want)
		}
	}
	host, _ := os.ReadFile("/etc/machine-id")
	if out, _ := n.Run(ctx, "cat", "/etc/machine-id"); out == "" || out == string(host) {
		t.Errorf("the node's machine-id %q is empty or the machine's", out)
	}

	// A unit of the node's own.
	if err := n.WriteFile(ctx, "/etc/systemd/system/sysnode-hello.service", File{Data: []byte(
		"[Service]\nExecStart=/bin/sh -c 'echo hello from $(hostname); exec sleep infinity'\n")}); err != nil {
		t.Fatal(err)
	}
	if _, err := n.Systemctl(ctx, "daemon-reload"); err != nil {
		t.Fatal(err)
	}
	if err := n.Start(ctx, "sysnode-hello.service"); err != nil {
		t.Fatal(err)
	}
	if st, _ := n.ActiveState(ctx, "sysnode-hello.service"); st != "active" {
		t.Errorf("sysnode-hello.service is %q, want active", st)
	}
	waitFor(t, ctx, 5*time.Second, "hello in the unit's journal", func() bool {
		j, _ := n.Journal(ctx, "sysnode-hello.service")
		return strings.Contains(j, "hello from n1")
	})
	if err := n.Stop(ctx, "sysnode-hello.service"); err != nil {
		t.Fatal(err)
	}
	if st, _ := n.ActiveState(ctx, "sysnode-hello.service"); st != "inactive" {
		t.Errorf("sysnode-hello.service is %q after stop, want inactive", st)
	}
	m, err := n.Memory()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("memory of an idle node: %s", m)

	// A power cycle: the disk stays, /tmp and /run go.
	if _, err := n.Script(ctx, "echo disk > /var/lib/sysnode-test; echo tmp > /tmp/sysnode-test; echo run > /run/sysnode-test"); err != nil {
		t.Fatal(err)
	}
	pid := n.Pid()
	if err := n.PowerOff(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat("/proc/" + strconv.Itoa(pid)); err == nil {
		t.Errorf("pid 1 of n1 (%d) survived the power-off", pid)
	}
	if _, err := n.Run(ctx, "true"); err == nil {
		t.Error("a command ran in n1 while it was off")
	}
	if _, err := n.Boot(ctx, time.Minute); err != nil {
		t.Fatal(err)
	}
	out, err := n.Script(ctx, "cat /var/lib/sysnode-test; ls /tmp/sysnode-test /run/sysnode-test 2>&1 | wc -l; systemctl is-enabled sysnode-hello.service || true")
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Fields(out); len(got) < 2 || got[0] != "disk" || got[1] != "2" {
		t.Errorf("after a power cycle: got %q, want the disk's file and neither /tmp's nor /run's", out)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{BaseDir, "/run/netns/" + swNS, "/run/netns/ssn-n1"} {
		if _, err := os.Stat(p); err == nil {
			t.Errorf("%s is left after Close", p)
		}
	}
}

// TestBootCgroup2 boots a node with the cgroup layout of a pure cgroup2
// machine (CI's Debian 12 run by systemd), made of this machine's cgroup2
// hierarchy (which has no controllers here): its systemd runs in unified
// mode, its units in its own subtree.
func TestBootCgroup2(t *testing.T) {
	needNodes(t)
	cg, _ := detectCgroups()
	if cg.named == "" {
		t.Skip("this machine is pure cgroup2: every test boots that way")
	}
	if cg.unified == "" {
		t.Skip("SKIP: this machine has no cgroup2 hierarchy")
	}
	tmpMarker(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	l := newLabOpts(t, ctx, Options{cgroup2Only: true, Nodes: []Spec{{Name: "n1", Addr: netip.MustParseAddr("192.0.2.11")}}})
	n := l.Node("n1")
	rep, err := n.Boot(ctx, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if rep.System != "running" {
		t.Errorf("booted %s, want running (failed units: %v)", rep.System, rep.Failed)
	}
	if err := n.WriteFile(ctx, "/etc/systemd/system/sysnode-hello.service", File{Data: []byte("[Service]\nExecStart=/bin/sleep infinity\n")}); err != nil {
		t.Fatal(err)
	}
	out, err := n.Script(ctx, `systemctl daemon-reload
systemctl start sysnode-hello.service
stat -f -c %T /sys/fs/cgroup
grep "^0::" /proc/$(systemctl show -p MainPID --value sysnode-hello.service)/cgroup`)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := strings.TrimSpace(out), "cgroup2fs\n0::/system.slice/sysnode-hello.service"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if _, err := os.Stat(filepath.Join(cg.unified, cgroupName, "n1", "system.slice", "sysnode-hello.service")); err != nil {
		t.Errorf("the unit's cgroup is not in the node's subtree: %v", err)
	}
}

func waitFor(t *testing.T, ctx context.Context, limit time.Duration, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !ok() {
		if time.Now().After(deadline) || ctx.Err() != nil {
			t.Fatalf("no %s after %s", what, limit)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
