package instance

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stackha/stackha/internal/testutil/require"
)

// child is a process a test started in a session of its own.
type child struct {
	cmd  *exec.Cmd
	once sync.Once
	err  error
}

// startSession starts name in a new session (as a service is), killed with
// its whole process group at the end of the test.
func startSession(t *testing.T, name string, args ...string) *child {
	t.Helper()
	return startCmd(t, func() *exec.Cmd { return exec.Command(name, args...) })
}

// startCmd starts the command newCmd makes in a new session.
func startCmd(t *testing.T, newCmd func() *exec.Cmd) *child {
	t.Helper()
	var cmd *exec.Cmd
	var err error
	for range 10 { // a script just written may be busy for a moment (ETXTBSY)
		cmd = newCmd()
		cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
		if err = cmd.Start(); !errors.Is(err, syscall.ETXTBSY) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err != nil {
		t.Fatal(err)
	}
	c := &child{cmd: cmd}
	t.Cleanup(func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		c.wait()
	})
	return c
}

func (c *child) pid() int { return c.cmd.Process.Pid }

func (c *child) wait() error {
	c.once.Do(func() { c.err = c.cmd.Wait() })
	return c.err
}

// eventually polls f until it holds, for up to 10 s.
func eventually(t *testing.T, what string, f func() bool) {
	t.Helper()
	for end := time.Now().Add(10 * time.Second); !f(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(end) {
			t.Fatalf("%s: not after 10 s", what)
		}
	}
}

func sleepPath(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("sleep")
	if err != nil {
		t.Fatal(err)
	}
	if p, err = filepath.EvalSymlinks(p); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestIdentifyAndCheck(t *testing.T) {
	c := startSession(t, "sleep", "30")
	id, err := Identify(c.pid(), false)
	if err != nil {
		t.Fatal(err)
	}
	self, _ := ReadProc(os.Getpid())
	if id.PID != c.pid() || id.Session != c.pid() || id.UID != uint32(os.Geteuid()) || id.Start < self.Start || id.Exe != "" {
		t.Errorf("Identify = %+v", id)
	}
	if err := id.Valid(); err != nil {
		t.Error(err)
	}
	if err := id.Check(); err != nil {
		t.Errorf("Check of a live process: %v", err)
	}
	withExe, err := Identify(c.pid(), true)
	if err != nil {
		t.Fatal(err)
	}
	if withExe.Exe != sleepPath(t) {
		t.Errorf("Identify with exe: %q, want %q", withExe.Exe, sleepPath(t))
	}
	if err := withExe.Check(); err != nil {
		t.Errorf("Check with exe: %v", err)
	}
	// As a record keeps it.
	b, err := json.Marshal(id)
	if err != nil || strings.Contains(string(b), "exe") {
		t.Errorf("an identity without exe as JSON: %s, %v", b, err)
	}
	var back Identity
	if b, err = json.Marshal(withExe); err != nil || json.Unmarshal(b, &back) != nil || back != withExe {
		t.Errorf("an identity through JSON: %s gives %+v", b, back)
	}
	for _, pid := range []int{0, -1, 1 << 30} {
		if id, err := Identify(pid, false); err == nil {
			t.Errorf("Identify(%d) = %+v", pid, id)
		}
	}
}

// An identity that differs in anything from the process at its pid is
// not that process: Check says why, Signal sends nothing.
func TestCheckAnotherProcess(t *testing.T) {
	c := startSession(t, "sleep", "30")
	time.Sleep(30 * time.Millisecond) // start times count ticks of 10 ms
	other := startSession(t, "sleep", "30")
	id, err := Identify(c.pid(), true)
	if err != nil {
		t.Fatal(err)
	}
	if o, err := Identify(other.pid(), true); err != nil || o.Start == id.Start {
		t.Fatalf("two processes started at the same tick: %+v, %+v, %v", id, o, err)
	}
	cases := []struct {
		name string
		mut  func(*Identity)
		why  string
		gone bool // the recorded process is gone: Signal sends nothing, and says nothing
	}{
		{"a later start", func(i *Identity) { i.Start++ }, "is another process now", true},
		{"an earlier start", func(i *Identity) { i.Start-- }, "is another process now", true},
		{"another pid", func(i *Identity) { i.PID = other.pid() }, "is another process now", true},
		{"another uid", func(i *Identity) { i.UID++ }, "ours to uid", false},
		{"another session", func(i *Identity) { i.Session++ }, "ours was in", false},
		{"another program", func(i *Identity) { i.Exe = "/usr/bin/false" }, `ours ran "/usr/bin/false"`, false},
	}
	for _, cs := range cases {
		wrong := id
		cs.mut(&wrong)
		err := wrong.Check()
		wantErr(t, cs.name, err, cs.why)
		err = wrong.Signal(syscall.SIGKILL)
		if cs.gone {
			if err != nil {
				t.Errorf("%s: Signal: %v, want nil", cs.name, err)
			}
		} else {
			wantErr(t, cs.name+": Signal", err, "not signalled")
		}
	}
	for _, p := range []*child{c, other} {
		if err := syscall.Kill(p.pid(), 0); err != nil {
			t.Errorf("pid %d was signalled: %v", p.pid(), err)
		}
	}
	if err := id.Check(); err != nil {
		t.Errorf("the true identity: %v", err)
	}
}

func TestCheckAfterExit(t *testing.T) {
	c := startSession(t, "sleep", "30")
	id, err := Identify(c.pid(), false)
	if err != nil {
		t.Fatal(err)
	}
	if err := id.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the child is a zombie", func() bool {
		p, err := ReadProc(c.pid())
		return err == nil && p.Zombie()
	})
	wantErr(t, "Check of a zombie", id.Check(), "has exited")
	_, err = Identify(c.pid(), false)
	wantErr(t, "Identify of a zombie", err, "has exited")
	if err := id.Signal(syscall.SIGTERM); err != nil {
		t.Errorf("Signal of a process that has exited: %v, want nil", err)
	}
	c.wait()
	wantErr(t, "Check of a reaped process", id.Check(), "is gone")
	if err := id.Signal(syscall.SIGTERM); err != nil {
		t.Errorf("Signal of a process that is gone: %v, want nil", err)
	}
	if ms, err := id.Members(); err != nil || len(ms) != 0 {
		t.Errorf("Members of a session that is gone: %v, %v", ms, err)
	}
	if err := id.SignalSession(syscall.SIGKILL); err != nil {
		t.Errorf("SignalSession of a session that is gone: %v", err)
	}
	if !id.WaitGone(context.Background(), time.Now()) {
		t.Error("WaitGone of a session that is gone: false")
	}
}

func TestValid(t *testing.T) {
	for _, c := range []struct {
		id Identity
		ok bool
	}{
		{Identity{PID: 100, Start: 5, Session: 100}, true},
		{Identity{PID: 100, Start: 5, Session: 99}, true},
		{Identity{}, false},
		{Identity{PID: 1, Start: 5, Session: 100}, false},
		{Identity{PID: -5, Start: 5, Session: 100}, false},
		{Identity{PID: 100, Start: 0, Session: 100}, false},
		{Identity{PID: 100, Start: 5, Session: 0}, false},
		{Identity{PID: 100, Start: 5, Session: 1}, false},
	} {
		if err := c.id.Valid(); (err == nil) != c.ok {
			t.Errorf("%+v.Valid() = %v, want ok=%t", c.id, err, c.ok)
		}
	}
}

// A service started through a wrapper that execs it: the identity taken
// right after the start without the executable still holds after the
// exec; one with the executable recorded then may not.
func TestIdentityThroughAWrapper(t *testing.T) {
	dir := t.TempDir()
	script := filepath.Join(dir, "wrapper")
	writeFile(t, script, "#!/bin/sh\nexec sleep 30\n", 0o755)
	c := startSession(t, script)
	plain, err := Identify(c.pid(), false)
	if err != nil {
		t.Fatal(err)
	}
	withExe, err := Identify(c.pid(), true)
	if err != nil {
		t.Fatal(err)
	}
	sleep := sleepPath(t)
	eventually(t, "the wrapper execs sleep", func() bool {
		exe, err := Exe(c.pid())
		return err == nil && exe == sleep
	})
	if err := plain.Check(); err != nil {
		t.Errorf("the identity without exe after the exec: %v", err)
	}
	t.Logf("exe right after the start: %s", withExe.Exe)
	if withExe.Exe != sleep {
		wantErr(t, "the identity with the wrapper's exe after the exec", withExe.Check(), "runs")
	}
}

// SignalSession reaches every process of the session, a grandchild too;
// WaitGone then sees none left.
func TestSignalSession(t *testing.T) {
	c := startSession(t, "sh", "-c", "sleep 30 & sleep 31; :")
	id, err := Identify(c.pid(), false)
	if err != nil {
		t.Fatal(err)
	}
	var ms []Proc
	eventually(t, "three members", func() bool {
		ms, err = id.Members()
		return err == nil && len(ms) == 3
	})
	if !slices.Contains(pids(ms), c.pid()) {
		t.Errorf("Members %v lacks the leader %d", pids(ms), c.pid())
	}
	for _, p := range ms {
		if p.Session != id.Session || p.UID != id.UID || p.Start < id.Start {
			t.Errorf("Members lists %+v", p)
		}
	}
	if slices.Contains(pids(ms), os.Getpid()) {
		t.Error("Members lists the test")
	}
	ctx := context.Background()
	if id.WaitGone(ctx, time.Now().Add(100*time.Millisecond)) {
		t.Error("WaitGone: true while the session runs")
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	begin := time.Now()
	if id.WaitGone(cctx, time.Now().Add(time.Minute)) || time.Since(begin) > 5*time.Second {
		t.Error("WaitGone of a cancelled context: true, or did not return")
	}
	if err := id.SignalSession(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if !id.WaitGone(ctx, time.Now().Add(10*time.Second)) {
		t.Fatalf("WaitGone: members left after SIGKILL: %v", ms)
	}
	for _, p := range ms {
		if q, err := ReadProc(p.PID); err == nil && !q.Zombie() && q.Start == p.Start {
			t.Errorf("pid %d survived SIGKILL", p.PID)
		}
	}
}

// The leader gone, what it left in its session is still found and
// signalled.
func TestSignalSessionWithoutLeader(t *testing.T) {
	var leave *os.File
	c := startCmd(t, func() *exec.Cmd {
		cmd := exec.Command("sh", "-c", "sleep 30 <&- & read x")
		r, w, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { r.Close(); w.Close() })
		cmd.Stdin, leave = r, w
		return cmd
	})
	id, err := Identify(c.pid(), false)
	if err != nil {
		t.Fatal(err)
	}
	leave.Close() // the leader reads EOF and exits
	c.wait()
	var ms []Proc
	eventually(t, "the orphan in the session", func() bool {
		ms, err = id.Members()
		return err == nil && len(ms) == 1
	})
	if id.Check() == nil {
		t.Fatal("the leader still checks")
	}
	if err := id.SignalSession(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if !id.WaitGone(context.Background(), time.Now().Add(10*time.Second)) {
		t.Fatalf("the orphan %d survived", ms[0].PID)
	}
}

// Members lists the recorded owner's processes of the session only, from
// fixtures: never a process of another uid (real or effective), one started
// before the leader (a reused session id) or a zombie.
func TestMembersFixtures(t *testing.T) {
	dir := fakeProc(t)
	addProc(t, dir, 300, statLine(300, "leader", 'S', 1, 300, 300, 1000), statusText("leader", 33, 33))
	addProc(t, dir, 301, statLine(301, "child", 'S', 300, 300, 300, 1001), statusText("child", 33, 33))
	addProc(t, dir, 302, statLine(302, "grandchild", 'S', 301, 302, 300, 1002), statusText("g", 33, 33))
	addProc(t, dir, 303, statLine(303, "root", 'S', 300, 300, 300, 1003), statusText("root", 0, 0))
	addProc(t, dir, 304, statLine(304, "setuid", 'S', 300, 300, 300, 1004), statusText("su", 33, 0))
	addProc(t, dir, 305, statLine(305, "nobody", 'S', 300, 300, 300, 1005), statusText("x", 65534, 65534))
	addProc(t, dir, 306, statLine(306, "older", 'S', 1, 306, 300, 999), statusText("older", 33, 33))
	addProc(t, dir, 307, statLine(307, "zombie", 'Z', 300, 300, 300, 1007), statusText("z", 33, 33))
	addProc(t, dir, 308, statLine(308, "elsewhere", 'S', 1, 308, 308, 1008), statusText("e", 33, 33))
	id := Identity{PID: 300, Start: 1000, UID: 33, Session: 300}
	ms, err := id.Members()
	if got, want := pids(ms), []int{300, 301, 302}; err != nil || !slices.Equal(got, want) {
		t.Errorf("Members = %v, %v; want %v", got, err, want)
	}
	if err := id.Check(); err != nil {
		t.Errorf("Check of the fixture leader: %v", err)
	}
}

// The real thing, as root: a process of the session that became nobody is
// never a member.
func TestMembersNeverAnotherUID(t *testing.T) {
	require.Root(t)
	require.Command(t, "setpriv")
	c := startSession(t, "sh", "-c", "setpriv --reuid=65534 --regid=65534 --clear-groups sleep 30 & sleep 31; :")
	id, err := Identify(c.pid(), false)
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "a process of nobody's in the session", func() bool {
		ps, err := Processes(func(p Proc) bool { return p.Session == id.Session }, func(p Proc) bool { return p.UID == nobody && p.EUID == nobody })
		return err == nil && len(ps) == 1
	})
	eventually(t, "the leader and its sleep", func() bool {
		ms, err := id.Members()
		return err == nil && len(ms) == 2
	})
	ms, err := id.Members()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range ms {
		if p.UID != 0 || p.EUID != 0 {
			t.Errorf("Members lists %+v", p)
		}
	}
}
