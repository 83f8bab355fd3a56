// Package haproxytest holds the haproxy agent's test-side fixtures: the
// sandbox the conformance walk and the benchmarks drive the agent in. Only
// tests, test/conformance and the benchmarks import it; nothing here is
// linked into the shipped binary.
package haproxytest

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

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
	ents, _ := os.ReadDir("/proc")
	var out []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		var st syscall.Stat_t
		if syscall.Stat("/proc/"+e.Name(), &st) != nil || st.Uid != 0 {
			continue
		}
		exe, _ := os.Readlink("/proc/" + e.Name() + "/exe")
		if !strings.HasPrefix(filepath.Base(exe), "haproxy") {
			continue
		}
		cl, _ := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if bytes.Contains(cl, []byte("\x00"+socket+",")) {
			out = append(out, pid)
		}
	}
	return out
}
