package openstacktest

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/stackha/stackha/instance"
)

// StopSession ends what a sandbox's service left running: the session led
// by the pid in pidfile, if that pid still leads its own session and runs
// program (the sandbox's own service, not a pid reused since). SIGTERM,
// then SIGKILL after a few seconds. For test cleanups only; the agent's own
// stop is what the tests test.
func StopSession(pidfile, program string) {
	b, err := os.ReadFile(pidfile)
	if err != nil {
		return
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 1 || sessionOf(pid) != pid {
		return
	}
	if exe, err := instance.Exe(pid); err != nil || !sameProgram(exe, program) {
		return
	}
	syscall.Kill(-pid, syscall.SIGTERM)
	syscall.Kill(-pid, syscall.SIGCONT)
	for i := 0; i < 50 && sessionAlive(pid); i++ {
		time.Sleep(100 * time.Millisecond)
	}
	if sessionAlive(pid) {
		syscall.Kill(-pid, syscall.SIGKILL)
	}
}

// sameProgram accepts the program itself (through its links: uwsgi_python3
// is uwsgi-core) or, for a script, its interpreter.
func sameProgram(exe, program string) bool {
	if real, err := filepath.EvalSymlinks(program); exe == program || err == nil && real == exe {
		return true
	}
	head, err := os.ReadFile(program)
	if err != nil || !bytes.HasPrefix(head, []byte("#!")) {
		return false
	}
	line, _, _ := bytes.Cut(head[2:], []byte("\n"))
	f := strings.Fields(string(line))
	if len(f) == 0 {
		return false
	}
	interp := f[0]
	if filepath.Base(interp) == "env" && len(f) > 1 {
		if interp, err = exec.LookPath(f[1]); err != nil {
			return false
		}
	}
	real, err := filepath.EvalSymlinks(interp)
	return err == nil && real == exe
}

// sessionOf is the session id of pid, or 0.
func sessionOf(pid int) int {
	p, err := instance.ReadProc(pid)
	if err != nil || p.Zombie() {
		return 0
	}
	return p.Session
}

func sessionAlive(sid int) bool {
	ps, err := instance.Processes(func(p instance.Proc) bool { return p.Session == sid }, func(instance.Proc) bool { return true })
	return err == nil && len(ps) > 0
}
