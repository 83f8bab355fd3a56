package openstack

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/user"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stackha/stackha/metadata"
	"github.com/stackha/stackha/ocf"
)

func TestConnBusy(t *testing.T) {
	s := time.Second
	for _, tc := range []struct {
		name string
		c    conn
		want bool
	}{
		{"listening socket", conn{state: tcpListen}, false},
		{"closing (time-wait)", conn{state: 6, sinceRecv: 0, sinceSent: 0}, false},
		{"request read, no answer yet", conn{state: tcpEstablished, sinceRecv: 2 * s, sinceSent: 5 * s}, true},
		{"new connection, nothing sent yet", conn{state: tcpEstablished, sinceRecv: 3 * s, sinceSent: 3 * s}, true},
		{"answer being written", conn{state: tcpEstablished, sinceRecv: 9 * s, sinceSent: 9 * s, wqueued: 10}, true},
		{"answer not acknowledged", conn{state: tcpEstablished, sinceRecv: 9 * s, sinceSent: 8 * s, unacked: 1}, true},
		{"answer streamed (sent just now)", conn{state: tcpEstablished, sinceRecv: 9 * s, sinceSent: 200 * time.Millisecond}, true},
		{"idle keep-alive", conn{state: tcpEstablished, sinceRecv: 9 * s, sinceSent: 2 * s}, false},
		{"client gone, request still served", conn{state: tcpCloseWait, sinceRecv: time.Second, sinceSent: 4 * s}, true},
	} {
		if got := tc.c.busy(); got != tc.want {
			t.Errorf("%s: busy %v, want %v", tc.name, got, tc.want)
		}
	}
}

// drainConfig is a keystone configuration draining through a file in a
// directory of the test's, owned by the user the test runs as.
func drainConfig(t *testing.T, timeout time.Duration) *Config {
	t.Helper()
	u, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "keystone")
	if err := os.Mkdir(dir, 0o750); err != nil {
		t.Fatal(err)
	}
	return &Config{Profile: profile("keystone"), Instance: "shd-keystone", User: u.Username, Port: 5000,
		DrainTimeout: timeout, DrainFile: filepath.Join(dir, "healthcheck_disable"), DrainChecks: 2 * time.Second}
}

// fakeNode is a drainer whose clock moves only when drain sleeps, with
// the connections a function of that clock.
type fakeNode struct {
	t       time.Time
	slept   []time.Duration
	conns   func(at time.Duration) ([]conn, error)
	enabled error // what asking the healthcheck says
	down    error // what asking the version document says
	quorum  *bool // what the controller says of quorum (nil: unknown)
}

func (f *fakeNode) drainer(t0 time.Time) drainer {
	f.t = t0
	return drainer{
		now: func() time.Time { return f.t },
		sleep: func(ctx context.Context, d time.Duration) error {
			f.slept = append(f.slept, d)
			f.t = f.t.Add(d)
			return nil
		},
		conns:    func(port int) ([]conn, error) { return f.conns(f.t.Sub(t0)) },
		answers:  func(context.Context, *Config) error { return f.down },
		disabled: func(context.Context, *Config) error { return f.enabled },
		quorate: func(context.Context) (bool, error) {
			if f.quorum == nil {
				return false, errors.New("crm_node --quorum: exit status 102")
			}
			return *f.quorum, nil
		},
	}
}

func busyUntil(d time.Duration, n int) func(time.Duration) ([]conn, error) {
	return func(at time.Duration) ([]conn, error) {
		if at >= d {
			return []conn{{state: tcpListen}, {state: tcpEstablished, sinceRecv: 9 * time.Second, sinceSent: 3 * time.Second}}, nil
		}
		cs := make([]conn, n)
		for i := range cs {
			cs[i] = conn{state: tcpEstablished, sinceRecv: time.Second, sinceSent: 2 * time.Second}
		}
		return cs, nil
	}
}

func TestDrain(t *testing.T) {
	t0 := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	yes, no := true, false
	for _, tc := range []struct {
		name     string
		timeout  time.Duration
		deadline time.Duration // of the stop; 0: none
		conns    func(time.Duration) ([]conn, error)
		enabled  error
		down     error
		quorum   *bool
		file     bool          // the disable file exists after drain
		took     time.Duration // the time drain slept in all
		logHas   string
	}{
		{name: "off", timeout: 0, conns: busyUntil(0, 0), took: 0},
		{name: "idle service: the checks' time only", timeout: 30 * time.Second, conns: busyUntil(0, 0),
			file: true, took: 2 * time.Second, logHas: "holds no request 2s after"},
		{name: "waits for the requests held", timeout: 30 * time.Second, conns: busyUntil(5*time.Second, 3),
			file: true, took: 5 * time.Second, logHas: "holds no request 5s after"},
		{name: "drain_timeout runs out", timeout: 4 * time.Second, conns: busyUntil(time.Hour, 2),
			file: true, took: 4 * time.Second, logHas: "still holds 2 requests after 4s"},
		{name: "cut to the stop's timeout", timeout: time.Minute, deadline: 16 * time.Second, conns: busyUntil(time.Hour, 1),
			file: true, took: 6 * time.Second, logHas: "cut to 6s"},
		{name: "no room left in the stop's timeout", timeout: time.Minute, deadline: 9 * time.Second, conns: busyUntil(time.Hour, 1),
			file: false, took: 0, logHas: "cut to 0s"},
		{name: "healthcheck not disabled: said, drain goes on", timeout: 30 * time.Second, conns: busyUntil(0, 0),
			enabled: errors.New("GET /healthcheck answered 200"), file: true, took: 2 * time.Second, logHas: "WARNING: drain: GET /healthcheck answered 200"},
		{name: "hung service: no drain", timeout: 30 * time.Second, conns: busyUntil(time.Hour, 5),
			down: errors.New("no answer in 2000 ms"), file: false, took: 0, logHas: "skipped, keystone does not answer: no answer in 2000 ms"},
		{name: "quorum: the drain", timeout: 30 * time.Second, conns: busyUntil(5*time.Second, 3), quorum: &yes,
			file: true, took: 5 * time.Second, logHas: "holds no request 5s after"},
		{name: "no quorum: no drain", timeout: 30 * time.Second, conns: busyUntil(time.Hour, 3), quorum: &no,
			file: false, took: 0, logHas: "skipped, this node's partition has no quorum"},
		{name: "sock_diag fails: stop goes on", timeout: 30 * time.Second, conns: func(time.Duration) ([]conn, error) { return nil, errors.New("EPERM") },
			file: true, took: 2 * time.Second, logHas: "EPERM; stopping"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := drainConfig(t, tc.timeout)
			f := &fakeNode{conns: tc.conns, enabled: tc.enabled, down: tc.down, quorum: tc.quorum}
			ctx := context.Background()
			if tc.deadline != 0 {
				var cancel context.CancelFunc
				// drain measures the deadline with its own clock
				ctx, cancel = context.WithDeadline(ctx, time.Now().Add(tc.deadline))
				defer cancel()
				t0 = time.Now()
			}
			var logb bytes.Buffer
			f.drainer(t0).drain(ctx, c, ocf.NewLogger(ocf.LogConfig{Agent: "test", Stderr: &logb}))
			var took time.Duration
			for _, d := range f.slept {
				took += d
			}
			if took.Round(time.Second) != tc.took {
				t.Errorf("drain slept %s (%v), want %s", took, f.slept, tc.took)
			}
			_, err := os.Lstat(c.DrainFile)
			if exists := err == nil; exists != tc.file {
				t.Errorf("disable file exists: %v, want %v", exists, tc.file)
			}
			if !strings.Contains(logb.String(), tc.logHas) {
				t.Errorf("log %q lacks %q", logb.String(), tc.logHas)
			}
		})
	}
}

// The disable file's directory is the service user's: a link planted in
// the file's place is replaced, never followed, and a link on the way to
// it is refused.
func TestDrainFileLinks(t *testing.T) {
	c := drainConfig(t, time.Minute)
	victim := filepath.Join(t.TempDir(), "victim")
	if err := os.WriteFile(victim, []byte("root's\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(victim, c.DrainFile); err != nil {
		t.Fatal(err)
	}
	if err := setDrainFile(c, true); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(victim); string(b) != "root's\n" {
		t.Errorf("the link's target was written: %q", b)
	}
	fi, err := os.Lstat(c.DrainFile)
	if err != nil || !fi.Mode().IsRegular() {
		t.Fatalf("disable file: %v, %v: want a regular file in the link's place", fi, err)
	}
	var logb bytes.Buffer
	if err := undrain(c, ocf.NewLogger(ocf.LogConfig{Agent: "test", Stderr: &logb})); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(c.DrainFile); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("start left the disable file: %v", err)
	}
	// a link as the directory: refused, nothing created where it points
	real := filepath.Dir(c.DrainFile)
	link := filepath.Join(t.TempDir(), "keystone")
	if err := os.Symlink(real, link); err != nil {
		t.Fatal(err)
	}
	c.DrainFile = filepath.Join(link, "healthcheck_disable")
	if err := setDrainFile(c, true); err == nil {
		t.Error("a linked directory was followed")
	}
	if _, err := os.Lstat(filepath.Join(real, "healthcheck_disable")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("created through a link: %v", err)
	}
}

func TestDrainParams(t *testing.T) {
	for _, tc := range []struct {
		agent  string
		params map[string]string
		code   ocf.Code
		has    string
	}{
		{"keystone", map[string]string{"drain_timeout": "20s"}, ocf.Success, ""},
		{"glance-api", map[string]string{"drain_timeout": "20s", "drain_file": "etc/glance/x"}, ocf.ErrConfigured, "absolute, clean path"},
		{"glance-api", map[string]string{"drain_timeout": "20s", "drain_file": "/x"}, ocf.ErrConfigured, "not in /"},
		{"glance-api", map[string]string{"drain_timeout": "11m"}, ocf.ErrConfigured, "drain_timeout"},
		{"placement-api", map[string]string{"drain_timeout": "20s"}, ocf.ErrConfigured, "needs drain_agent_port"},
		{"placement-api", map[string]string{"drain_timeout": "0"}, ocf.Success, ""},
		{"placement-api", map[string]string{"drain_timeout": "20s", "drain_agent_port": "18778"}, ocf.Success, ""},
		{"placement-api", map[string]string{"drain_timeout": "20s", "drain_agent_port": "65536"}, ocf.ErrConfigured, "drain_agent_port"},
	} {
		r := runAgent(t, tc.agent, "validate-all", tc.params, runOpts{env: map[string]string{"OCF_CHECK_LEVEL": "0"}})
		wantCode(t, tc.agent+" "+strings.Join(keys(tc.params), ","), r, tc.code, tc.has)
	}
}

func keys(m map[string]string) []string {
	var out []string
	for k, v := range m {
		out = append(out, k+"="+v)
	}
	return out
}

// A service with oslo's healthcheck declares the drain with its package's
// disable file as the default; one without, with the drain agent's port.
func TestDrainDeclared(t *testing.T) {
	for _, p := range Profiles {
		var file, port *metadata.Parameter
		n := 0
		for _, q := range declare(p).Parameters {
			if strings.HasPrefix(q.Name, "drain_") {
				n++
				switch q.Name {
				case "drain_file":
					file = &q
				case "drain_agent_port":
					port = &q
				}
			}
		}
		switch {
		case p.DrainFile == "" && (n != 3 || port == nil || file != nil):
			t.Errorf("%s has no healthcheck: %d drain parameters, drain_agent_port %v, drain_file %v", p.Name, n, port, file)
		case p.DrainFile != "" && (n != 3 || file == nil || file.Default != p.DrainFile || port != nil):
			t.Errorf("%s: %d drain parameters, drain_file %v", p.Name, n, file)
		}
	}
}

func TestHealthcheckDisabled(t *testing.T) {
	for _, tc := range []struct {
		status int
		has    string
	}{
		{http.StatusServiceUnavailable, ""},
		{http.StatusOK, "answered \"200 OK\", not 503"},
		{http.StatusNotFound, "answered \"404 Not Found\", not 503"},
	} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path != "/healthcheck" {
				t.Errorf("asked %s", r.URL.Path)
			}
			w.WriteHeader(tc.status)
		}))
		c := drainConfig(t, time.Minute)
		c.ProbeTimeout = time.Second
		u, _ := url.Parse(srv.URL + "/v3?x=1")
		c.URL = u
		err := healthcheckDisabled(context.Background(), c)
		srv.Close()
		switch {
		case tc.has == "" && err != nil:
			t.Errorf("%d: %v", tc.status, err)
		case tc.has != "" && (err == nil || !strings.Contains(err.Error(), tc.has) || !strings.Contains(err.Error(), "keystone.conf.d")):
			t.Errorf("%d: %v, want %q and the drop-in's directory", tc.status, err, tc.has)
		}
	}
}
