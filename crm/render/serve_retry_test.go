package render_test

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stackha/stackha/internal/testutil/require"
)

// TestHAProxyReplaysOnlyReads runs the real haproxy on the rendered
// defaults against two stand-in keystones, node1 closing every request to
// /v3/dying without an answer (a service stopped or crashed under its
// requests, as a rolling restart does): a GET that met it is answered by
// node2 (retry-on empty-response), a POST is not replayed (disable-l7-retry):
// its client gets the error, and node1 saw it once.
func TestHAProxyReplaysOnlyReads(t *testing.T) {
	require.Root(t)
	require.Command(t, "haproxy")
	dir, _ := renderExample(t, "testnet-two-node")
	const vip = "192.0.2.100"
	inNetns(t, func() {
		lo, ok := labNetns(t, "192.0.2.11", "192.0.2.12")
		if !ok {
			return
		}
		var mu sync.Mutex
		died := map[string]int{} // requests node1 closed unanswered, by method
		for _, n := range []struct{ name, addr string }{{"node1", "192.0.2.11"}, {"node2", "192.0.2.12"}} {
			name := n.name
			defer standIn(t, n.addr, func(w http.ResponseWriter, r *http.Request) {
				if name == "node1" && r.URL.Path == "/v3/dying" {
					mu.Lock()
					died[r.Method]++
					mu.Unlock()
					if c, _, err := http.NewResponseController(w).Hijack(); err == nil {
						c.Close()
					}
					return
				}
				fmt.Fprint(w, name)
			}).Close()
		}
		exited, log, stop := haproxyOnVIP(t, dir, lo, vip)
		if stop == nil {
			return
		}
		defer stop()
		if !bothAnswer(vip) {
			t.Fatalf("both nodes did not answer through the VIP; haproxy: %s", log)
		}

		for i := 0; i < 10; i++ {
			if code, body, err := send("GET", vip+":5000", "/v3/dying"); err != nil || code != 200 || body != "node2" {
				t.Errorf("GET %d: %d %q %v, want node2's answer (replayed when node1 dies under it); haproxy: %s", i, code, body, err, log)
			}
		}
		failed := 0
		for i := 0; i < 10; i++ {
			code, body, err := send("POST", vip+":5000", "/v3/dying")
			switch {
			case err == nil && code == 200 && body == "node2":
			case err == nil && code == http.StatusBadGateway:
				failed++
			default:
				t.Errorf("POST %d: %d %q %v, want node2's answer or a 502", i, code, body, err)
			}
		}
		mu.Lock()
		defer mu.Unlock()
		if died["GET"] == 0 {
			t.Errorf("no GET reached node1: the replay was not exercised; haproxy: %s", log)
		}
		if failed == 0 || died["POST"] != failed {
			t.Errorf("%d POSTs failed, node1 closed %d: a POST that reached a server must fail, once, never replayed; haproxy: %s",
				failed, died["POST"], log)
		}
		select {
		case err := <-exited:
			t.Errorf("haproxy exited: %v; %s", err, log)
		default:
		}
	})
}

// send makes one HTTP/1.0 request with an empty body, within 2 s.
func send(method, addr, path string) (int, string, error) {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return 0, "", err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := fmt.Fprintf(c, "%s %s HTTP/1.0\r\nHost: %s\r\nContent-Length: 0\r\n\r\n", method, path, addr); err != nil {
		return 0, "", err
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	var b strings.Builder
	_, err = bufio.NewReader(resp.Body).WriteTo(&b)
	return resp.StatusCode, b.String(), err
}
