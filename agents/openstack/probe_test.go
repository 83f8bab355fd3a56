package openstack

import (
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stackha/stackha/internal/testutil"
	"github.com/stackha/stackha/ocf"
)

const keystoneDoc = `{"versions": {"values": [{"id": "v3.14", "status": "stable"}]}}`

// versionServer answers every request with status and body.
func versionServer(t *testing.T, status int, body string) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(body, "<") {
			w.Header().Set("Content-Type", "text/html")
		} else {
			w.Header().Set("Content-Type", "application/json")
		}
		w.WriteHeader(status)
		fmt.Fprint(w, body)
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/"
}

// silentServer accepts connections and never answers: a hung service.
func silentServer(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var conns []net.Conn
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c) // held open, never read nor answered
		}
	}()
	t.Cleanup(func() {
		l.Close()
		<-done
		for _, c := range conns {
			c.Close()
		}
	})
	return "http://" + l.Addr().String() + "/"
}

// closedPort is a port nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	p, err := testutil.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	return "http://127.0.0.1:" + strconv.Itoa(p) + "/"
}

// TestMonitorAnswers runs monitor depth 0 through the runtime against test
// servers (the unit is "active" in a fake systemd): each bad answer gives
// exit 1 with a reason that says what was wrong, before the operation's
// timeout.
func TestMonitorAnswers(t *testing.T) {
	fake := &fakeSystemd{units: map[string]*UnitState{"sho.service": loaded("active")}}
	useSystemd(t, fake, nil)
	const timeoutMS = 1500
	cases := []struct {
		name   string
		url    string
		code   ocf.Code
		reason []string
	}{
		{"keystone 300", versionServer(t, 300, keystoneDoc), ocf.Success, nil},
		{"nova 200", versionServer(t, 200, `{"versions": [{"id": "v2.0"}, {"id": "v2.1"}]}`), ocf.Success, nil},
		{"accepts, never answers", silentServer(t), ocf.ErrGeneric, []string{"no answer in 1", " ms"}},
		{"500", versionServer(t, 500, `{"error": "database gone"}`), ocf.ErrGeneric, []string{"HTTP 500 Internal Server Error", "want 200 or 300", "database gone"}},
		{"503 html", versionServer(t, 503, "<html><body>Service Unavailable</body></html>"), ocf.ErrGeneric, []string{"HTTP 503"}},
		{"html 200", versionServer(t, 200, "<html><body>It works!</body></html>"), ocf.ErrGeneric, []string{"not a version document (not JSON)", "text/html", "It works!"}},
		{"json without versions", versionServer(t, 200, `{"status": "ok"}`), ocf.ErrGeneric, []string{"names no version"}},
		{"empty version list", versionServer(t, 300, `{"versions": []}`), ocf.ErrGeneric, []string{"names no version"}},
		{"redirect", versionServer(t, 302, ``), ocf.ErrGeneric, []string{"HTTP 302"}},
		{"connection refused", closedPort(t), ocf.ErrGeneric, []string{"connection refused"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			params := map[string]string{"run_mode": "systemd", "unit": "sho.service", "url": tc.url}
			r := runAgent(t, "keystone", "monitor", params, runOpts{timeoutMS: timeoutMS, intervalMS: 10000})
			// the agent's own reason, not the runtime's watchdog
			wantCode(t, "monitor", r, tc.code, tc.reason...)
			t.Logf("exit %d: %s", r.code, r.reason())
		})
	}
}

// readDoc reads a testdata document: the status on the first line, then
// the body.
func readDoc(t testing.TB, path string) (int, string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	st, body, _ := strings.Cut(string(b), "\n")
	code, err := strconv.Atoi(st)
	if err != nil {
		t.Fatalf("%s: first line %q is not a status", path, st)
	}
	return code, body
}

// TestEveryProfileAnswer serves each agent's version document — recorded
// from the real service where one runs here (testdata/versions), else
// written from its API reference (testdata/reference) — and runs that
// agent's monitor on it.
func TestEveryProfileAnswer(t *testing.T) {
	for _, p := range Profiles {
		t.Run(p.Name, func(t *testing.T) {
			path := filepath.Join("testdata", "versions", p.Name+".txt")
			if _, err := os.Stat(path); err != nil {
				path = filepath.Join("testdata", "reference", p.Name+".txt")
			}
			status, body := readDoc(t, path)
			mux := http.NewServeMux()
			mux.HandleFunc(p.VersionPath, func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path != p.VersionPath {
					http.NotFound(w, r)
					return
				}
				w.WriteHeader(status)
				fmt.Fprint(w, body)
			})
			srv := httptest.NewServer(mux)
			defer srv.Close()
			port := srv.Listener.Addr().(*net.TCPAddr).Port
			unit := p.Unit
			useSystemd(t, &fakeSystemd{units: map[string]*UnitState{unit: loaded("active")}}, nil)
			// the default url: only the port is given
			params := map[string]string{"port": strconv.Itoa(port)}
			r := runAgent(t, p.Name, "monitor", params, runOpts{timeoutMS: 5000, intervalMS: 10000})
			wantCode(t, "monitor on "+path, r, ocf.Success)
			for _, alias := range p.Aliases {
				wantCode(t, "monitor as "+alias, runAgent(t, alias, "monitor", params, runOpts{timeoutMS: 5000, intervalMS: 10000}), ocf.Success)
			}
		})
	}
}

func TestParseVersions(t *testing.T) {
	cases := []struct {
		body string
		ids  string
		err  string
	}{
		{keystoneDoc, "v3.14", ""},
		{`{"version": {"id": "v3.14", "status": "stable"}}`, "v3.14", ""},
		{`{"versions": [{"id": "v2.0"}, {"id": "v2.1"}]}`, "v2.0 v2.1", ""},
		{`{"versions": [{"id": ""}, {"status": "CURRENT"}]}`, "", "names no version"},
		{`{"versions": {"values": []}}`, "", "names no version"},
		{`{"versions": "v2"}`, "", "neither a list"},
		{`{}`, "", "names no version"},
		{`[]`, "", "not JSON"},
		{`<html></html>`, "", "not JSON"},
		{``, "", "not JSON"},
		{`{"versions": null}`, "", "names no version"},
	}
	for _, tc := range cases {
		ids, err := ParseVersions([]byte(tc.body))
		got := strings.Join(ids, " ")
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("ParseVersions(%q) = %q, %v; want error %q", tc.body, got, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.ids {
			t.Errorf("ParseVersions(%q) = %q, %v; want %q", tc.body, got, err, tc.ids)
		}
	}
}

func TestParseVersionList(t *testing.T) {
	for body, want := range map[string]bool{
		"1.0\n2007-01-19\nlatest\n": true,
		"latest":                    true,
		"":                          false,
		"<html>":                    false,
		"1.0\nopenstack\n":          false,
	} {
		if _, ok := ParseVersionList([]byte(body)); ok != want {
			t.Errorf("ParseVersionList(%q) = %v, want %v", body, ok, want)
		}
	}
}

func FuzzParseVersions(f *testing.F) {
	for _, dir := range []string{"versions", "reference"} {
		files, _ := filepath.Glob(filepath.Join("testdata", dir, "*.txt"))
		for _, file := range files {
			_, body := readDoc(f, file)
			f.Add([]byte(body))
		}
	}
	f.Add([]byte(keystoneDoc))
	f.Fuzz(func(t *testing.T, b []byte) {
		ids, err := ParseVersions(b)
		if err == nil && len(ids) == 0 {
			t.Fatalf("no error and no version for %q", b)
		}
		for _, id := range ids {
			if strings.TrimSpace(id) == "" {
				t.Fatalf("empty version id from %q", b)
			}
		}
		ParseVersionList(b)
	})
}
