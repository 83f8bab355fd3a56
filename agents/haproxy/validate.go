package haproxy

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"strings"

	"github.com/stackha/stackha/ocf"
)

// checkInstalled makes sure the binary exists here (5 when not).
func (in *instance) checkInstalled() error {
	st, err := os.Stat(in.binary)
	if err != nil {
		return ocf.Installed("haproxy binary %s: %v", in.binary, err)
	}
	if st.IsDir() || st.Mode().Perm()&0o111 == 0 {
		return ocf.Installed("haproxy binary %s is not an executable file", in.binary)
	}
	return nil
}

// loadConfig reads the configuration files; a file missing on this node is
// 5 (it may exist on the others), one that cannot be read is 4.
func (in *instance) loadConfig() (*Config, error) {
	c, err := LoadConfig(in.configs)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, ocf.Installed("haproxy configuration: %v", err)
	case errors.Is(err, fs.ErrPermission):
		return nil, ocf.Perm("haproxy configuration: %v", err)
	case err != nil:
		return nil, ocf.Installed("haproxy configuration: %v", err)
	}
	return c, nil
}

// checkConfig is the whole check done by validate-all and before start and
// reload: the binary, the files, haproxy -c, the parameters that name parts
// of the configuration. It returns the parsed configuration and the bind
// lines this node cannot bind now.
func (in *instance) checkConfig(ctx context.Context) (*Config, []BindProblem, error) {
	if err := in.checkInstalled(); err != nil {
		return nil, nil, err
	}
	c, err := in.loadConfig()
	if err != nil {
		return nil, nil, err
	}
	if err := in.haproxyCheck(ctx); err != nil {
		return nil, nil, err
	}
	have := map[string]bool{}
	for _, b := range c.BackendsWithServers() {
		have[b] = true
	}
	var unknown []string
	for _, b := range in.backends {
		if !have[b] {
			unknown = append(unknown, b)
		}
	}
	if len(unknown) > 0 {
		return nil, nil, ocf.Configured("check_level_10_backends names %s, not a backend with servers in the configuration (those are: %s)",
			strings.Join(unknown, ", "), strings.Join(c.BackendsWithServers(), ", "))
	}
	if in.statsSocket == "" && c.AdminSocket() == "" {
		in.log.Debugf("no admin-level stats socket in the configuration: the runtime API is reached through the master socket")
	}
	problems, err := CheckBinds(c, in.view)
	if err != nil {
		return nil, nil, ocf.Generic("checking bind addresses: %w", err)
	}
	return c, problems, nil
}

// haproxyCheck runs haproxy -c on the operator's files with the extra
// arguments; a rejection is 6, with haproxy's first error line.
func (in *instance) haproxyCheck(ctx context.Context) error {
	args := []string{"-c"}
	for _, c := range in.configs {
		args = append(args, "-f", c)
	}
	args = append(args, in.extraArgs...)
	cmd := exec.CommandContext(ctx, in.binary, args...)
	cmd.Dir = "/"
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if ctx.Err() != nil {
		return ocf.Generic("haproxy -c did not finish in time: %w", ctx.Err())
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ocf.Configured("haproxy -c rejects the configuration: %s", firstAlert(out.String()))
	}
	if err != nil {
		return ocf.Installed("running %s -c: %v", in.binary, err)
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

// validateAll checks the parameters (done by newInstance) at level 0, what
// any node can judge; at level 10 (the default) also this node: the binary,
// the files, haproxy -c, the bind addresses.
func (in *instance) validateAll(ctx context.Context) error {
	if in.checkLevel < 10 {
		return nil
	}
	_, problems, err := in.checkConfig(ctx)
	if err != nil {
		return err
	}
	// Not an error: in the usual setup the VIP arrives on this node right
	// before haproxy starts (order constraint), and a stopped clone instance
	// never binds. start reports it if it still holds then.
	for _, p := range problems {
		in.log.Warnf("%s", p)
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
