package instance

import (
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"syscall"
)

// SpawnSelf starts self (the running binary, links resolved, which is
// also its argv[0]) with args, detached in a session of its
// own, its standard streams /dev/null, in dir ("" for the caller's), with
// env, and returns its identity once it has exec'd. It inherits no other
// descriptor (an instance's lock is close-on-exec). A child that is not
// self leading its own session is killed and reported. The helpers an
// agent leaves running (vip's announcer, the event watchers) start here.
func SpawnSelf(self string, args, env []string, dir string) (Identity, error) {
	if self == "" {
		return Identity{}, errors.New("the path of the running binary is unknown")
	}
	if resolved, err := filepath.EvalSymlinks(self); err == nil {
		self = resolved
	}
	if env == nil {
		env = []string{}
	}
	cmd := &exec.Cmd{Path: self, Args: append([]string{self}, args...), Env: env, Dir: dir,
		SysProcAttr: &syscall.SysProcAttr{Setsid: true}}
	if err := cmd.Start(); err != nil {
		return Identity{}, err
	}
	pid := cmd.Process.Pid
	// Start returns once the child has exec'd: its executable is final.
	id, err := Identify(pid, true)
	if err == nil && (id.Session != pid || id.Exe != self) {
		err = fmt.Errorf("it runs %s in session %d", Quote(id.Exe), id.Session)
	}
	if err != nil {
		cmd.Process.Kill()
		cmd.Wait()
		return Identity{}, fmt.Errorf("process %d: %w", pid, err)
	}
	cmd.Process.Release()
	return id, nil
}

// CheckHelper refuses a recorded identity that cannot be one SpawnSelf
// returned: implausible, not the leader of its own session, or without
// its program (a record that says so is broken, not "nothing running").
func (id Identity) CheckHelper() error {
	if err := id.Valid(); err != nil {
		return err
	}
	if id.PID != id.Session || !filepath.IsAbs(id.Exe) {
		return fmt.Errorf("process %d: not a session leader running a program (session %d, executable %s)",
			id.PID, id.Session, Quote(id.Exe))
	}
	return nil
}
