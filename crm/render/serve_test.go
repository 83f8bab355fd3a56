package render_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stackha/stackha/test/require"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

// inNetns runs f on a locked OS thread inside a fresh network namespace.
// A thread whose namespace cannot be restored is not given back.
func inNetns(t *testing.T, f func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		runtime.LockOSThread()
		orig, err := netns.Get()
		if err != nil {
			t.Errorf("netns: %v", err)
			return
		}
		defer orig.Close()
		ns, err := netns.New()
		if err != nil {
			t.Errorf("new network namespace: %v", err)
			runtime.UnlockOSThread()
			return
		}
		defer ns.Close()
		defer func() {
			if err := netns.Set(orig); err != nil {
				t.Errorf("restoring the network namespace: %v", err)
				return // the thread stays locked and dies with the goroutine
			}
			runtime.UnlockOSThread()
		}()
		f()
	}()
	<-done
}

// get sends one HTTP/1.0 GET from the calling (namespaced) thread and
// returns the status code and body.
func get(addr, path string) (int, string, error) {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return 0, "", err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := fmt.Fprintf(c, "GET %s HTTP/1.0\r\nHost: %s\r\n\r\n", path, addr); err != nil {
		return 0, "", err
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

// TestHAProxyServesThroughVIP runs the real haproxy on the rendered
// haproxy.cfg of the TEST-NET example, in a private network namespace: it
// starts before the VIP exists (non-local bind: the order this package
// chose), serves through the VIP once the address arrives, spreads calls
// over both nodes, and its `option httpchk GET /v3` takes out a node whose
// keystone answers 503 while still accepting connections.
func TestHAProxyServesThroughVIP(t *testing.T) {
	require.Root(t)
	require.Command(t, "haproxy")
	dir, _ := renderExample(t, "testnet-two-node")
	cfg := filepath.Join(dir, "haproxy.cfg")
	const vip = "192.0.2.100"
	nodes := map[string]string{"node1": "192.0.2.11", "node2": "192.0.2.12"}

	inNetns(t, func() {
		lo, err := netlink.LinkByName("lo")
		if err != nil {
			t.Error(err)
			return
		}
		if err := netlink.LinkSetUp(lo); err != nil {
			t.Error(err)
			return
		}
		// The nodes' addresses, here all on this namespace's loopback.
		for _, a := range nodes {
			addr, _ := netlink.ParseAddr(a + "/32")
			if err := netlink.AddrAdd(lo, addr); err != nil {
				t.Error(err)
				return
			}
		}
		if err := os.WriteFile("/proc/sys/net/ipv4/ip_nonlocal_bind", []byte("1"), 0o644); err != nil {
			t.Errorf("non-local bind in the namespace: %v", err)
			return
		}
		// A stand-in keystone per node: /v3 answers 200 (503 once sick).
		sick := make(chan struct{})
		for name, a := range nodes {
			l, err := net.Listen("tcp", a+":5000")
			if err != nil {
				t.Error(err)
				return
			}
			defer l.Close()
			name := name
			go http.Serve(l, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				select {
				case <-sick:
					if name == "node1" {
						w.WriteHeader(http.StatusServiceUnavailable)
					}
				default:
				}
				fmt.Fprint(w, name)
			}))
		}

		hp := exec.Command("haproxy", "-db", "-f", cfg)
		var log strings.Builder
		hp.Stdout, hp.Stderr = &log, &log
		hp.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
		if err := hp.Start(); err != nil {
			t.Error(err)
			return
		}
		exited := make(chan error, 1)
		go func() { exited <- hp.Wait() }()
		defer func() {
			_ = hp.Process.Kill() // our child, by its pid
			<-exited
		}()

		// haproxy is up before the VIP: its bind succeeded (non-local).
		if _, _, err := get(vip+":5000", "/v3"); err == nil {
			t.Error("the VIP answered before it was added")
		}
		select {
		case err := <-exited:
			exited <- err
			t.Errorf("haproxy exited without the VIP (%v): %s", err, log.String())
			return
		case <-time.After(500 * time.Millisecond):
		}
		addr, _ := netlink.ParseAddr(vip + "/24")
		if err := netlink.AddrAdd(lo, addr); err != nil {
			t.Error(err)
			return
		}

		// Both nodes answer through the VIP.
		seen := map[string]bool{}
		deadline := time.Now().Add(10 * time.Second)
		for len(seen) < 2 && time.Now().Before(deadline) {
			if code, body, err := get(vip+":5000", "/v3"); err == nil && code == 200 {
				seen[body] = true
			} else {
				time.Sleep(100 * time.Millisecond)
			}
		}
		if len(seen) < 2 {
			t.Errorf("through the VIP, only %v answered; haproxy: %s", seen, log.String())
			return
		}

		// node1's keystone answers 503 to the health check: it leaves the
		// pool (fall 2, inter 1s), and every call goes to node2.
		close(sick)
		run := 0
		deadline = time.Now().Add(15 * time.Second)
		for run < 10 && time.Now().Before(deadline) {
			code, body, err := get(vip+":5000", "/v3")
			if err == nil && code == 200 && body == "node2" {
				run++
			} else {
				run = 0
				time.Sleep(100 * time.Millisecond)
			}
		}
		if run < 10 {
			t.Errorf("node1 was not taken out by the health check; haproxy: %s", log.String())
		}
	})
}
