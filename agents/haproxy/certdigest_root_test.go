package haproxy

import (
	"bytes"
	"crypto/tls"
	"encoding/pem"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stackha/stackha/internal/testutil"
	"github.com/stackha/stackha/internal/testutil/certtest"
	"github.com/stackha/stackha/ocf"
)

// Certificate rotation: the operator replaces the PEM; CertDigest changes
// with it (and only with it); a reload-agent with the new digest as
// generation makes haproxy serve the new certificate, while a client
// sending HTTPS requests all along through that bind loses none.
func TestCertificateRotation(t *testing.T) {
	r := newRig(t)
	pemPath := filepath.Join(r.dir, "site.pem")
	write := func() []byte {
		cert, key := certtest.SelfSigned(t)
		tmp := pemPath + ".new"
		if err := os.WriteFile(tmp, append(cert, key...), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, pemPath); err != nil {
			t.Fatal(err)
		}
		return cert
	}
	first := write()
	ports, err := testutil.FreePorts(1)
	if err != nil {
		t.Fatal(err)
	}
	tlsAddr := fmt.Sprintf("127.0.0.1:%d", ports[0])
	r.writeConfig(cfgOpts{ExtraBind: tlsAddr + " ssl crt " + pemPath})
	d1, err := CertDigest([]string{r.cfg})
	if err != nil {
		t.Fatal(err)
	}
	r.must("start", ocf.Success, "OCF_RESKEY_generation="+d1)
	defer r.must("stop", ocf.Success)
	served := func() []byte {
		c, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", tlsAddr, &tls.Config{InsecureSkipVerify: true})
		if err != nil {
			t.Fatalf("TLS on %s: %v", tlsAddr, err)
		}
		defer c.Close()
		return c.ConnectionState().PeerCertificates[0].Raw
	}
	if !pemHas(first, served()) {
		t.Fatal("haproxy does not serve the first certificate")
	}
	if again, err := CertDigest([]string{r.cfg}); err != nil || again != d1 {
		t.Fatalf("digest of the same files: %s, %v; want %s", again, err, d1)
	}

	// HTTPS requests through the TLS bind all along
	hc := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true,
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	var sent, failed atomic.Int64
	var firstErr atomic.Value
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				sent.Add(1)
				resp, err := hc.Get("https://" + tlsAddr + "/")
				if err == nil {
					_, err = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if err == nil && resp.StatusCode != http.StatusOK {
						err = fmt.Errorf("HTTP %d", resp.StatusCode)
					}
				}
				if err != nil {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
				}
			}
		}()
	}
	time.Sleep(300 * time.Millisecond)
	second := write()
	d2, err := CertDigest([]string{r.cfg})
	if err != nil || d2 == d1 {
		t.Fatalf("digest after the rotation: %s, %v (before: %s)", d2, err, d1)
	}
	r.must("reload-agent", ocf.Success, "OCF_RESKEY_generation="+d2)
	eventually(t, 10*time.Second, "the new certificate served", func() error {
		if !pemHas(second, served()) {
			return fmt.Errorf("still the old one")
		}
		return nil
	})
	time.Sleep(300 * time.Millisecond)
	close(stop)
	wg.Wait()
	t.Logf("%d HTTPS requests through the rotation, %d failed", sent.Load(), failed.Load())
	if failed.Load() != 0 {
		t.Errorf("%d of %d HTTPS requests failed during the rotation (first: %v)", failed.Load(), sent.Load(), firstErr.Load())
	}
}

// pemHas reports whether the PEM certificate holds the DER certificate.
func pemHas(pemCert, der []byte) bool {
	blk, _ := pemDecode(pemCert)
	return blk != nil && bytes.Equal(blk, der)
}

func TestCheckGeneration(t *testing.T) {
	for _, c := range []struct {
		in string
		ok bool
	}{{"", true}, {"0123456789abcdef", true}, {"2026-12-06T21:40", true}, {"a b", false}, {"x;rm", false}, {string(make([]byte, 129)), false}} {
		if err := checkGeneration(c.in); (err == nil) != c.ok {
			t.Errorf("checkGeneration(%q): %v, want ok %v", c.in, err, c.ok)
		}
	}
}

// pemDecode is the DER of the first PEM block.
func pemDecode(b []byte) ([]byte, []byte) {
	blk, rest := pem.Decode(b)
	if blk == nil {
		return nil, rest
	}
	return blk.Bytes, rest
}
