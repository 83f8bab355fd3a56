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
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stackha/stackha/internal/testutil/require"
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
func get(addr, path string) (int, string, error) { return getWithin(addr, path, 2*time.Second) }

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
		lo, ok := labNetns(t, nodes["node1"], nodes["node2"])
		if !ok {
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
		exited, log, stop := startHAProxy(t, cfg)
		if stop == nil {
			return
		}
		defer stop()

		// haproxy is up before the VIP: its bind succeeded (non-local).
		if _, _, err := get(vip+":5000", "/v3"); err == nil {
			t.Error("the VIP answered before it was added")
		}
		select {
		case err := <-exited:
			exited <- err
			t.Errorf("haproxy exited without the VIP (%v): %s", err, log)
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
			t.Errorf("through the VIP, only %v answered; haproxy: %s", seen, log)
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
			t.Errorf("node1 was not taken out by the health check; haproxy: %s", log)
		}
	})
}

// labNetns sets up the calling thread's fresh network namespace for
// haproxy: loopback up holding the nodes' addresses, non-local bind on.
func labNetns(t *testing.T, addrs ...string) (netlink.Link, bool) {
	t.Helper()
	lo, err := netlink.LinkByName("lo")
	if err == nil {
		err = netlink.LinkSetUp(lo)
	}
	for _, a := range addrs {
		if err != nil {
			break
		}
		addr, _ := netlink.ParseAddr(a + "/32")
		err = netlink.AddrAdd(lo, addr)
	}
	if err == nil {
		err = os.WriteFile("/proc/sys/net/ipv4/ip_nonlocal_bind", []byte("1"), 0o644)
	}
	if err != nil {
		t.Errorf("network namespace: %v", err)
		return nil, false
	}
	return lo, true
}

// haproxyLog collects haproxy's output for a failure message.
type haproxyLog struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *haproxyLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *haproxyLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// startHAProxy runs haproxy in the foreground on cfg, with args after the
// file (-L node1: as that node); stop kills it (our
// child, by its pid) and waits. stop is nil when it did not start.
func startHAProxy(t *testing.T, cfg string, args ...string) (exited chan error, log *haproxyLog, stop func()) {
	t.Helper()
	hp := exec.Command("haproxy", append([]string{"-db", "-f", cfg}, args...)...)
	log = &haproxyLog{}
	hp.Stdout, hp.Stderr = log, log
	hp.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := hp.Start(); err != nil {
		t.Error(err)
		return nil, log, nil
	}
	exited = make(chan error, 1)
	go func() { exited <- hp.Wait() }()
	return exited, log, func() {
		_ = hp.Process.Kill()
		<-exited
	}
}

// TestHAProxyRoutesAroundFailures runs the real haproxy on the rendered
// defaults (testnet-two-node, which sets no check or timeout of its own)
// against two stand-in keystones, and shows what haproxy.cfg's comments
// claim: a hung backend (connections accepted, never answered) is taken out
// by the checks' timeout while the requests it holds stay with it (no
// on-marked-down shutdown-sessions: closing them would also close requests
// still connecting to a vanished node) until the service is restarted,
// which ends them at once; a dead backend (connection refused) costs no
// request (option redispatch sends each request that meets it to the other
// server).
func TestHAProxyRoutesAroundFailures(t *testing.T) {
	require.Root(t)
	require.Command(t, "haproxy")
	dir, files := renderExample(t, "testnet-two-node")
	if !strings.Contains(string(files["haproxy.cfg"]), "timeout server 60s") {
		t.Fatal("the rendered timeout server is not 60s: this test's bound assumes it")
	}
	const vip = "192.0.2.100"
	inNetns(t, func() {
		lo, ok := labNetns(t, "192.0.2.11", "192.0.2.12")
		if !ok {
			return
		}
		var hung atomic.Bool
		serve := func(name, addr string) *http.Server {
			return standIn(t, addr, func(w http.ResponseWriter, r *http.Request) {
				if name == "node1" && hung.Load() {
					<-r.Context().Done() // hung: never answers
					return
				}
				fmt.Fprint(w, name)
			})
		}
		node1 := serve("node1", "192.0.2.11")
		defer func() { node1.Close() }()
		defer serve("node2", "192.0.2.12").Close()
		exited, log, stop := haproxyOnVIP(t, dir, lo, vip)
		if stop == nil {
			return
		}
		defer stop()
		if !bothAnswer(vip) {
			t.Fatalf("both nodes did not answer through the VIP; haproxy: %s", log)
		}

		// Hung: node1 accepts and never answers. The checks take it out; the
		// requests it holds stay (the connections are made here, in the
		// namespace; only their reading runs elsewhere).
		hung.Store(true)
		results := make(chan string, 4)
		for i := 0; i < 4; i++ {
			c, err := net.DialTimeout("tcp", vip+":5000", time.Second)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			go func() { results <- exchange(c, vip+":5000", "/v3", 30*time.Second) }()
		}
		run := 0
		for deadline := time.Now().Add(15 * time.Second); run < 10 && time.Now().Before(deadline); {
			if code, body, err := get(vip+":5000", "/v3"); err == nil && code == 200 && body == "node2" {
				run++
			} else {
				run = 0
				time.Sleep(100 * time.Millisecond)
			}
		}
		if run < 10 {
			t.Fatalf("the hung node1 was not taken out; haproxy: %s", log)
		}
		// The requests roundrobin gave node1 are still waiting for it; those
		// node2 answered are in results already.
		pending := 4
		for done := false; !done; {
			select {
			case r := <-results:
				pending--
				if !strings.Contains(r, "node2") {
					t.Errorf("a request was ended when the hung node1 was taken out (%s): on-marked-down shutdown-sessions is back; haproxy: %s", r, log)
				}
			default:
				done = true
			}
		}
		if pending == 0 {
			t.Errorf("no request went to the hung node1; haproxy: %s", log)
		}
		// The restart (Pacemaker's, after the monitor's probe_timeout)
		// closes the hung service's connections: what it held ends now.
		node1.Close()
		for ; pending > 0; pending-- {
			if r := <-results; strings.Contains(r, "i/o timeout") {
				t.Errorf("a request held by the hung node waited 30 s after its restart (%s); haproxy: %s", r, log)
			}
		}

		// Dead: node1 is back, then its listener closes (connection
		// refused). No request fails.
		hung.Store(false)
		node1 = serve("node1", "192.0.2.11")
		if !bothAnswer(vip) {
			t.Fatalf("node1 did not come back; haproxy: %s", log)
		}
		node1.Close() // its listener and every connection, as when it dies
		for i := 0; i < 40; i++ {
			if code, body, err := get(vip+":5000", "/v3"); err != nil || code != 200 || body != "node2" {
				t.Errorf("request %d after node1 died: %d %q %v (want node2's answer)", i, code, body, err)
			}
		}
		select {
		case err := <-exited:
			t.Errorf("haproxy exited: %v; %s", err, log)
		default:
		}
	})
}

// exchange sends one GET on c and says how it ended: "CODE BODY ERROR".
func exchange(c net.Conn, addr, path string, d time.Duration) string {
	code, body, err := request(c, addr, path, d)
	return fmt.Sprintf("%d %s %v", code, body, err)
}

// getWithin is get with a deadline of d for the whole exchange.
func getWithin(addr, path string, d time.Duration) (int, string, error) {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return 0, "", err
	}
	defer c.Close()
	return request(c, addr, path, d)
}

// request sends one HTTP/1.0 GET on c, within d.
func request(c net.Conn, addr, path string, d time.Duration) (int, string, error) {
	_ = c.SetDeadline(time.Now().Add(d))
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

// haproxyOnVIP starts haproxy on dir's haproxy.cfg, then adds the VIP to lo
// (as Pacemaker orders them); stop is nil when either failed (the test has
// failed then).
func haproxyOnVIP(t *testing.T, dir string, lo netlink.Link, vip string) (exited chan error, log *haproxyLog, stop func()) {
	exited, log, stop = startHAProxy(t, filepath.Join(dir, "haproxy.cfg"))
	if stop == nil {
		return nil, nil, nil
	}
	addr, _ := netlink.ParseAddr(vip + "/24")
	if err := netlink.AddrAdd(lo, addr); err != nil {
		stop()
		t.Error(err)
		return nil, nil, nil
	}
	return exited, log, stop
}

// bothAnswer reports whether both stand-ins answered /v3 through the VIP
// within 15 s.
func bothAnswer(vip string) bool {
	seen := map[string]bool{}
	for deadline := time.Now().Add(15 * time.Second); len(seen) < 2 && time.Now().Before(deadline); {
		if code, body, err := get(vip+":5000", "/v3"); err == nil && code == 200 {
			seen[body] = true
		} else {
			time.Sleep(100 * time.Millisecond)
		}
	}
	return len(seen) == 2
}

// standIn serves h on addr:5000, a stand-in for one node's keystone.
func standIn(t *testing.T, addr string, h http.HandlerFunc) *http.Server {
	l, err := net.Listen("tcp", addr+":5000")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h}
	go srv.Serve(l)
	return srv
}
