package haproxy

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/stackha/stackha/internal/sandbox"
	"github.com/stackha/stackha/ocf"
)

// FreePorts asks the kernel for n distinct free TCP ports on 127.0.0.1
// (all held at once, so that none is handed out twice). Tests and the
// benchmark use it too.
func FreePorts(n int) ([]int, error) {
	var ports []int
	for i := 0; i < n; i++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		defer l.Close()
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// Sandbox writes a configuration that listens on loopback ports nobody
// uses, with an admin stats socket, under dir, for ocf-tester.
func Sandbox(ctx context.Context, dir string) (*sandbox.Sandbox, error) {
	ports, err := FreePorts(2)
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
	params := map[string]string{
		"config":        cfg,
		"pidfile":       filepath.Join(dir, "haproxy.pid"),
		"master_socket": filepath.Join(dir, "master.sock"),
	}
	return &sandbox.Sandbox{Params: params, Cleanup: func() {
		// Whatever ocf-tester left running is stopped the agent's way.
		in := &instance{binary: Meta.Parameters[0].Default, configs: []string{cfg},
			pidfile: params["pidfile"], socket: params["master_socket"], stateDir: dir,
			log: ocf.NewLogger(ocf.LogConfig{Agent: "haproxy", Stderr: os.Stderr})}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		in.terminate(ctx, time.Second)
	}}, nil
}
