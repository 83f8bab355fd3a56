package harness

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"time"
)

// run runs a program to completion and returns its combined output; the
// error names the command and carries the output.
func Run(ctx context.Context, name string, args ...string) (string, error) {
	return runEnv(ctx, nil, name, args...)
}

func runEnv(ctx context.Context, env []string, name string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.WaitDelay = 2 * time.Second
	if env != nil {
		cmd.Env = append(os.Environ(), env...)
	}
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	err := cmd.Run()
	if err != nil {
		return out.String(), fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, strings.TrimSpace(out.String()))
	}
	return out.String(), nil
}

// runScript runs a shell script (set -e) with its output.
func runScript(ctx context.Context, prefix []string, script string) (string, error) {
	args := append(append([]string{}, prefix...), "/bin/sh", "-ec", script)
	return Run(ctx, args[0], args[1:]...)
}

// logf is the harness's progress output: one line a step.
type Logger struct {
	w     io.Writer
	start time.Time
}

func (l *Logger) Printf(format string, a ...any) {
	if l == nil || l.w == nil {
		return
	}
	fmt.Fprintf(l.w, "[%6.2fs] %s\n", time.Since(l.start).Seconds(), fmt.Sprintf(format, a...))
}

// NewLogger is a Logger writing to w, its times counted from now.
func NewLogger(w io.Writer) *Logger { return &Logger{w: w, start: time.Now()} }
