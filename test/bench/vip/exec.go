package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// exec1 runs one action and reads its CPU time from wait4 (which includes
// the children it waited for).
func exec1(a agent, action string, env []string, want int) (sample, error) {
	x, err := execArgs([]string{a.path, action}, env, want)
	if err != nil {
		return x, fmt.Errorf("%s: %w", a.name, err)
	}
	return x, nil
}

func execArgs(args []string, env []string, want int) (sample, error) {
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Env = env
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	t0 := time.Now()
	err := cmd.Run()
	wall := time.Since(t0)
	code := cmd.ProcessState.ExitCode()
	if code != want {
		return sample{}, fmt.Errorf("%s: exit %d, want %d (%v)\n%s", strings.Join(args, " "), code, want, err, stderr.String())
	}
	x := sample{wall: wall, cpu: cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()}
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		x.faults = ru.Minflt + ru.Majflt
	}
	return x, nil
}

// countChildren runs the actions under strace and counts the processes
// they create: fork, vfork, and clone or clone3 without CLONE_THREAD (a Go
// program's threads are not child processes).
func countChildren(a agent, actions []string, env []string, dir string) (int, error) {
	n := 0
	for i, act := range actions {
		out := filepath.Join(dir, fmt.Sprintf("strace-%s-%d", a.name, i))
		cmd := exec.Command("strace", "-f", "-qq", "-e", "trace=fork,vfork,clone,clone3", "-e", "signal=none", "-o", out, a.path, act)
		cmd.Env = env
		if b, err := cmd.CombinedOutput(); err != nil {
			return 0, fmt.Errorf("strace %s %s: %v\n%s", a.name, act, err, b)
		}
		b, err := os.ReadFile(out)
		if err != nil {
			return 0, err
		}
		for _, line := range strings.Split(string(b), "\n") {
			if strings.Contains(line, "resumed>") || strings.Contains(line, "CLONE_THREAD") {
				continue
			}
			for _, call := range []string{" fork(", " vfork(", " clone(", " clone3("} {
				if strings.Contains(" "+strings.SplitN(line, " ", 2)[len(strings.SplitN(line, " ", 2))-1], call) {
					n++
					break
				}
			}
		}
	}
	return n, nil
}

// peakRSS runs the action under /usr/bin/time (a small C program, so the
// high-water mark before exec is its own, not this Go program's) and
// returns the largest maximum resident set size it reports, in KiB.
func peakRSS(a agent, actions []string, env []string, dir string, runs int) (int64, error) {
	var peak int64
	out := filepath.Join(dir, "time-"+a.name)
	for i := 0; i < runs; i++ {
		for _, act := range actions {
			cmd := exec.Command("/usr/bin/time", "-f", "%M", "-o", out, a.path, act)
			cmd.Env = env
			if b, err := cmd.CombinedOutput(); err != nil {
				return 0, fmt.Errorf("/usr/bin/time %s %s: %v\n%s", a.name, act, err, b)
			}
			b, err := os.ReadFile(out)
			if err != nil {
				return 0, err
			}
			kb, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("/usr/bin/time output %q", b)
			}
			peak = max(peak, kb)
		}
	}
	return peak, nil
}

// buildHello builds a static Go program, to show what starting one costs on
// this machine: name "go-hello" does nothing; "go-hello+net/http" only links
// net/http (and with it crypto/tls, x509, compress), as the API agents'
// probes need, built with stackha's tags: the floor of any binary that can
// ask an HTTPS endpoint, whatever runs.
func buildHello(name string) (string, error) {
	dir, err := os.MkdirTemp("", "stackha-bench-hello-")
	if err != nil {
		return "", err
	}
	src := "package main\n\nimport \"os\"\n\nfunc main() { os.Exit(0) }\n"
	if name == "go-hello+net/http" {
		src = "package main\n\nimport (\n\t\"net/http\"\n\t\"os\"\n)\n\n" +
			"func main() {\n\tif len(os.Args) > 1 {\n\t\t_, _ = http.Get(os.Args[1])\n\t}\n\tos.Exit(0)\n}\n"
	}
	if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte(src), 0o644); err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module hello\n\ngo 1.26\n"), 0o644); err != nil {
		return "", err
	}
	built := filepath.Join(dir, "go-hello.built")
	out := filepath.Join(dir, "go-hello")
	cmd := exec.Command("go", "build", "-tags", "urfave_cli_no_docs nethttpomithttp2", "-trimpath", "-ldflags", "-s -w", "-o", built, ".")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOFLAGS=")
	if msg, err := cmd.CombinedOutput(); err != nil {
		os.RemoveAll(dir)
		return "", fmt.Errorf("go build: %v: %s", err, msg)
	}
	if err := installCopy(built, out); err != nil {
		os.RemoveAll(dir)
		return "", err
	}
	return out, nil
}

// installCopy copies an executable the way an installer does (read and
// write, not the linker's memory-mapped output), so that every program the
// bench starts has its pages cached alike. A binary fresh from the Go
// linker starts measurably slower here than a copy of it (about 10% on
// this machine's kernel: its page cache holds the file in small pieces),
// and none is run in production as the linker left it.
func installCopy(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o755)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
