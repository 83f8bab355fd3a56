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
	caKey, key := newKey(t), newKey(t)
	ca := template(1, "stackha test CA")
	ca.IsCA, ca.BasicConstraintsValid, ca.KeyUsage = true, true, x509.KeyUsageCertSign
	caDER := sign(t, ca, ca, caKey, caKey)
	caCert, err := x509.ParseCertificate(caDER)
	if err != nil {
		t.Fatal(err)
	}
	leaf := template(2, name)
	leaf.DNSNames = []string{name}
	leaf.KeyUsage, leaf.ExtKeyUsage = x509.KeyUsageDigitalSignature, []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
	cert, k := encode(t, sign(t, leaf, caCert, key, caKey), key)
	roots = x509.NewCertPool()
	roots.AddCert(caCert)
	chain := append(cert, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER})...)
	return append(chain, k...), roots
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
