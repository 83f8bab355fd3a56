package openstack

import (
	"encoding/json"
	"encoding/pem"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stackha/stackha/ocf"
	"github.com/stackha/stackha/test/require"
)

// The findings of the security review of 2026-12 (issue 21), each with the
// test that failed before its fix.

// Finding 6: degraded (190) hid a failure of depth 20. A keystone that
// refuses tokens but answers its version document slower than degraded_ms
// got 190 (1.1) or 0 (1.0). Degraded is for a service every check passed.
func TestDegradedHidesNothing(t *testing.T) {
	require.Root(t) // the credentials file is root's
	accept := false
	var mu sync.Mutex
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		ok := accept
		mu.Unlock()
		switch {
		case r.URL.Path == "/":
			time.Sleep(200 * time.Millisecond)
			w.WriteHeader(300)
			io.WriteString(w, keystoneDoc)
		case r.URL.Path == "/v3/auth/tokens" && r.Method == http.MethodPost && ok:
			w.Header().Set("X-Subject-Token", "tok")
			w.WriteHeader(201)
			json.NewEncoder(w).Encode(map[string]any{"token": map[string]any{"project": map[string]string{"id": "p1"}}})
		case r.URL.Path == "/v3/auth/tokens" && r.Method == http.MethodGet && ok:
			io.WriteString(w, `{"token": {}}`)
		default:
			w.WriteHeader(401)
			io.WriteString(w, `{"error": {"code": 401}}`)
		}
	}))
	t.Cleanup(srv.Close)
	creds := filepath.Join(t.TempDir(), "admin.rc")
	os.WriteFile(creds, []byte("OS_USERNAME=admin\nOS_PASSWORD=pw\nOS_PROJECT_NAME=admin\n"), 0o600)
	useSystemd(t, &fakeSystemd{units: map[string]*UnitState{"sho.service": loaded("active")}}, nil)
	p := map[string]string{"run_mode": "systemd", "unit": "sho.service", "url": srv.URL + "/", "keystone_url": srv.URL,
		"credentials": creds, "degraded_ms": "50"}
	v11 := map[string]string{"OCF_RA_VERSION_MAJOR": "1", "OCF_RA_VERSION_MINOR": "1"}
	d20 := runOpts{timeoutMS: 10000, intervalMS: 60000, depth: 20, env: v11}
	wantCode(t, "refused tokens, slow, 1.1", runAgent(t, "keystone", "monitor", p, d20), ocf.ErrGeneric, "refused the credentials")
	d20.env = nil
	wantCode(t, "refused tokens, slow, 1.0", runAgent(t, "keystone", "monitor", p, d20), ocf.ErrGeneric, "refused the credentials")
	mu.Lock()
	accept = true
	mu.Unlock()
	d20.env = v11
	wantCode(t, "tokens, slow, 1.1", runAgent(t, "keystone", "monitor", p, d20), ocf.RunningDegraded)
}

// "ca_file is read following links with no owner check": root decides
// whom to trust from it, so it must be root's, on a path of root's
// directories no one else can write, and a link is refused, never
// followed (the bundle's own path, /etc/ssl/certs/ca-certificates.crt, is
// a regular file; name that, not a link in /etc/ssl/certs).
func TestCAFileTrust(t *testing.T) {
	require.Root(t)
	srv := httptest.NewTLSServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	t.Cleanup(srv.Close)
	bundle := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	dir := t.TempDir()
	good := filepath.Join(dir, "ca.pem")
	os.WriteFile(good, bundle, 0o644)
	if _, err := newClient(good); err != nil {
		t.Fatalf("a root-owned bundle: %v", err)
	}
	if _, err := os.Stat("/etc/ssl/certs/ca-certificates.crt"); err == nil {
		if _, err := newClient("/etc/ssl/certs/ca-certificates.crt"); err != nil {
			t.Errorf("the system's bundle: %v", err)
		}
	}
	theirs := nobodyDir(t)
	cases := map[string]func() string{
		"a link": func() string {
			l := filepath.Join(dir, "link.pem")
			os.Symlink(good, l)
			return l
		},
		"owned by nobody": func() string {
			f := filepath.Join(dir, "nobody.pem")
			os.WriteFile(f, bundle, 0o644)
			os.Chown(f, nobody, nobody)
			return f
		},
		"writable by others": func() string {
			f := filepath.Join(dir, "open.pem")
			os.WriteFile(f, bundle, 0o644)
			os.Chmod(f, 0o666)
			return f
		},
		"in a directory nobody owns": func() string {
			f := filepath.Join(theirs, "ca.pem")
			os.WriteFile(f, bundle, 0o644)
			return f
		},
	}
	for what, mk := range cases {
		path := mk()
		_, err := newClient(path)
		if err == nil || ocf.CodeOf(err) != ocf.ErrInstalled {
			t.Errorf("ca_file %s: %v, want exit 5 with the reason", what, err)
		}
		t.Logf("%s: %v", what, err)
	}
}
