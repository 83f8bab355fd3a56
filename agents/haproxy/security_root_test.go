package haproxy

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stackha/stackha/instance"
	"github.com/stackha/stackha/ocf"
)

// decoyEnv makes the test binary a decoy: it sleeps, and any signal that
// ends a process by default ends it (so a signal from the agent shows).
const decoyEnv = "SHH_HAPROXY_DECOY"

// realRoot is instance.Root outside the tests: where the agent binary
// that ocf-tester runs keeps its state.
var realRoot string

func TestMain(m *testing.M) {
	if os.Getenv(decoyEnv) == "1" {
		time.Sleep(time.Hour)
		os.Exit(0)
	}
	if len(os.Args) > 1 && os.Args[1] == watchCmd {
		runTestWatcher()
	}
	if path := os.Getenv(fakeStatsEnv); path != "" {
		serveFakeStats(path, os.Getenv(fakeStatsModeEnv))
		os.Exit(0)
	}
	// The instances' state goes to a directory of the tests' own, never
	// the real /run/stackha (root-only: /tmp's sticky bit lets it be an
	// ancestor).
	dir, err := os.MkdirTemp("/tmp", "shh-state-")
	if err != nil {
		panic(err)
	}
	realRoot, instance.Root = instance.Root, filepath.Join(dir, "stackha")
	code := m.Run()
	os.RemoveAll(dir)
	if binary02 != "" { // stackha 0.2, built by TestUpgradeFrom02
		os.RemoveAll(filepath.Dir(binary02))
	}
	os.Exit(code)
}

// nobodyBinary is a copy of the test binary that nobody can run, in a
// directory of its own (made once per rig).
func (r *rig) nobodyBinary(name string) string {
	r.t.Helper()
	self, err := os.Executable()
	if err != nil {
		r.t.Fatal(err)
	}
	dir, err := os.MkdirTemp("/tmp", "shh-nobody-")
	if err != nil {
		r.t.Fatal(err)
	}
	r.t.Cleanup(func() { os.RemoveAll(dir) })
	os.Chmod(dir, 0o755)
	bin := filepath.Join(dir, name)
	src, err := os.Open(self)
	if err != nil {
		r.t.Fatal(err)
	}
	defer src.Close()
	dst, err := os.OpenFile(bin, os.O_CREATE|os.O_WRONLY, 0o755)
	if err != nil {
		r.t.Fatal(err)
	}
	if _, err := io.Copy(dst, src); err != nil {
		r.t.Fatal(err)
	}
	dst.Close()
	return bin
}

// runAsNobody runs bin as nobody in a session of its own with the command
// line argv and the environment env; it is killed when the test ends.
func (r *rig) runAsNobody(bin string, argv, env []string) *exec.Cmd {
	r.t.Helper()
	cmd := exec.Command(bin)
	cmd.Args = argv
	cmd.Env = env
	cmd.Dir = "/"
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	if err := cmd.Start(); err != nil {
		r.t.Fatalf("starting %s as nobody: %v", bin, err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	r.t.Cleanup(func() { cmd.Process.Kill(); <-done })
	return cmd
}

// startDecoy runs, as nobody in a session of its own, a copy of the test
// binary named haproxy-x whose command line is this rig's haproxy command
// line (the master socket included). It returns the decoy's pid; the decoy
// is killed when the test ends.
func (r *rig) startDecoy() int {
	r.t.Helper()
	bin := r.nobodyBinary("haproxy-x")
	cmd := r.runAsNobody(bin, []string{"haproxy-x", "-W", "-D", "-S", r.socket + ",mode,600", "-p", r.env["OCF_RESKEY_pidfile"], "-f", r.cfg},
		[]string{decoyEnv + "=1"})
	// Wait until /proc shows the decoy's command line.
	eventually(r.t, 5*time.Second, "the decoy runs", func() error {
		cl, err := instance.Cmdline(cmd.Process.Pid)
		if err != nil || !strings.Contains(strings.Join(cl, " "), r.socket) {
			return os.ErrNotExist
		}
		return nil
	})
	return cmd.Process.Pid
}

func alive(pid int) bool {
	p, err := instance.ReadProc(pid)
	return err == nil && !p.Zombie()
}

// Finding 3: processes named haproxy* run by another user with this
// instance's master socket on their command line are not ours: a probe
// says 7, stop succeeds, and they are never signalled — also when the
// configuration runs the workers as that very user.
func TestDecoysAreNeverOurs(t *testing.T) {
	for _, user := range []string{"", "nobody"} {
		t.Run("user="+user, func(t *testing.T) {
			r := newRig(t)
			r.writeConfig(cfgOpts{User: user})
			decoys := []int{r.startDecoy(), r.startDecoy()}
			r.must("monitor", ocf.NotRunning, "OCF_RESKEY_CRM_meta_interval=0")
			r.must("stop", ocf.Success)
			r.must("start", ocf.Success)
			r.must("monitor", ocf.Success, "OCF_RESKEY_CRM_meta_interval=10000")
			if user != "" {
				eventually(t, 5*time.Second, "depth 10", func() error {
					if code, out := r.run("monitor", "OCF_CHECK_LEVEL=10"); code != ocf.Success {
						return fmt.Errorf("exit %d: %s", code, out)
					}
					return nil
				})
			}
			decoys = append(decoys, r.startDecoy())
			r.must("stop", ocf.Success, "OCF_RESKEY_stop_timeout=2s")
			if left := r.left(); len(left) > 0 {
				t.Fatalf("haproxy processes after stop: %v", left)
			}
			r.must("monitor", ocf.NotRunning, "OCF_RESKEY_CRM_meta_interval=0")
			for _, d := range decoys {
				if !alive(d) {
					t.Errorf("decoy %d was signalled", d)
				}
			}
		})
	}
}

// Finding 7: stop removes only a socket that is a socket and a pid file
// that is this haproxy's; start refuses a pid file or socket in a directory
// another user can write, and a stale file that is not a pid file.
func TestFilesNamedByParametersLeftAlone(t *testing.T) {
	r := newRig(t)
	notSocket := filepath.Join(r.dir, "precious.sock")
	notPid := filepath.Join(r.dir, "precious.pid")
	for _, p := range []string{notSocket, notPid} {
		if err := os.WriteFile(p, []byte("root:x:0:0:root:/root:/bin/bash\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	out := r.must("stop", ocf.Success, "OCF_RESKEY_master_socket="+notSocket, "OCF_RESKEY_pidfile="+notPid)
	for _, p := range []string{notSocket, notPid} {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("stop removed %s: %v\n%s", p, err, out)
		}
	}
	code, out := r.run("start", "OCF_RESKEY_pidfile="+notPid)
	if code != ocf.ErrConfigured || !strings.Contains(out, "not a pid file") {
		t.Errorf("start over a file that is not a pid file: %d %s", code, out)
	}
	code, out = r.run("start", "OCF_RESKEY_master_socket="+notSocket)
	if code != ocf.ErrConfigured || !strings.Contains(out, "not a socket") {
		t.Errorf("start over a file that is not a socket: %d %s", code, out)
	}

	// nobody's directory, with a link planted where the pid file goes:
	// haproxy (root) would write its pid through it.
	victim := filepath.Join(r.dir, "victim")
	os.WriteFile(victim, []byte("intact\n"), 0o644)
	userDir := filepath.Join(r.dir, "user")
	os.Mkdir(userDir, 0o755)
	os.Chown(userDir, 65534, 65534)
	os.Chmod(r.dir, 0o711)
	link := filepath.Join(userDir, "haproxy.pid")
	os.Symlink(victim, link)
	os.Lchown(link, 65534, 65534)
	code, out = r.run("start", "OCF_RESKEY_pidfile="+link)
	if code != ocf.ErrPerm || !strings.Contains(out, "not by root") {
		t.Errorf("start with the pid file in nobody's directory: %d %s", code, out)
	}
	if b, _ := os.ReadFile(victim); string(b) != "intact\n" {
		t.Errorf("the link's target was written: %q", b)
	}
	if left := r.left(); len(left) > 0 {
		t.Fatalf("haproxy processes after a refused start: %v", left)
	}
}
