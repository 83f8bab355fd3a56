// Package certtest makes TLS certificates for tests: self-signed, or
// signed by a CA of their own, valid for a day, with P-256 keys.
package certtest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"testing"
	"time"
)

// SelfSigned is a self-signed certificate for 127.0.0.1 and its PKCS#8
// key, each PEM-encoded (haproxy's crt reads them concatenated).
func SelfSigned(t testing.TB) (cert, key []byte) {
	t.Helper()
	k := newKey(t)
	tmpl := template(1, "stackha test")
	tmpl.IPAddresses = []net.IP{net.IPv4(127, 0, 0, 1)}
	return encode(t, sign(t, tmpl, tmpl, k, k), k)
}

// Signed is a certificate for the DNS name, signed by a CA made here, then
// that CA's certificate, then the key, in one PEM (a chain and its key, as
// haproxy's crt reads them), and the pool of that CA alone.
func Signed(t testing.TB, name string) (chainAndKey []byte, roots *x509.CertPool) {
	t.Helper()
	ca := NewCA(t)
	cert, k := ca.Issue(t, name)
	return append(append(cert, ca.PEM()...), k...), ca.Pool()
}

// CA is a certificate authority of a test's own, which signs the
// certificates of several servers (one per node, say).
type CA struct {
	cert   *x509.Certificate
	der    []byte
	key    *ecdsa.PrivateKey
	serial int64
}

// NewCA makes a CA.
func NewCA(t testing.TB) *CA {
	t.Helper()
	k := newKey(t)
	tmpl := template(1, "stackha test CA")
	tmpl.IsCA, tmpl.BasicConstraintsValid, tmpl.KeyUsage = true, true, x509.KeyUsageCertSign
	der := sign(t, tmpl, tmpl, k, k)
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return &CA{cert: c, der: der, key: k, serial: 1}
}

// PEM is the CA's certificate, PEM-encoded (what a ca-file holds).
func (ca *CA) PEM() []byte { return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.der}) }

// Pool is a pool of the CA alone.
func (ca *CA) Pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(ca.cert)
	return p
}

// Issue is a server certificate for the DNS name and the IP addresses,
// signed by the CA, and its PKCS#8 key, each PEM-encoded.
func (ca *CA) Issue(t testing.TB, name string, ips ...net.IP) (cert, key []byte) {
	t.Helper()
	k := newKey(t)
	ca.serial++
	leaf := template(ca.serial, name)
	leaf.DNSNames, leaf.IPAddresses = []string{name}, ips
	leaf.KeyUsage, leaf.ExtKeyUsage = x509.KeyUsageDigitalSignature, []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
	return encode(t, sign(t, leaf, ca.cert, k, ca.key), k)
}

func newKey(t testing.TB) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func template(serial int64, cn string) *x509.Certificate {
	now := time.Now()
	return &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: cn},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour)}
}

func sign(t testing.TB, tmpl, parent *x509.Certificate, k, signer *ecdsa.PrivateKey) []byte {
	t.Helper()
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &k.PublicKey, signer)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func encode(t testing.TB, der []byte, k *ecdsa.PrivateKey) (cert, key []byte) {
	t.Helper()
	kd, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kd})
}
