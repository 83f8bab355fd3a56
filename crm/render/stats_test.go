package render_test

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stackha/stackha/internal/testutil/require"
	"github.com/vishvananda/netlink"
)

// TestHAProxyStats runs the real haproxy on a rendered haproxy.cfg as node1
// (-L node1), in a private network namespace: the statistics frontend is
// on node1's own address only (not node2's, not the VIP), answers the
// allow-list (loopback, the nodes, haproxy.stats.allow) and refuses
// others with 403; /metrics parses as Prometheus text; a request through
// the VIP is logged, in httplog format, to the configured syslog socket.
func TestHAProxyStats(t *testing.T) {
	require.Root(t)
	require.Command(t, "haproxy")
	const vip = "192.0.2.100"
	logSock := filepath.Join(t.TempDir(), "log.sock")
	top := fmt.Sprintf(`vip: {address: %s, prefix: 24}
nodes:
  - {name: node1, address: 192.0.2.11}
  - {name: node2, address: 192.0.2.12}
services:
  - {name: keystone, run_mode: process}
haproxy:
  log: %s
  stats: {allow: [198.51.100.0/24]}
`, vip, logSock)
	files, err := renderTopology(t, top)
	if err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(t.TempDir(), "haproxy.cfg")
	if err := os.WriteFile(cfg, files["haproxy.cfg"], 0o644); err != nil {
		t.Fatal(err)
	}
	inNetns(t, func() {
		lo, ok := labNetns(t, "192.0.2.11", "192.0.2.12", "198.51.100.7", "203.0.113.50")
		if !ok {
			return
		}
		if addr, _ := netlink.ParseAddr(vip + "/32"); netlink.AddrAdd(lo, addr) != nil {
			t.Error("adding the VIP")
			return
		}
		logs, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: logSock, Net: "unixgram"})
		if err != nil {
			t.Error(err)
			return
		}
		defer logs.Close()
		_, hl, stop := startHAProxy(t, cfg, "-L", "node1")
		if stop == nil {
			return
		}
		defer stop()

		from := func(src, addr, path string) (int, string, error) {
			d := net.Dialer{Timeout: time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}}
			c, err := d.Dial("tcp", addr)
			if err != nil {
				return 0, "", err
			}
			defer c.Close()
			return request(c, addr, path, 2*time.Second)
		}
		var code int
		var body string
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
			if code, body, err = from("192.0.2.11", "192.0.2.11:8404", "/metrics"); err == nil {
				break
			}
		}
		if err != nil || code != http.StatusOK {
			t.Errorf("metrics from node1: %d, %v; haproxy: %s", code, err, hl)
			return
		}
		if n, err := parseMetrics(body); err != nil || n < 50 {
			t.Errorf("metrics: %d samples, %v", n, err)
		}
		if code, page, err := from("198.51.100.7", "192.0.2.11:8404", "/stats"); err != nil || code != http.StatusOK || !strings.Contains(page, "keystone-api") {
			t.Errorf("stats page from the allowed 198.51.100.0/24: %d, %v", code, err)
		}
		if code, _, err := from("203.0.113.50", "192.0.2.11:8404", "/metrics"); err != nil || code != http.StatusForbidden {
			t.Errorf("metrics from 203.0.113.50, not allowed: %d, %v; want 403", code, err)
		}
		for _, addr := range []string{"192.0.2.12:8404", vip + ":8404"} {
			if _, _, err := from("192.0.2.11", addr, "/metrics"); err == nil {
				t.Errorf("%s answered: node1's statistics are on node1's address only", addr)
			}
		}
		// no keystone behind: 503 from haproxy, logged all the same
		if _, _, err := from("198.51.100.7", vip+":5000", "/v3"); err != nil {
			t.Errorf("through the VIP: %v", err)
		}
		buf := make([]byte, 4096)
		for deadline := time.Now().Add(5 * time.Second); ; {
			_ = logs.SetReadDeadline(deadline)
			n, err := logs.Read(buf)
			if err != nil {
				t.Errorf("no log line of the request through the VIP: %v; haproxy: %s", err, hl)
				return
			}
			line := string(buf[:n])
			if strings.Contains(line, "keystone-vip keystone-api/<NOSRV>") && strings.Contains(line, `"GET /v3 HTTP/1.0"`) &&
				strings.Contains(line, "198.51.100.7:") {
				if strings.Contains(line, ":8404") {
					t.Errorf("a scrape was logged: %s", line)
				}
				return
			}
		}
	})
}

// parseMetrics reads the Prometheus text format: comments, and samples
// "name{labels} value"; it returns how many samples.
func parseMetrics(s string) (int, error) {
	n := 0
	sc := bufio.NewScanner(strings.NewReader(s))
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 1 {
			return n, fmt.Errorf("not a sample: %q", line)
		}
		name := line[:i]
		if j := strings.IndexByte(name, '{'); j >= 0 {
			if !strings.HasSuffix(name, "}") {
				return n, fmt.Errorf("labels not closed: %q", line)
			}
			name = name[:j]
		}
		if !strings.HasPrefix(name, "haproxy_") {
			return n, fmt.Errorf("not haproxy's: %q", line)
		}
		if _, err := strconv.ParseFloat(line[i+1:], 64); err != nil {
			return n, fmt.Errorf("value of %q: %v", line, err)
		}
		n++
	}
	return n, sc.Err()
}
