package steady

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"strings"
	"time"

	"github.com/stackha/stackha/internal/testutil"
)

// Check is one way of watching something: Run makes one call and returns
// the CPU it took; Service, when not nil, returns the CPU the service it
// asks has used so far.
type Check struct {
	Key     string
	Run     func() (time.Duration, error)
	Service func() (time.Duration, error)
}

// Measure runs warm rounds and then runs rounds of every check, the checks
// taking turns within a round, and returns each check's median CPU per call
// and the service's mean CPU per measured call (the service's CPU read just
// before and after each call, so the turns of other checks do not count).
func Measure(ctx context.Context, checks []Check, runs, warm int) (map[string]Result, error) {
	if runs < 1 || warm < 0 {
		return nil, fmt.Errorf("runs %d, warm %d: want runs >= 1, warm >= 0", runs, warm)
	}
	cpus := map[string][]time.Duration{}
	served := map[string]time.Duration{}
	for i := 0; i < warm+runs; i++ {
		for _, c := range checks {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			var before time.Duration
			if c.Service != nil {
				var err error
				if before, err = c.Service(); err != nil {
					return nil, fmt.Errorf("%s: service CPU: %w", c.Key, err)
				}
			}
			cpu, err := c.Run()
			if err != nil {
				return nil, fmt.Errorf("%s: %w", c.Key, err)
			}
			if i < warm {
				continue
			}
			cpus[c.Key] = append(cpus[c.Key], cpu)
			if c.Service != nil {
				after, err := c.Service()
				if err != nil {
					return nil, fmt.Errorf("%s: service CPU: %w", c.Key, err)
				}
				served[c.Key] += after - before
			}
		}
	}
	out := map[string]Result{}
	for _, c := range checks {
		out[c.Key] = Result{CPU: testutil.Median(cpus[c.Key]), Service: served[c.Key] / time.Duration(runs), Runs: runs}
	}
	return out, nil
}

// ExecCPU runs cmd, wants the exit code want, and returns the user+system
// CPU of the process and the children it waited for (wait4's rusage).
func ExecCPU(cmd *exec.Cmd, want int) (time.Duration, error) {
	var stderr bytes.Buffer
	cmd.Stdout = nil
	cmd.Stderr = &stderr
	err := cmd.Run()
	if cmd.ProcessState == nil {
		return 0, fmt.Errorf("%s: %w", strings.Join(cmd.Args, " "), err)
	}
	if code := cmd.ProcessState.ExitCode(); code != want {
		msg := stderr.String()
		if len(msg) > 2048 {
			msg = msg[len(msg)-2048:]
		}
		return 0, fmt.Errorf("%s: exit %d, want %d: %s", strings.Join(cmd.Args, " "), code, want, strings.TrimSpace(msg))
	}
	return cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime(), nil
}
