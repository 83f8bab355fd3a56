// Package haproxytest holds the haproxy agent's test-side fixtures: the
// sandbox the conformance walk and the benchmarks drive the agent in. Only
// tests, test/conformance and the benchmarks import it; nothing here is
// linked into the shipped binary.
package haproxytest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/stackha/stackha/instance"
	"github.com/stackha/stackha/internal/testutil"
	"github.com/stackha/stackha/internal/testutil/sandbox"
)

func init() { sandbox.Register("haproxy", Sandbox) }

// Sandbox writes a configuration that listens on loopback ports nobody
// uses, with an admin stats socket, under dir, for ocf-tester.
func Sandbox(ctx context.Context, dir string) (*sandbox.Sandbox, error) {
	ports, err := testutil.FreePorts(2)
	if err != nil {
		return nil, fmt.Errorf("haproxy sandbox: %w", err)
	}
	fe, be := ports[0], ports[1]
	cfg := filepath.Join(dir, "haproxy.cfg")
	text := fmt.Sprintf(`global
    stats socket %s mode 600 level admin
defaults
    mode http
    timeout connect 2s
    timeout client 10s
    timeout server 10s
frontend shh-sandbox
    bind 127.0.0.1:%d
    default_backend shh-sandbox-be
backend shh-sandbox-be
    server s1 127.0.0.1:%d
`, filepath.Join(dir, "stats.sock"), fe, be)
	if err := os.WriteFile(cfg, []byte(text), 0o644); err != nil {
		return nil, fmt.Errorf("haproxy sandbox: %w", err)
	}
	socket := filepath.Join(dir, "master.sock")
	params := map[string]string{
		"config":        cfg,
		"pidfile":       filepath.Join(dir, "haproxy.pid"),
		"master_socket": socket,
	}
	return &sandbox.Sandbox{Params: params, Cleanup: func() { KillBySocket(socket) }}, nil
}

// KillBySocket kills, with SIGKILL, the root-owned haproxy processes whose
// command line names this (test-only, unique) master socket: whatever a
// test left running. It waits up to 5 s for them to go.
func KillBySocket(socket string) {
	end := time.Now().Add(5 * time.Second)
	for {
		pids := BySocket(socket)
		if len(pids) == 0 || time.Now().After(end) {
			return
		}
		for _, p := range pids {
			syscall.Kill(p, syscall.SIGKILL)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// BySocket lists the root-owned haproxy processes whose command line names
// this master socket (a loose test-side check: what a test left running).
func BySocket(socket string) []int {
	ps, _ := instance.Processes(func(instance.Proc) bool { return true }, func(p instance.Proc) bool {
		if p.UID != 0 {
			return false
		}
		exe, err := instance.Exe(p.PID)
		if err != nil || !strings.HasPrefix(filepath.Base(exe), "haproxy") {
			return false
		}
		argv, err := instance.Cmdline(p.PID)
		return err == nil && slices.ContainsFunc(argv, func(a string) bool { return strings.HasPrefix(a, socket+",") })
	})
	var out []int
	for _, p := range ps {
		out = append(out, p.PID)
	}
	return out
}
