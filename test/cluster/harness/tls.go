package harness

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// The front door (issue 26): with Options.TLS, the rendered cluster has
// two VIPs on two networks, as crm/examples/production.yaml does:
//   - public: VIP on eth0, the network the client is on, where haproxy
//     terminates TLS with a certificate signed by a CA made here with
//     openssl; the client trusts that CA alone.
//   - internal: InternalVIP on eth1, the nodes' own network, where the
//     services listen on each node's address (NodeSpec.Ring) and corosync
//     runs its ring; plain HTTP.
//
// Each node's haproxy serves its statistics and Prometheus metrics on its
// address on the client's network (StatsPort).
const (
	InternalVIP = "198.51.100.100"
	// PublicName is the public VIP's DNS name in its certificate (the
	// certificate also names the address: the client asks for it).
	PublicName = "api.shc.test"
	// StatsPort is where each node's haproxy serves statistics and
	// metrics (render's default).
	StatsPort = 8404
	// PublicVIPResource and InternalVIPResource are the VIPs' resource
	// ids as `stackha render` names them.
	PublicVIPResource   = "vip-public"
	InternalVIPResource = "vip-internal"
)

// TLSDir holds the harness's CA, its key and the public VIP's PEM (the
// chain and the key: root's, 0600, as the haproxy agent wants it).
func TLSDir() string { return filepath.Join(BaseDir, "tls") }

// CAFile is the CA's certificate, what a client trusts.
func CAFile() string { return filepath.Join(TLSDir(), "ca.pem") }

// CertFile is the PEM haproxy serves on the public VIP.
func CertFile() string { return filepath.Join(TLSDir(), "api.pem") }

// clientRoots are the CAs the client trusts for https: only the CA of the
// cluster made last (nil: the system's, which trust none of it).
var clientRoots atomic.Pointer[x509.CertPool]

// TLS reports whether the cluster serves its public VIP over TLS (a
// rendered cluster with Options.TLS).
func (c *Cluster) TLS() bool { return c.opts.TLS && c.rendered() }

// VIPResource is the resource id of the VIP the client reaches.
func (c *Cluster) VIPResource() string {
	if c.TLS() {
		return PublicVIPResource
	}
	return VIPResource
}

// KeystoneURL is keystone's base URL on the VIP the client reaches.
func (c *Cluster) KeystoneURL() string {
	if c.TLS() {
		return fmt.Sprintf("https://%s:%d", VIP, KeystonePort)
	}
	return fmt.Sprintf("http://%s:%d", VIP, KeystonePort)
}

// opensslConf is the configuration of the certificates made here: a CA,
// and a leaf for the public VIP's name and address.
const opensslConf = `[req]
distinguished_name = dn
prompt = no
[dn]
CN = stackha harness CA
[ca]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[leaf]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = DNS:` + PublicName + `,IP:` + VIP + `
authorityKeyIdentifier = keyid
`

// makeCA makes the cluster's CA with openssl (P-256, valid two days) and
// the public VIP's first certificate, serial 1.
func (c *Cluster) makeCA(ctx context.Context) error {
	dir := TLSDir()
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	cnf := filepath.Join(dir, "openssl.cnf")
	if err := os.WriteFile(cnf, []byte(opensslConf), 0o600); err != nil {
		return err
	}
	if _, err := Run(ctx, "openssl", "req", "-x509", "-config", cnf, "-extensions", "ca", "-newkey", "ec",
		"-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", filepath.Join(dir, "ca.key"),
		"-out", CAFile(), "-days", "2"); err != nil {
		return err
	}
	pem, err := os.ReadFile(CAFile())
	if err != nil {
		return err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return errors.New("openssl's CA certificate does not parse")
	}
	clientRoots.Store(pool)
	c.certSerial = 1
	return c.issueCertificate(ctx, 1)
}

// RotateCertificate rotates the public VIP's certificate as an operator
// does: the next one (a new key, the same CA and name) in place of the
// served file, then `stackha tls-reload` on one node, and Pacemaker
// reloads haproxy on every node. It returns the new certificate's serial.
func (c *Cluster) RotateCertificate(ctx context.Context) (string, error) {
	c.mu.Lock()
	c.certSerial++
	serial := c.certSerial
	c.mu.Unlock()
	if err := c.issueCertificate(ctx, serial); err != nil {
		return "", err
	}
	if _, err := c.Ctl().Run(ctx, c.opts.Agents.Binary, "tls-reload", "--config", c.paths.HAProxyCfg); err != nil {
		return "", err
	}
	return strconv.Itoa(serial), nil
}

// issueCertificate makes a new key and certificate (serial) for the public
// VIP, signed by the cluster's CA, and puts the chain and the key in place
// of CertFile in one rename: what an operator's rotation does before
// `stackha tls-reload`.
func (c *Cluster) issueCertificate(ctx context.Context, serial int) error {
	dir := TLSDir()
	cnf, key, csr, crt := filepath.Join(dir, "openssl.cnf"), filepath.Join(dir, "leaf.key"), filepath.Join(dir, "leaf.csr"), filepath.Join(dir, "leaf.pem")
	if _, err := Run(ctx, "openssl", "req", "-new", "-config", cnf, "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
		"-nodes", "-keyout", key, "-out", csr, "-subj", "/CN="+PublicName); err != nil {
		return err
	}
	if _, err := Run(ctx, "openssl", "x509", "-req", "-in", csr, "-CA", CAFile(), "-CAkey", filepath.Join(dir, "ca.key"),
		"-set_serial", strconv.Itoa(serial), "-days", "2", "-extfile", cnf, "-extensions", "leaf", "-out", crt); err != nil {
		return err
	}
	var pem []byte
	for _, f := range []string{crt, CAFile(), key} {
		b, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		pem = append(pem, b...)
	}
	tmp := CertFile() + ".new"
	if err := os.WriteFile(tmp, pem, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, CertFile())
}

// ServedSerial is the serial number of the certificate the public VIP
// serves (keystone's port), verified against the cluster's CA.
func (cl *Client) ServedSerial(ctx context.Context) (string, error) {
	var serial string
	var err error
	done := make(chan struct{})
	cl.InNamespace(func() {
		defer close(done)
		ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		defer cancel()
		d := tls.Dialer{Config: clientTLS(VIP)}
		var conn net.Conn
		if conn, err = d.DialContext(ctx, "tcp", net.JoinHostPort(VIP, strconv.Itoa(KeystonePort))); err != nil {
			return
		}
		defer conn.Close()
		serial = conn.(*tls.Conn).ConnectionState().PeerCertificates[0].SerialNumber.String()
	})
	<-done
	return serial, err
}

// clientTLS is the client's TLS configuration for host: the cluster's CA
// only, TLS 1.2 and later.
func clientTLS(host string) *tls.Config {
	return &tls.Config{RootCAs: clientRoots.Load(), ServerName: host, MinVersion: tls.VersionTLS12}
}

// frontDoor turns a harness topology's one VIP into the public VIP, with
// TLS, and the internal one; the services listen on each node's address
// on the internal network (eth1), and each node's haproxy serves its
// statistics and metrics on its address on the client's (eth0).
func frontDoor(t string, nodes []NodeSpec) (string, error) {
	one := fmt.Sprintf("vip:\n  address: %s\n  prefix: %d\n  nic: eth0\n  monitor_interval: 1s\n", VIP, VIPPrefix)
	if strings.Count(t, one) != 1 || strings.Count(t, "\nhaproxy:\n") != 1 {
		return "", fmt.Errorf("the harness's topology has not one VIP and one haproxy section:\n%s", t)
	}
	vips := fmt.Sprintf("vips:\n"+
		"  - {name: public, address: %s, prefix: %d, nic: eth0, dns_name: %s, monitor_interval: 1s, tls: {certificate: %s}}\n"+
		"  - {name: internal, address: %s, prefix: 24, nic: eth1, monitor_interval: 1s}\n",
		VIP, VIPPrefix, PublicName, CertFile(), InternalVIP)
	t = strings.Replace(t, one, vips, 1)
	for _, n := range nodes {
		// lab nodes' lines end there, systemd nodes' go on with ring0_addr
		line := fmt.Sprintf("  - {name: %s, address: %s", n.Name, n.Addr)
		if strings.Count(t, line) != 1 {
			return "", fmt.Errorf("the harness's topology has not one line for %s:\n%s", n.Name, t)
		}
		t = strings.Replace(t, line, fmt.Sprintf("  - {name: %s, address: %s, management_address: %s", n.Name, n.Ring, n.Addr), 1)
	}
	return strings.Replace(t, "\nhaproxy:\n", "\nhaproxy:\n  stats:\n    allow: [192.0.2.0/24]\n", 1), nil
}

// vipResources are the cluster's VIPs' resource ids.
func (c *Cluster) vipResources() []string {
	if c.TLS() {
		return []string{PublicVIPResource, InternalVIPResource}
	}
	return []string{VIPResource}
}

// Handshakes times n new connections to keystone's port on the public
// VIP from the client namespace, one after the other: the TCP connect
// alone, and the connect with the TLS handshake (verified against the
// cluster's CA) on another connection. It returns the medians.
func (cl *Client) Handshakes(ctx context.Context, n int) (connect, handshake time.Duration, err error) {
	var cs, hs []time.Duration
	done := make(chan struct{})
	addr := net.JoinHostPort(VIP, strconv.Itoa(KeystonePort))
	cl.InNamespace(func() {
		defer close(done)
		for i := 0; i < n && err == nil; i++ {
			ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
			t0 := time.Now()
			var conn net.Conn
			if conn, err = (&net.Dialer{}).DialContext(ctx, "tcp", addr); err == nil {
				cs = append(cs, time.Since(t0))
				conn.Close()
				t0 = time.Now()
				if conn, err = (&tls.Dialer{Config: clientTLS(VIP)}).DialContext(ctx, "tcp", addr); err == nil {
					hs = append(hs, time.Since(t0))
					conn.Close()
				}
			}
			cancel()
		}
	})
	<-done
	if err != nil {
		return 0, 0, err
	}
	return median(cs), median(hs), nil
}

func median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), ds...)
	slices.Sort(s)
	return s[len(s)/2]
}
