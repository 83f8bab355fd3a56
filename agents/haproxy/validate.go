package haproxy

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os/exec"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/stackha/stackha/instance"
	"github.com/stackha/stackha/ocf"
)

// checkInstalled makes sure the binary exists here (5 when not), and that
// it is root's alone (6 when not: haproxy runs as root); it records the
// resolved path, which the agent runs.
func (o *op) checkInstalled() error {
	exe, err := filepath.EvalSymlinks(o.binary)
	if err != nil {
		return ocf.Installed("haproxy binary %s: %w", instance.Quote(o.binary), err)
	}
	f, st, err := instance.OpenPath(exe, unix.O_RDONLY, 0, instance.RootOnly)
	if err != nil {
		return fileErr("haproxy binary "+instance.Quote(o.binary), err)
	}
	f.Close()
	if st.Mode&0o111 == 0 {
		return ocf.Installed("haproxy binary %s is not an executable file", instance.Quote(exe))
	}
	o.exe = exe
	return nil
}

// loadConfig reads the configuration files, each root's alone (see
// fileErr for the exit codes).
func (o *op) loadConfig() (*Config, error) {
	c, err := LoadConfig(o.configs)
	if err != nil {
		return nil, fileErr("haproxy configuration", err)
	}
	return c, nil
}

// checkConfig is the whole check done by validate-all and before start and
// reload: the binary, the files (the configuration's and those it names:
// trust.go), haproxy -c, the parameters that name parts
// of the configuration, the server state file. It returns the parsed
// configuration and the bind lines this node cannot bind now.
func (o *op) checkConfig(ctx context.Context) (*Config, []BindProblem, error) {
	if err := o.checkInstalled(); err != nil {
		return nil, nil, err
	}
	c, err := o.loadConfig()
	if err != nil {
		return nil, nil, err
	}
	if err := checkStatePath(c); err != nil {
		return nil, nil, err
	}
	// Before haproxy -c, which reads them as root and runs the Lua code.
	if err := checkRefs(c); err != nil {
		return nil, nil, err
	}
	if err := o.haproxyCheck(ctx, c); err != nil {
		return nil, nil, err
	}
	have := map[string]bool{}
	for _, b := range c.BackendsWithServers() {
		have[b] = true
	}
	var unknown []string
	for _, b := range o.backends {
		if !have[b] {
			unknown = append(unknown, instance.Quote(b))
		}
	}
	if len(unknown) > 0 {
		return nil, nil, ocf.Configured("check_level_10_backends names %s, not a backend with servers in the configuration (those are: %s)",
			strings.Join(unknown, ", "), listCapped(quoteAll(c.BackendsWithServers()), ", "))
	}
	if o.statsSocket == "" && c.AdminSocket() == "" {
		o.log.Debugf("no admin-level stats socket in the configuration: the runtime API is reached through the master socket")
	}
	problems, err := CheckBinds(c, o.view)
	if err != nil {
		return nil, nil, ocf.Generic("checking bind addresses: %w", err)
	}
	return c, problems, nil
}

// checkStatePath refuses a server-state-file the agent could not write
// safely: one whose path haproxy resolves from its working directory, or
// in a directory chain someone but root can change (the agent writes it as
// root before each reload).
func checkStatePath(c *Config) error {
	p, err := c.ServerStatePath()
	if err != nil {
		return ocf.Configured("%w", err)
	}
	if p == "" {
		return nil
	}
	d, err := instance.OpenDir(filepath.Dir(p), instance.RootOnly)
	if errors.Is(err, fs.ErrNotExist) {
		return nil // created, root's alone, at the first reload
	}
	if err != nil {
		return ocf.Configured("server-state-file %s: %v: the agent writes it as root, so its directories must be root's alone", instance.Quote(p), err)
	}
	d.Close()
	return nil
}

func quoteAll(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = instance.Quote(s)
	}
	return out
}

// haproxyCheck runs haproxy -c on the operator's files with the extra
// arguments; a rejection is 6, with haproxy's first error line.
func (o *op) haproxyCheck(ctx context.Context, c *Config) error {
	args := []string{"-c"}
	for _, f := range c.Files {
		args = append(args, "-f", f)
	}
	args = append(args, o.extraArgs...)
	cmd := exec.CommandContext(ctx, o.exe, args...)
	cmd.Dir = "/"
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if ctx.Err() != nil {
		return ocf.Generic("haproxy -c did not finish in time: %w", ctx.Err())
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ocf.Configured("haproxy -c rejects the configuration: %s", instance.Quote(firstAlert(out.String())))
	}
	if err != nil {
		return ocf.Installed("running %s -c: %w", instance.Quote(o.exe), err)
	}
	return nil
}

// haproxyMessage strips haproxy's "[ALERT]    (1234) : " prefix.
func haproxyMessage(line string) string {
	line = strings.TrimSpace(line)
	if i := strings.Index(line, ") : "); i >= 0 && strings.HasPrefix(line, "[") {
		return strings.TrimSpace(line[i+4:])
	}
	return line
}

// firstAlert is haproxy's first error line in out (or its last line).
func firstAlert(out string) string {
	var last string
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(strings.TrimSpace(l), "[ALERT]") {
			return haproxyMessage(l)
		}
		if strings.TrimSpace(l) != "" {
			last = l
		}
	}
	if last == "" {
		return "no message"
	}
	return haproxyMessage(last)
}

// alerts lists every error line haproxy printed, without prefixes.
func alerts(out string) []string {
	var a []string
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(strings.TrimSpace(l), "[ALERT]") {
			a = append(a, haproxyMessage(l))
		}
	}
	return a
}

// validateAll checks the parameters (done by configure) at level 0, what
// any node can judge; at level 10 (the default) also this node: the binary,
// the files, haproxy -c, the bind addresses.
func (o *op) validateAll(ctx context.Context) error {
	if o.checkLevel < 10 {
		return nil
	}
	_, problems, err := o.checkConfig(ctx)
	if err != nil {
		return err
	}
	// Not an error: in the usual setup the VIP arrives on this node right
	// before haproxy starts (order constraint), and a stopped clone instance
	// never binds. start reports it if it still holds then.
	for _, p := range problems {
		o.log.Warnf("%s", p)
	}
	return nil
}

func describeBindProblems(ps []BindProblem) string {
	var s []string
	for _, p := range ps {
		s = append(s, p.String())
	}
	return strings.Join(s, "; ")
}
