package render_test

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stackha/stackha/internal/testutil/certtest"
	"github.com/stackha/stackha/internal/testutil/require"
	"github.com/vishvananda/netlink"
)

// testCert writes a certificate for name, signed by a CA of the test's
// own, chain and key, to dir/server.pem (0600), and returns the CA's pool.
func testCert(t *testing.T, dir, name string) (pemPath string, roots *x509.CertPool) {
	t.Helper()
	b, roots := certtest.Signed(t, name)
	pemPath = filepath.Join(dir, "server.pem")
	if err := os.WriteFile(pemPath, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return pemPath, roots
}

// withTestCerts points every crt of a rendered haproxy.cfg at a test
// certificate, and every ca-file at a test CA (render names the
// operator's files; the test has its own).
func withTestCerts(t *testing.T, cfg []byte) []byte {
	t.Helper()
	if strings.Contains(string(cfg), " ssl crt ") {
		pemPath, _ := testCert(t, t.TempDir(), "api.example.org")
		cfg = regexp.MustCompile(` ssl crt \S+`).ReplaceAll(cfg, []byte(" ssl crt "+pemPath))
	}
	if strings.Contains(string(cfg), " ca-file ") {
		caPath := filepath.Join(t.TempDir(), "ca.pem")
		if err := os.WriteFile(caPath, certtest.NewCA(t).PEM(), 0o644); err != nil {
			t.Fatal(err)
		}
		cfg = regexp.MustCompile(` ca-file \S+`).ReplaceAll(cfg, []byte(" ca-file "+caPath))
	}
	return cfg
}

// TestHAProxyTLS runs the real haproxy, as node1, on a rendered haproxy.cfg
// with TLS on the public VIP, in a private network namespace: a client that
// trusts only the test's CA gets its answer through the public VIP by the
// VIP's DNS name, and the service sees X-Forwarded-Proto https and the
// client's address in X-Forwarded-For; TLS 1.0 and 1.1 are refused (as
// Debian 12's OpenSSL 3 also does at its default security level: the
// rendered options say it for any build), 1.2 and 1.3 served; the
// internal VIP stays plain HTTP (X-Forwarded-Proto http).
func TestHAProxyTLS(t *testing.T) {
	require.Root(t)
	require.Command(t, "haproxy")
	const public, internal = "203.0.113.10", "192.0.2.100"
	pemPath, roots := testCert(t, t.TempDir(), "api.example.org")
	files, err := renderTopology(t, fmt.Sprintf(`vips:
  - {name: public, address: %s, dns_name: api.example.org, tls: {certificate: %s}}
  - {name: internal, address: %s}
nodes:
  - {name: node1, address: 192.0.2.11}
  - {name: node2, address: 192.0.2.12}
services:
  - {name: keystone, run_mode: process}
haproxy:
  log: none
`, public, pemPath, internal))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(files["endpoints.sh"]), "endpoint identity public https://api.example.org:5000/v3\n") {
		t.Errorf("endpoints.sh has no https public endpoint:\n%s", files["endpoints.sh"])
	}
	cfg := filepath.Join(t.TempDir(), "haproxy.cfg")
	if err := os.WriteFile(cfg, files["haproxy.cfg"], 0o644); err != nil {
		t.Fatal(err)
	}
	inNetns(t, func() {
		lo, ok := labNetns(t, "192.0.2.11", "192.0.2.12", "198.51.100.7")
		if !ok {
			return
		}
		for _, a := range []string{public, internal} {
			if addr, _ := netlink.ParseAddr(a + "/32"); netlink.AddrAdd(lo, addr) != nil {
				t.Errorf("adding %s", a)
				return
			}
		}
		// stand-in keystones: they answer what haproxy told them
		for _, a := range []string{"192.0.2.11", "192.0.2.12"} {
			l, err := net.Listen("tcp", a+":5000")
			if err != nil {
				t.Error(err)
				return
			}
			defer l.Close()
			go http.Serve(l, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				fmt.Fprintf(w, "%s %s", r.Header.Get("X-Forwarded-Proto"), r.Header.Get("X-Forwarded-For"))
			}))
		}
		_, hl, stop := startHAProxy(t, cfg, "-L", "node1")
		if stop == nil {
			return
		}
		defer stop()

		get := func(addr string, tc *tls.Config) (string, error) {
			d := net.Dialer{Timeout: time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP("198.51.100.7")}}
			c, err := d.Dial("tcp", addr)
			if err != nil {
				return "", err
			}
			defer c.Close()
			_ = c.SetDeadline(time.Now().Add(3 * time.Second))
			if tc != nil {
				tlsc := tls.Client(c, tc)
				if err := tlsc.Handshake(); err != nil {
					return "", err
				}
				c = tlsc
			}
			fmt.Fprintf(c, "GET /v3 HTTP/1.0\r\nHost: api.example.org\r\n\r\n")
			b, err := io.ReadAll(io.LimitReader(c, 1<<16))
			s := string(b)
			if i := strings.Index(s, "\r\n\r\n"); i >= 0 && strings.HasPrefix(s, "HTTP/1.") {
				return s[i+4:], err
			}
			return "", fmt.Errorf("not an HTTP answer: %q (%v)", s, err)
		}
		trust := func(min, max uint16) *tls.Config {
			return &tls.Config{RootCAs: roots, ServerName: "api.example.org", MinVersion: min, MaxVersion: max}
		}
		var body string
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
			if body, err = get(public+":5000", trust(tls.VersionTLS12, tls.VersionTLS13)); err == nil && body == "https 198.51.100.7" {
				break
			}
		}
		if body != "https 198.51.100.7" {
			t.Errorf("through the public VIP over TLS: %q, %v; want the service to see https from 198.51.100.7; haproxy: %s", body, err, hl)
			return
		}
		for _, v := range []struct {
			name string
			ver  uint16
			ok   bool
		}{{"TLS 1.0", tls.VersionTLS10, false}, {"TLS 1.1", tls.VersionTLS11, false}, {"TLS 1.2", tls.VersionTLS12, true}, {"TLS 1.3", tls.VersionTLS13, true}} {
			_, err := get(public+":5000", trust(v.ver, v.ver))
			if (err == nil) != v.ok {
				t.Errorf("%s: %v, want served %v", v.name, err, v.ok)
			}
		}
		if _, err := get(public+":5000", &tls.Config{ServerName: "api.example.org"}); err == nil {
			t.Error("a client without the test CA trusted haproxy's certificate")
		}
		if body, err := get(internal+":5000", nil); err != nil || body != "http 198.51.100.7" {
			t.Errorf("through the internal VIP: %q, %v; want plain http", body, err)
		}
	})
}
