package sysnode

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"sync"
	"time"
)

// run runs a program on the machine to completion and returns its combined
// output; the error names the command and carries the output.
func run(ctx context.Context, name string, args ...string) (string, error) {
	return runIn(ctx, "", name, args...)
}

// runIn is run with stdin.
func runIn(ctx context.Context, stdin, name string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.WaitDelay = 2 * time.Second
	cmd.Stdin = strings.NewReader(stdin)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return out.String(), fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, strings.TrimSpace(out.String()))
	}
	return out.String(), nil
}

// ipBatch runs ip's commands in network namespace ns, one batch.
func ipBatch(ctx context.Context, ns string, cmds []string) error {
	_, err := runIn(ctx, strings.Join(cmds, "\n")+"\n", "ip", "-n", ns, "-batch", "-")
	return err
}

// logger writes the lab's progress: one line a step, with the time since
// the lab began.
type logger struct {
	mu    sync.Mutex
	w     io.Writer
	start time.Time
}

func (l *logger) Printf(format string, a ...any) {
	if l == nil || l.w == nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	fmt.Fprintf(l.w, "[%6.2fs] %s\n", time.Since(l.start).Seconds(), fmt.Sprintf(format, a...))
}
