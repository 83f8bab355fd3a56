package cluster

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/stackha/stackha/test/cluster/harness"
)

// The front door (issue 26 item 5) on a cluster with harness.Options.TLS:
// the public VIP over TLS with the cluster's own CA, the internal VIP on
// the nodes' network, each node's metrics. Fault 21 rotates the
// certificate under the client's load; FrontDoor checks the rest once.

// withTLS runs a fault only on a cluster with the front door.
func withTLS(s Setup) (Expectation, string) {
	if !s.TLS {
		return Skip, "needs TLS on the public VIP (harness.Options.TLS: the three fenced nodes of make check)"
	}
	return Recover, ""
}

// faultRotate is fault 21: the public VIP's certificate replaced on every
// node and `stackha tls-reload` run on one, while the client asks keystone
// through the public VIP over TLS every 50 ms, each request on a new
// connection (a new handshake). Recovered once the VIP serves the new
// certificate and every node's haproxy runs a worker started after the
// replacement (its metrics say when); no request may fail.
func faultRotate(ctx context.Context, f *faultEnv, r *FaultResult) (func(context.Context) error, error) {
	before, err := f.client.ServedSerial(ctx)
	if err != nil {
		return nil, err
	}
	r.NoDetect = true
	f.T0 = time.Now()
	serial, err := f.C.RotateCertificate(ctx)
	if err != nil {
		return nil, err
	}
	since := f.T0.Truncate(time.Second)
	r.Recovery = f.waitUntil(ctx, recoveryLimit, func(ctx context.Context) bool {
		if s, err := f.client.ServedSerial(ctx); err != nil || s != serial {
			return false
		}
		for _, n := range f.C.Nodes {
			if t, err := f.client.WorkerStart(ctx, n); err != nil || t.Before(since) {
				return false
			}
		}
		return true
	})
	if r.Recovery == 0 {
		r.Outcome = fmt.Sprintf("the VIP did not serve certificate %s, or a node's haproxy was not reloaded, in %s", serial, recoveryLimit)
		return nil, nil
	}
	time.Sleep(2 * time.Second) // load on the new workers a moment
	failed := 0
	for _, a := range f.P.Attempts(f.T0) {
		if !a.OK {
			failed++
		}
	}
	if failed > 0 {
		r.Bad = fmt.Sprintf("%d requests failed across the rotation", failed)
	}
	r.Outcome = fmt.Sprintf("certificate %s -> %s through the public VIP; haproxy reloaded on all %d nodes (each metrics worker started after the new file)",
		before, serial, len(f.C.Nodes))
	return nil, nil
}

// FrontDoor checks, on a cluster with the front door, what no fault
// measures; it returns one line per check and the failures.
func FrontDoor(ctx context.Context, c *harness.Cluster, cl *harness.Client) (lines []string, errs []error) {
	check := func(what string, err error) {
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", what, err))
			lines = append(lines, "- FAILED "+what+": "+err.Error())
			return
		}
		lines = append(lines, "- "+what)
	}
	check("TLS 1.0 and 1.1 refused on the public VIP (the server's protocol_version alert to openssl s_client), TLS 1.2 and 1.3 accepted and verified against the cluster's CA", tlsVersions(ctx))
	check("keystone's version document through the public VIP links https (X-Forwarded-Proto, enable_proxy_headers_parsing)", proxyHeaders(ctx, c, cl))
	check("the internal VIP serves keystone over HTTP to every node", internalVIP(ctx, c))
	check(fmt.Sprintf("each node's metrics (its own address, port %d) scraped from the client network and parsed (Prometheus text format), keystone's requests counted, none on a VIP", harness.StatsPort), metrics(ctx, c, cl))
	if connect, handshake, err := cl.Handshakes(ctx, 50); err != nil {
		check("50 new connections to the public VIP, with and without the TLS handshake", err)
	} else {
		lines = append(lines, fmt.Sprintf("- a new connection to the public VIP (median of 50 from the client): TCP connect %.2f ms, with the TLS handshake %.2f ms (TLS 1.3, an ECDSA P-256 certificate)",
			float64(connect.Microseconds())/1000, float64(handshake.Microseconds())/1000))
	}
	check("`openstack --os-cacert <CA> token issue` through the public VIP answers a token, and refuses the VIP without the CA", openstackToken(ctx, c))
	return lines, errs
}

// tlsVersions asks the public VIP for each TLS version with openssl
// s_client from the client network (security level 0: the client offers
// TLS 1.0 and 1.1 itself, so a refusal is the server's).
func tlsVersions(ctx context.Context) error {
	addr := fmt.Sprintf("%s:%d", harness.VIP, harness.KeystonePort)
	for _, v := range []struct {
		flag string
		ok   bool
	}{{"-tls1", false}, {"-tls1_1", false}, {"-tls1_2", true}, {"-tls1_3", true}} {
		out, err := harness.InClient(ctx, 10*time.Second, nil, "openssl", "s_client", "-connect", addr, v.flag,
			"-cipher", "DEFAULT@SECLEVEL=0", "-CAfile", harness.CAFile(), "-verify_return_error", "-servername", harness.PublicName)
		switch {
		case v.ok && (err != nil || !strings.Contains(out, "Verify return code: 0 (ok)")):
			return fmt.Errorf("s_client %s: %v: %s", v.flag, err, tail(out))
		case !v.ok && (err == nil || !strings.Contains(out, "alert protocol version")):
			return fmt.Errorf("s_client %s was not refused by the server: %v: %s", v.flag, err, tail(out))
		}
	}
	return nil
}

// metrics scrapes and parses every node's metrics, finds keystone's
// frontend counted there, and finds nothing on the VIPs' port.
func metrics(ctx context.Context, c *harness.Cluster, cl *harness.Client) error {
	requests := 0.0
	for _, n := range c.Nodes {
		fams, err := cl.Metrics(ctx, n)
		if err != nil {
			return err
		}
		v, ok := sample(fams, "haproxy_frontend_http_requests_total", "keystone-vip")
		if !ok {
			return fmt.Errorf("%s: no requests counted for keystone's frontend among %d families", n.Name, len(fams))
		}
		requests += v
		if v, ok := sample(fams, "haproxy_backend_active_servers", "keystone-api"); !ok || int(v) != len(c.Nodes) {
			return fmt.Errorf("%s: keystone's backend has %v servers up (found: %v), want %d", n.Name, v, ok, len(c.Nodes))
		}
	}
	if requests < 1 {
		return fmt.Errorf("keystone's frontend counted %v requests on all nodes together", requests)
	}
	for _, vip := range []string{harness.VIP, harness.InternalVIP} {
		out, err := harness.InClient(ctx, 5*time.Second, nil, "curl", "-sS", "-m", "2", "-o", "/dev/null", fmt.Sprintf("http://%s:%d/metrics", vip, harness.StatsPort))
		if err == nil {
			return fmt.Errorf("metrics answered on VIP %s: %s", vip, tail(out))
		}
	}
	return nil
}

// sample is the value of family's sample for haproxy's proxy (a frontend
// or a backend): a counter's or a gauge's.
func sample(fams map[string]*dto.MetricFamily, family, proxy string) (float64, bool) {
	for _, m := range fams[family].GetMetric() {
		for _, l := range m.GetLabel() {
			if l.GetName() == "proxy" && l.GetValue() == proxy {
				if m.GetCounter() != nil {
					return m.GetCounter().GetValue(), true
				}
				return m.GetGauge().GetValue(), m.GetGauge() != nil
			}
		}
	}
	return 0, false
}

// proxyHeaders reads keystone's version document through the public VIP.
func proxyHeaders(ctx context.Context, c *harness.Cluster, cl *harness.Client) error {
	resp, err := cl.Get(ctx, c.KeystoneURL()+"/v3", 5*time.Second)
	if err != nil {
		return err
	}
	if want := fmt.Sprintf(`"href": "https://%s:%d/v3/"`, harness.VIP, harness.KeystonePort); resp.Status != 200 || !strings.Contains(resp.Body, want) {
		return fmt.Errorf("HTTP %d, no %s in %s", resp.Status, want, tail(resp.Body))
	}
	return nil
}

// internalVIP asks keystone on the internal VIP from inside every node.
func internalVIP(ctx context.Context, c *harness.Cluster) error {
	for _, n := range c.Nodes {
		out, err := n.Run(ctx, "curl", "-sS", "-m", "5", "-o", "/dev/null", "-w", "%{http_code}", fmt.Sprintf("http://%s:%d/v3", harness.InternalVIP, harness.KeystonePort))
		if err != nil || strings.TrimSpace(out) != "200" {
			return fmt.Errorf("from %s: %v: %s", n.Name, err, tail(out))
		}
	}
	return nil
}

// openstackToken runs python-openstackclient in the client network.
func openstackToken(ctx context.Context, c *harness.Cluster) error {
	env := append(os.Environ(), "OS_AUTH_URL="+c.KeystoneURL()+"/v3", "OS_USERNAME=admin", "OS_PASSWORD="+harness.KeystonePassword,
		"OS_PROJECT_NAME=admin", "OS_USER_DOMAIN_NAME=Default", "OS_PROJECT_DOMAIN_NAME=Default", "OS_IDENTITY_API_VERSION=3")
	out, err := harness.InClient(ctx, time.Minute, env, "openstack", "--os-cacert", harness.CAFile(), "token", "issue", "-f", "value", "-c", "id")
	if err != nil || !strings.HasPrefix(strings.TrimSpace(out), "gAAAA") {
		return fmt.Errorf("with the CA: %v: %s", err, tail(out))
	}
	out, err = harness.InClient(ctx, time.Minute, env, "openstack", "token", "issue", "-f", "value", "-c", "id")
	if err == nil || !strings.Contains(out, "CERTIFICATE_VERIFY_FAILED") {
		return fmt.Errorf("without the CA: want a certificate verification failure: %v: %s", err, tail(out))
	}
	return nil
}

// tail is the end of a command's output, for a message.
func tail(s string) string {
	s = strings.TrimSpace(s)
	if len(s) > 400 {
		s = "..." + s[len(s)-400:]
	}
	return fmt.Sprintf("%q", s)
}
