package haproxy

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"text/template"
	"time"

	"github.com/stackha/stackha/instance"
	"github.com/stackha/stackha/internal/testutil"
	"github.com/stackha/stackha/internal/testutil/haproxytest"
	"github.com/stackha/stackha/internal/testutil/require"
	"github.com/stackha/stackha/ocf"
	"github.com/stackha/stackha/ocf/ocftest"
)

// The root tests drive the registered agent through the OCF runtime (as
// Pacemaker would, minus the exec) against the real haproxy from Debian on
// loopback ports the kernel hands out, with a pair of tiny HTTP backends
// started by the test.

const haproxyBin = "/usr/sbin/haproxy"

// backend is a tiny HTTP server that can be taken down and brought back on
// the same port.
type backend struct {
	name string
	addr string
	mu   sync.Mutex
	srv  *http.Server
}

func newBackend(t *testing.T, name string) *backend {
	b := &backend{name: name}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b.addr = l.Addr().String()
	b.serve(l)
	t.Cleanup(b.down)
	return b
}

func (b *backend) serve(l net.Listener) {
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if ms, _ := strconv.Atoi(r.URL.Query().Get("sleep_ms")); ms > 0 {
			select {
			case <-time.After(time.Duration(ms) * time.Millisecond):
			case <-r.Context().Done():
				return
			}
		}
		fmt.Fprintf(w, "%s\n", b.name)
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	b.mu.Lock()
	b.srv = srv
	b.mu.Unlock()
	go srv.Serve(l)
}

func (b *backend) down() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.srv != nil {
		b.srv.Close()
		b.srv = nil
	}
}

func (b *backend) up(t *testing.T) {
	l, err := net.Listen("tcp", b.addr)
	if err != nil {
		t.Fatalf("backend %s back up: %v", b.name, err)
	}
	b.serve(l)
}

// rig is one agent instance with its configuration and backends.
type rig struct {
	t        *testing.T
	dir      string
	instance string
	cfg      string
	fePort   int
	fe2Port  int
	be       []*backend
	env      ocftest.Env
	socket   string
}

type cfgOpts struct {
	Dir             string
	FE, FE2         int
	S1, S2          string
	NoDefaults      bool
	SecondFrontend  bool
	Broken          bool
	ExtraBind       string
	StateFromGlobal bool
	NoStats         bool
	OwnStateFile    bool
	StateFile       string // a server-state-file of the operator's
	StatsSocket     string // the stats socket's path (default: <Dir>/stats.sock)
	User            string
}

var cfgTemplate = template.Must(template.New("cfg").Parse(`global
{{- if .User}}
    user {{.User}}
{{- end}}
{{- if .StatsSocket}}
    stats socket {{.StatsSocket}} mode 600 level admin
{{- else if not .NoStats}}
    stats socket {{.Dir}}/stats.sock mode 600 level admin
{{- end}}
{{- if .OwnStateFile}}
    server-state-file {{.Dir}}/operator.state
{{- end}}
{{- if .StateFile}}
    server-state-file {{.StateFile}}
{{- end}}
{{- if not .NoDefaults}}
defaults
    mode http
    timeout connect 1s
    timeout client 30s
    timeout server 30s
{{- if .StateFromGlobal}}
    load-server-state-from-file global
{{- end}}
{{- end}}
frontend shh-fe
    bind 127.0.0.1:{{.FE}}
{{- if .ExtraBind}}
    bind {{.ExtraBind}}
{{- end}}
{{- if .NoDefaults}}
    mode http
    timeout client 30s
{{- end}}
    default_backend shh-api
{{- if .SecondFrontend}}
frontend shh-fe2
    bind 127.0.0.1:{{.FE2}}
{{- if .NoDefaults}}
    mode http
    timeout client 30s
{{- end}}
    default_backend shh-api
{{- end}}
backend shh-api
{{- if .NoDefaults}}
    mode http
    timeout connect 1s
    timeout server 30s
{{- end}}
    server s1 {{.S1}} check inter 100ms fall 1 rise 1
    server s2 {{.S2}} check inter 100ms fall 1 rise 1
{{- if .Broken}}
    this-is-no-keyword
{{- end}}
`))

func newRig(t *testing.T) *rig {
	t.Helper()
	require.Root(t)
	require.File(t, haproxyBin)
	dir, err := os.MkdirTemp("/tmp", "shh-")
	if err != nil {
		t.Fatal(err)
	}
	r := &rig{t: t, dir: dir, instance: filepath.Base(dir), cfg: filepath.Join(dir, "haproxy.cfg")}
	r.socket = filepath.Join(dir, "master.sock")
	ports, err := testutil.FreePorts(2)
	if err != nil {
		t.Fatal(err)
	}
	r.fePort, r.fe2Port = ports[0], ports[1]
	r.be = []*backend{newBackend(t, "s1"), newBackend(t, "s2")}
	r.env = ocftest.Env{
		"OCF_RESOURCE_INSTANCE":       r.instance,
		"OCF_RESKEY_config":           r.cfg,
		"OCF_RESKEY_pidfile":          filepath.Join(dir, "haproxy.pid"),
		"OCF_RESKEY_master_socket":    r.socket,
		"HA_LOGFACILITY":              "none",
		"OCF_RESKEY_CRM_meta_timeout": "20000",
	}
	r.writeConfig(cfgOpts{})
	t.Cleanup(func() {
		if left := r.left(); len(left) > 0 {
			t.Errorf("haproxy processes left behind: %v", left)
			haproxytest.KillBySocket(r.socket)
		}
		os.RemoveAll(dir)
		os.RemoveAll(instance.StateDir(r.instance))
	})
	return r
}

// left lists the root-owned haproxy processes still running with this
// rig's master socket, whatever the agent thinks of them.
func (r *rig) left() []int { return haproxytest.BySocket(r.socket) }

// newOp is an op on the rig's instance, as the agent's handlers build it.
func (r *rig) newOp() *op {
	s := &settings{binary: haproxyBin, configs: []string{r.cfg}, pidfile: r.env["OCF_RESKEY_pidfile"], socket: r.socket}
	return &op{settings: s, name: r.instance, log: ocf.NewLogger(ocf.LogConfig{Agent: "test"}), view: hostView}
}

func (r *rig) writeConfig(o cfgOpts) { r.t.Helper(); r.writeConfigTo(r.cfg, o) }

// writeConfigTo writes the rig's configuration with o to path.
func (r *rig) writeConfigTo(path string, o cfgOpts) {
	r.t.Helper()
	o.Dir, o.FE, o.FE2, o.S1, o.S2 = r.dir, r.fePort, r.fe2Port, r.be[0].addr, r.be[1].addr
	var b bytes.Buffer
	if err := cfgTemplate.Execute(&b, o); err != nil {
		r.t.Fatal(err)
	}
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		r.t.Fatal(err)
	}
}

// run runs one action; env entries "K=V" override the rig's.
func (r *rig) run(action string, env ...string) (ocf.Code, string) {
	r.t.Helper()
	e := ocftest.Env{}
	for k, v := range r.env {
		e[k] = v
	}
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		e[k] = v
	}
	a, ok := ocf.Lookup("haproxy")
	if !ok {
		r.t.Fatal("haproxy is not registered")
	}
	var out, errb bytes.Buffer
	code := ocf.Run(a, "haproxy", []string{action}, e, ocf.Streams{Stdout: &out, Stderr: &errb})
	r.t.Logf("%s %v -> %d\n%s", action, env, code, strings.TrimSpace(errb.String()))
	return code, errb.String()
}

func (r *rig) must(action string, want ocf.Code, env ...string) string {
	r.t.Helper()
	code, out := r.run(action, env...)
	if code != want {
		r.t.Fatalf("%s: exit %d, want %d\n%s", action, code, want, out)
	}
	return out
}

func (r *rig) stats(cmd string) string {
	r.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	out, err := Query(ctx, filepath.Join(r.dir, "stats.sock"), cmd)
	if err != nil {
		r.t.Fatalf("stats socket %q: %v", cmd, err)
	}
	return out
}

func (r *rig) procList() ProcList {
	r.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	out, err := Query(ctx, r.socket, "show proc")
	if err != nil {
		r.t.Fatalf("show proc: %v", err)
	}
	pl, err := ParseShowProc(out)
	if err != nil {
		r.t.Fatal(err)
	}
	return pl
}

var client = &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}

func (r *rig) get(port int, query string) (string, error) {
	resp, err := client.Get(fmt.Sprintf("http://127.0.0.1:%d/%s", port, query))
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		return string(b), fmt.Errorf("HTTP %d", resp.StatusCode)
	}
	return string(b), err
}

// eventually retries f for up to d (health checks run every 100 ms).
func eventually(t *testing.T, d time.Duration, what string, f func() error) {
	t.Helper()
	end := time.Now().Add(d)
	for {
		err := f()
		if err == nil {
			return
		}
		if time.Now().After(end) {
			t.Fatalf("%s: %v", what, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func serverAdmin(t *testing.T, dump, server string) int {
	t.Helper()
	ss, err := ParseServersState(dump)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range ss {
		if s.Server == server {
			return s.AdminState
		}
	}
	t.Fatalf("server %s not in %q", server, dump)
	return 0
}

// waitSessions waits until the frontend holds n sessions (requests in
// flight), read from the "scur" column of show stat.
func (r *rig) waitSessions(n int) {
	r.t.Helper()
	eventually(r.t, 10*time.Second, fmt.Sprintf("%d sessions on the frontend", n), func() error {
		out := r.stats("show stat")
		lines := strings.Split(out, "\n")
		if len(lines) == 0 {
			return fmt.Errorf("empty show stat")
		}
		cols := strings.Split(strings.TrimPrefix(lines[0], "# "), ",")
		idx := -1
		for i, c := range cols {
			if c == "scur" {
				idx = i
			}
		}
		for _, l := range lines[1:] {
			f := strings.Split(l, ",")
			if len(f) > idx && idx >= 0 && f[0] == "shh-fe" && f[1] == "FRONTEND" {
				if cur, _ := strconv.Atoi(f[idx]); cur >= n {
					return nil
				}
				return fmt.Errorf("scur %s", f[idx])
			}
		}
		return fmt.Errorf("no shh-fe row")
	})
}
