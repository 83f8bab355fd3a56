// Package haproxy is the haproxy agent's benchmark: the agent against the
// how-to's init script (lsb:haproxy), requests lost while haproxy reloads
// under a steady HTTP load and how long a monitor takes (Run, `make
// bench-haproxy`), and the depth-10 monitor as the configuration grows
// (RunScale, `make bench-haproxy-scale`). docs/benchmarks.md's haproxy
// section quotes both.
package haproxy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Options are the benchmark's knobs.
type Options struct {
	Stackha  string        // the stackha binary
	Haproxy  string        // the haproxy binary
	Reloads  int           // reloads per method
	Every    time.Duration // pause between reloads
	Rate     int           // requests per second offered
	Clients  int           // concurrent clients
	Monitors int           // monitor calls timed per check
	Out      io.Writer
}

// counts is what the load saw.
type counts struct {
	ok, httpErr, connErr atomic.Int64
	firstErr             atomic.Value
}

func (c *counts) total() int64 { return c.ok.Load() + c.httpErr.Load() + c.connErr.Load() }

// load offers opt.Rate requests per second, each on a new connection, until
// ctx ends; wait returns once every request in flight has finished.
func load(ctx context.Context, url string, opt Options) (c *counts, wait func()) {
	c = &counts{}
	tokens := make(chan struct{}, opt.Clients)
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	var wg sync.WaitGroup
	for i := 0; i < opt.Clients; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range tokens {
				resp, err := client.Get(url)
				if err != nil {
					c.connErr.Add(1)
					c.firstErr.CompareAndSwap(nil, err.Error())
					continue
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					c.httpErr.Add(1)
					c.firstErr.CompareAndSwap(nil, resp.Status)
					continue
				}
				c.ok.Add(1)
			}
		}()
	}
	go func() {
		defer close(tokens)
		t := time.NewTicker(time.Second / time.Duration(opt.Rate))
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				select {
				case tokens <- struct{}{}:
				default: // every client busy: the offered load is capped
				}
			}
		}
	}()
	return c, wg.Wait
}

type backends struct {
	addrs []string
	srvs  []*http.Server
}

func startBackends(n int) (*backends, error) {
	b := &backends{}
	for i := 0; i < n; i++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		name := fmt.Sprintf("be%d\n", i+1)
		srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, name)
		}), ReadHeaderTimeout: 5 * time.Second}
		go srv.Serve(l)
		b.addrs = append(b.addrs, l.Addr().String())
		b.srvs = append(b.srvs, srv)
	}
	return b, nil
}

func (b *backends) close() {
	for _, s := range b.srvs {
		s.Close()
	}
}

// writeConfig writes the how-to's shape of haproxy.cfg (one frontend, one
// backend of two servers with health checks) on loopback.
func writeConfig(path string, port int, be *backends, stats string) error {
	text := fmt.Sprintf(`global
    stats socket %s mode 600 level admin
defaults
    mode http
    maxconn 10000
    timeout connect 2s
    timeout client 10s
    timeout server 10s
frontend shh-bench-fe
    bind 127.0.0.1:%d
    default_backend shh-bench-api
backend shh-bench-api
    balance roundrobin
    server s1 %s check inter 1s
    server s2 %s check inter 1s
`, stats, port, be.addrs[0], be.addrs[1])
	return os.WriteFile(path, []byte(text), 0o644)
}

// agent runs the stackha agent the way Pacemaker does: a process per
// action, parameters in the environment.
type agent struct {
	bin string
	env []string
}

func (a agent) run(action string, extra ...string) (int, string, time.Duration) {
	cmd := exec.Command(a.bin, "haproxy", action)
	cmd.Env = append(append(append([]string{}, a.env...), "OCF_RESKEY_CRM_meta_timeout=30000"), extra...)
	start := time.Now()
	out, err := cmd.CombinedOutput()
	took := time.Since(start)
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode(), string(out), took
	}
	if err != nil {
		return -1, err.Error(), took
	}
	return 0, string(out), took
}

// runCPU is run, also returning the CPU (user+system) the agent's process
// used.
func (a agent) runCPU(action string, extra ...string) (int, string, time.Duration, time.Duration) {
	cmd := exec.Command(a.bin, "haproxy", action)
	cmd.Env = append(append(append([]string{}, a.env...), "OCF_RESKEY_CRM_meta_timeout=30000"), extra...)
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	err := cmd.Run()
	took := time.Since(start)
	var cpu time.Duration
	if cmd.ProcessState != nil {
		cpu = cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode(), out.String(), took, cpu
	}
	if err != nil {
		return -1, err.Error(), took, cpu
	}
	return 0, out.String(), took, cpu
}

// seed is the how-to's haproxy init script, step by step, without its
// shell: start is "haproxy -c -q -f cfg" then "haproxy -D -f cfg -p
// pidfile"; reload is its restart: the check, stop (SIGUSR1, not waited
// for, pid file removed), start. (The script's killproc finds haproxy by
// name; here the pid file of this very instance is used so that no other
// haproxy is touched.)
type seed struct {
	haproxy, cfg, pidfile string
}

func (s seed) start() error {
	if out, err := exec.Command(s.haproxy, "-c", "-q", "-f", s.cfg).CombinedOutput(); err != nil {
		return fmt.Errorf("haproxy -c: %v %s", err, out)
	}
	if out, err := exec.Command(s.haproxy, "-D", "-f", s.cfg, "-p", s.pidfile).CombinedOutput(); err != nil {
		return fmt.Errorf("haproxy -D: %v %s", err, out)
	}
	return nil
}

func (s seed) pids() []int {
	b, _ := os.ReadFile(s.pidfile)
	var out []int
	for _, f := range strings.Fields(string(b)) {
		if n, err := strconv.Atoi(f); err == nil {
			out = append(out, n)
		}
	}
	return out
}

// mine reports whether pid is a live haproxy started with this cfg.
func (s seed) mine(pid int) bool {
	st, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil || strings.Contains(string(st), ") Z ") {
		return false
	}
	cl, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	return err == nil && strings.Contains(string(cl), "\x00"+s.cfg+"\x00")
}

func (s seed) signal(sig syscall.Signal) {
	for _, p := range s.pids() {
		if s.mine(p) {
			syscall.Kill(p, sig)
		}
	}
}

func (s seed) stop() {
	s.signal(syscall.SIGUSR1)
	os.Remove(s.pidfile)
}

func (s seed) restart() error {
	if out, err := exec.Command(s.haproxy, "-c", "-q", "-f", s.cfg).CombinedOutput(); err != nil {
		return fmt.Errorf("haproxy -c: %v %s", err, out)
	}
	s.stop()
	return s.start()
}

// status is the init script's "status": a kill -0 of the pid in the pid
// file, through a shell as the script does.
func (s seed) status() (int, time.Duration) {
	start := time.Now()
	err := exec.Command("/bin/sh", "-c", `pid=$(cat "$1") && kill -0 "$pid"`, "status", s.pidfile).Run()
	took := time.Since(start)
	if err != nil {
		return 3, took
	}
	return 0, took
}

// statusCPU is status, also returning the CPU its shell (and kill, cat)
// used.
func (s seed) statusCPU() (int, time.Duration, time.Duration) {
	cmd := exec.Command("/bin/sh", "-c", `pid=$(cat "$1") && kill -0 "$pid"`, "status", s.pidfile)
	start := time.Now()
	err := cmd.Run()
	took := time.Since(start)
	cpu := cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	if err != nil {
		return 3, took, cpu
	}
	return 0, took, cpu
}

func listPids() []int {
	ents, _ := os.ReadDir("/proc")
	var out []int
	for _, e := range ents {
		if n, err := strconv.Atoi(e.Name()); err == nil {
			out = append(out, n)
		}
	}
	return out
}

func syscallKill(pid int) { syscall.Kill(pid, syscall.SIGKILL) }
