package render_test

import (
	"bufio"
	"crypto/tls"
	"encoding/csv"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stackha/stackha/internal/testutil/certtest"
	"github.com/stackha/stackha/internal/testutil/require"
	"github.com/vishvananda/netlink"
)

// TestHAProxyRedirectAndBackendTLS runs the real haproxy, as node1, on a
// rendered haproxy.cfg with tls.redirect_http on the public VIP and
// haproxy.backend_tls, in a private network namespace, against stand-in
// services that serve TLS on three nodes: node1 with a certificate for its
// name signed by the configured CA, node2 with one signed by another CA,
// node3 with one signed by the configured CA for another name.
//
// (a) Plain HTTP on port 80 of the public VIP is answered 301 with
// Location https:// on the same host, path and query (a ":80" in Host
// dropped); port 80 of the internal VIP (no TLS) is not bound.
// (b) haproxy's checks (HTTP over TLS) find node1 up and node2 and node3
// down at the TLS layer (L6), which never see a request, health checks
// included: every request through the VIP is node1's, placement's drain
// agent is asked in plain TCP; once node1 is gone, the VIP answers 503.
func TestHAProxyRedirectAndBackendTLS(t *testing.T) {
	require.Root(t)
	require.Command(t, "haproxy")
	const public, internal, client = "203.0.113.10", "192.0.2.100", "198.51.100.7"
	nodes := []string{"192.0.2.11", "192.0.2.12", "192.0.2.13"}
	dir := t.TempDir()
	vipPEM, vipRoots := testCert(t, dir, "api.example.org")
	ca, other := certtest.NewCA(t), certtest.NewCA(t)
	caFile := filepath.Join(dir, "internal-ca.pem")
	if err := os.WriteFile(caFile, ca.PEM(), 0o644); err != nil {
		t.Fatal(err)
	}
	files, err := renderTopology(t, fmt.Sprintf(`vips:
  - {name: public, address: %s, dns_name: api.example.org, tls: {certificate: %s, redirect_http: true}}
  - {name: internal, address: %s}
nodes:
  - {name: node1, address: %s}
  - {name: node2, address: %s}
  - {name: node3, address: %s}
services:
  - {name: keystone}
  - {name: placement-api}
haproxy:
  log: none
  backend_tls: {ca_file: %s, certificate: /etc/ssl/certs/node.pem, key: /etc/ssl/private/node.key}
`, public, vipPEM, internal, nodes[0], nodes[1], nodes[2], caFile))
	if err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "haproxy.cfg")
	if err := os.WriteFile(cfg, files["haproxy.cfg"], 0o644); err != nil {
		t.Fatal(err)
	}
	// What each stand-in node serves with: its certificate for the test.
	certs := []tls.Certificate{
		keyPair(t, ca, "node1", nodes[0]),
		keyPair(t, other, "node2", nodes[1]), // another CA
		keyPair(t, ca, "node9", nodes[2]),    // the CA, another name
	}

	inNetns(t, func() {
		lo, ok := labNetns(t, append(slices.Clone(nodes), client)...)
		if !ok {
			return
		}
		for _, a := range []string{public, internal} {
			if addr, _ := netlink.ParseAddr(a + "/32"); netlink.AddrAdd(lo, addr) != nil {
				t.Errorf("adding %s", a)
				return
			}
		}
		var seen sync.Map // "nodeN path" -> true: every request a stand-in answered
		var hits [3]atomic.Int32
		var keystone1 *http.Server
		for i, a := range nodes {
			name := fmt.Sprintf("node%d", i+1)
			h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				hits[i].Add(1)
				seen.Store(name+" "+r.URL.Path, true)
				fmt.Fprintf(w, "%s %s", name, r.URL.Path)
			})
			for _, port := range []string{"5000", "8778"} {
				srv := serveTLS(t, a+":"+port, certs[i], h)
				if srv == nil {
					return
				}
				defer srv.Close()
				if i == 0 && port == "5000" {
					keystone1 = srv
				}
			}
		}
		// placement's drain agents: each answers "ready", and counts the
		// connections that began with a TLS handshake.
		var asked, handshakes atomic.Int32
		for _, a := range nodes {
			l, err := net.Listen("tcp", a+":18778")
			if err != nil {
				t.Error(err)
				return
			}
			defer l.Close()
			go drainAgent(l, &asked, &handshakes)
		}
		_, hl, stop := startHAProxy(t, cfg, "-L", "node1")
		if stop == nil {
			return
		}
		defer stop()

		// (a) the redirect
		var code int
		var loc string
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
			if code, loc, err = plainGet(public+":80", "api.example.org", "/v3/auth/tokens?nocatalog"); err == nil {
				break
			}
		}
		if code != http.StatusMovedPermanently || loc != "https://api.example.org/v3/auth/tokens?nocatalog" {
			t.Errorf("http:// on the public VIP: %d, Location %q (%v); want 301 to https://api.example.org/v3/auth/tokens?nocatalog; haproxy: %s", code, loc, err, hl)
		}
		if code, loc, err := plainGet(public+":80", "api.example.org:80", "/v3"); code != http.StatusMovedPermanently || loc != "https://api.example.org/v3" {
			t.Errorf("http:// with Host api.example.org:80: %d, Location %q (%v); want 301 to https://api.example.org/v3", code, loc, err)
		}
		if _, _, err := plainGet(internal+":80", "api.example.org", "/v3"); err == nil {
			t.Error("port 80 of the internal VIP (no TLS) answered")
		}

		// (b) re-encryption: the checks settle, node1 up, the others down
		// at the TLS layer
		want := map[string]string{"node1": "UP", "node2": "DOWN", "node3": "DOWN"}
		var state map[string][2]string
		for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
			if state = serverStates(nodes[0]); settled(state, want) {
				break
			}
		}
		if !settled(state, want) {
			t.Fatalf("servers %v; want keystone's and placement's node1 UP, node2 and node3 DOWN; haproxy: %s", state, hl)
		}
		for _, s := range []string{"keystone-api/node2", "keystone-api/node3", "placement-api/node2", "placement-api/node3"} {
			if !strings.HasPrefix(state[s][1], "L6") {
				t.Errorf("%s: check %s, want a failure at the TLS layer (L6)", s, state[s][1])
			}
		}
		vipGet := func(port, path string) (int, string, error) {
			return tlsGet(public+":"+port, client, path, &tls.Config{RootCAs: vipRoots, ServerName: "api.example.org"})
		}
		for i := 0; i < 12; i++ {
			if code, body, err := vipGet("5000", "/v3"); code != 200 || body != "node1 /v3" {
				t.Errorf("request %d through the public VIP: %d %q %v; want node1's answer", i, code, body, err)
			}
		}
		if code, body, err := vipGet("8778", "/"); code != 200 || body != "node1 /" {
			t.Errorf("placement through the public VIP: %d %q %v; want node1's answer", code, body, err)
		}
		if _, ok := seen.Load("node1 /healthcheck"); !ok {
			t.Error("node1 never saw keystone's health check (GET /healthcheck over TLS)")
		}
		if n2, n3 := hits[1].Load(), hits[2].Load(); n2 != 0 || n3 != 0 {
			t.Errorf("node2 (another CA) answered %d requests, node3 (another name) %d: want none", n2, n3)
		}
		if asked.Load() == 0 || handshakes.Load() != 0 {
			t.Errorf("placement's drain agents: asked %d times, %d of them with a TLS handshake; want asked, in plain TCP", asked.Load(), handshakes.Load())
		}

		// node1's keystone gone: only servers haproxy refuses are left
		keystone1.Close()
		code = 0
		for deadline := time.Now().Add(10 * time.Second); code != http.StatusServiceUnavailable && time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
			var body string
			code, body, err = vipGet("5000", "/v3")
			if code == 200 && body != "node1 /v3" {
				t.Fatalf("with node1 gone, %q answered", body)
			}
		}
		if code != http.StatusServiceUnavailable {
			t.Errorf("with node1 gone: %d (%v), want 503; haproxy: %s", code, err, hl)
		}
		if n2, n3 := hits[1].Load(), hits[2].Load(); n2 != 0 || n3 != 0 {
			t.Errorf("node2 answered %d requests, node3 %d: want none", n2, n3)
		}
	})
}

// keyPair is a certificate for name and the address ip, signed by ca.
func keyPair(t *testing.T, ca *certtest.CA, name, ip string) tls.Certificate {
	t.Helper()
	cert, key := ca.Issue(t, name, net.ParseIP(ip))
	kp, err := tls.X509KeyPair(cert, key)
	if err != nil {
		t.Fatal(err)
	}
	return kp
}

// serveTLS serves h over TLS on addr, from the calling (namespaced)
// thread's network namespace; nil when it cannot listen (the test failed).
func serveTLS(t *testing.T, addr string, cert tls.Certificate, h http.Handler) *http.Server {
	t.Helper()
	l, err := net.Listen("tcp", addr)
	if err != nil {
		t.Error(err)
		return nil
	}
	srv := &http.Server{Handler: h, ErrorLog: log.New(io.Discard, "", 0)} // haproxy's refused handshakes
	srv.SetKeepAlivesEnabled(false)
	go srv.Serve(tls.NewListener(l, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}))
	return srv
}

// drainAgent answers haproxy's agent-check "ready" on l, counting the
// connections and those that began with a TLS record (0x16: a handshake).
func drainAgent(l net.Listener, asked, handshakes *atomic.Int32) {
	for {
		c, err := l.Accept()
		if err != nil {
			return
		}
		asked.Add(1)
		b := make([]byte, 1)
		_ = c.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
		if n, _ := c.Read(b); n == 1 && b[0] == 0x16 {
			handshakes.Add(1)
		}
		_, _ = io.WriteString(c, "ready\n")
		c.Close()
	}
}

// plainGet sends one HTTP/1.0 GET in clear text with Host host, and
// returns the status code and the Location header.
func plainGet(addr, host, path string) (int, string, error) {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return 0, "", err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(2 * time.Second))
	fmt.Fprintf(c, "GET %s HTTP/1.0\r\nHost: %s\r\n\r\n", path, host)
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		return 0, "", err
	}
	resp.Body.Close()
	return resp.StatusCode, resp.Header.Get("Location"), nil
}

// tlsGet sends one HTTP/1.0 GET over TLS from the address src, and returns
// the status code and body.
func tlsGet(addr, src, path string, tc *tls.Config) (int, string, error) {
	d := net.Dialer{Timeout: time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}}
	raw, err := d.Dial("tcp", addr)
	if err != nil {
		return 0, "", err
	}
	defer raw.Close()
	_ = raw.SetDeadline(time.Now().Add(3 * time.Second))
	c := tls.Client(raw, tc)
	if err := c.Handshake(); err != nil {
		return 0, "", err
	}
	return request(c, tc.ServerName, path, 3*time.Second)
}

// serverStates reads haproxy's statistics (CSV) on node's address: for
// "backend/server", its status and its last check's status.
func serverStates(node string) map[string][2]string {
	code, body, err := get(node+":8404", "/stats;csv")
	if err != nil || code != 200 {
		return nil
	}
	rows, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(body, "# "))).ReadAll()
	if err != nil || len(rows) < 2 {
		return nil
	}
	status, check := slices.Index(rows[0], "status"), slices.Index(rows[0], "check_status")
	if status < 0 || check < 0 {
		return nil
	}
	m := map[string][2]string{}
	for _, r := range rows[1:] {
		if len(r) > check && r[1] != "FRONTEND" && r[1] != "BACKEND" {
			m[r[0]+"/"+r[1]] = [2]string{r[status], r[check]}
		}
	}
	return m
}

// settled reports whether keystone's and placement's servers are in the
// states wanted (by node).
func settled(state map[string][2]string, want map[string]string) bool {
	for _, be := range []string{"keystone-api", "placement-api"} {
		for node, st := range want {
			if state[be+"/"+node][0] != st {
				return false
			}
		}
	}
	return true
}
