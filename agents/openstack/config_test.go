package openstack

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stackha/stackha/instance"
	"github.com/stackha/stackha/ocf"
	"github.com/stackha/stackha/ocf/ocftest"
)

func newConfig(t *testing.T, name string, values map[string]string) (*Config, error) {
	t.Helper()
	p := profile(name)
	if p == nil {
		t.Fatalf("no profile %s", name)
	}
	meta := declare(p)
	params, err := ocftest.Params(&meta, values)
	if err != nil {
		return nil, err
	}
	return NewConfig(p, params, "res1")
}

func TestConfigDefaults(t *testing.T) {
	cases := []struct {
		agent  string
		params map[string]string
		url    string
		argv   string
		pid    string
	}{
		{"keystone", map[string]string{"run_mode": "process"}, "http://127.0.0.1:5000/",
			"/usr/bin/uwsgi_python3 --http-socket :5000 --ini /etc/keystone/keystone-uwsgi.ini", instance.StateDir("res1") + "/keystone.pid"},
		{"keystone", map[string]string{"run_mode": "process", "port": "35001", "bind_host": "192.0.2.10", "extra_args": `--processes 2 "--logto /tmp/a b"`},
			"http://192.0.2.10:35001/",
			"/usr/bin/uwsgi_python3 --http-socket 192.0.2.10:35001 --ini /etc/keystone/keystone-uwsgi.ini --processes 2 --logto /tmp/a b", ""},
		{"glance-api", map[string]string{"run_mode": "process"}, "http://127.0.0.1:9292/", "/usr/bin/glance-api --config-file /etc/glance/glance-api.conf", ""},
		{"keystone", map[string]string{"run_mode": "process", "bind_host": "2001:db8::5"}, "http://[2001:db8::5]:5000/",
			"/usr/bin/uwsgi_python3 --http-socket [2001:db8::5]:5000 --ini /etc/keystone/keystone-uwsgi.ini", ""},
		{"keystone", map[string]string{"bind_host": "0.0.0.0"}, "http://127.0.0.1:5000/", "", ""},
		{"glance-registry", nil, "http://127.0.0.1:9191/healthcheck", "", ""},
		{"nova-api", map[string]string{"run_mode": "process"}, "http://127.0.0.1:8774/", "/usr/bin/uwsgi_python3 --http-socket :8774 --ini /etc/nova/nova-api-uwsgi.ini", ""},
		// a service with a server of its own may still run it
		{"nova-api", map[string]string{"run_mode": "process", "binary": "/usr/bin/nova-api"}, "http://127.0.0.1:8774/",
			"/usr/bin/nova-api --config-file /etc/nova/nova.conf", ""},
		{"nova-metadata", map[string]string{"run_mode": "process", "bind_host": "192.0.2.10"}, "http://192.0.2.10:8775/",
			"/usr/bin/uwsgi_python3 --http-socket 192.0.2.10:8775 --ini /etc/nova/nova-api-metadata-uwsgi.ini", ""},
		// an application that parses its arguments gets a config of its own through --pyargv
		{"cinder-api", map[string]string{"run_mode": "process", "config": "/srv/c/cinder.conf", "bind_host": "192.0.2.10"}, "http://192.0.2.10:8776/",
			"/usr/bin/uwsgi_python3 --http-socket 192.0.2.10:8776 --ini /etc/cinder/cinder-api-uwsgi.ini --pyargv --config-file /srv/c/cinder.conf", ""},
		{"neutron-server", map[string]string{"run_mode": "process", "extra_args": `--pyargv "--config-file /etc/neutron/neutron.conf --config-file /etc/neutron/plugins/ml2/ml2_conf.ini"`},
			"http://127.0.0.1:9696/",
			"/usr/bin/uwsgi_python3 --http-socket :9696 --ini /etc/neutron/neutron-api-uwsgi.ini --pyargv --config-file /etc/neutron/neutron.conf --config-file /etc/neutron/plugins/ml2/ml2_conf.ini", ""},
		{"quantum-server", nil, "http://127.0.0.1:9696/", "", ""},
		{"placement-api", map[string]string{"run_mode": "process"}, "http://127.0.0.1:8778/", "/usr/bin/uwsgi_python3 --http-socket :8778 --ini /etc/placement/placement-api-uwsgi.ini", ""},
		{"heat-api", map[string]string{"url": "https://192.0.2.5:8004/"}, "https://192.0.2.5:8004/", "", ""},
		// extra_ini: read after the package's ini, before --pyargv and extra_args
		{"keystone", map[string]string{"run_mode": "process", "bind_host": "192.0.2.10", "extra_ini": "/run/shc/shc-keystone.ini", "extra_args": "--processes 3"},
			"http://192.0.2.10:5000/",
			"/usr/bin/uwsgi_python3 --http-socket 192.0.2.10:5000 --ini /etc/keystone/keystone-uwsgi.ini --ini /run/shc/shc-keystone.ini --processes 3", ""},
		{"cinder-api", map[string]string{"run_mode": "process", "config": "/srv/c/cinder.conf", "extra_ini": "/etc/cinder/shc.ini"}, "http://127.0.0.1:8776/",
			"/usr/bin/uwsgi_python3 --http-socket :8776 --ini /etc/cinder/cinder-api-uwsgi.ini --ini /etc/cinder/shc.ini --pyargv --config-file /srv/c/cinder.conf", ""},
	}
	for _, tc := range cases {
		c, err := newConfig(t, tc.agent, tc.params)
		if err != nil {
			t.Errorf("%s %v: %v", tc.agent, tc.params, err)
			continue
		}
		if c.URL.String() != tc.url {
			t.Errorf("%s: url %s, want %s", tc.agent, c.URL, tc.url)
		}
		if tc.argv != "" && strings.Join(c.argv(), " ") != tc.argv {
			t.Errorf("%s: argv\n got %s\nwant %s", tc.agent, strings.Join(c.argv(), " "), tc.argv)
		}
		if tc.pid != "" && c.PIDFile != tc.pid {
			t.Errorf("%s: pidfile %s, want %s", tc.agent, c.PIDFile, tc.pid)
		}
		if c.Mode != ModeSystemd && tc.params["run_mode"] == "" {
			t.Errorf("%s: default mode %s", tc.agent, c.Mode)
		}
	}
}

// TestConfigRefused: each bad parameter is exit 6 with a reason naming it.
func TestConfigRefused(t *testing.T) {
	cases := []struct {
		params map[string]string
		reason string
		agent  string // keystone when empty
	}{
		{map[string]string{"run_mode": "docker"}, `run_mode: "docker" is not one of`, ""},
		{map[string]string{"run_mode": "process", "binary": "keystone-wsgi-public"}, "want a clean absolute path", ""},
		// docs/security.md, "Files": clean absolute paths only
		{map[string]string{"pidfile": "/../../etc/passwd"}, "pidfile \"/../../etc/passwd\": want a clean absolute path", ""},
		{map[string]string{"log_file": "/var/log/keystone/../../../etc/shadow"}, "log_file", ""},
		{map[string]string{"credentials": "/root//admin.rc"}, "credentials", ""},
		{map[string]string{"pidfile": instance.StateDir("res1") + "/openstack.record"}, "among stackha's own state", ""},
		{map[string]string{"pidfile": instance.StateDir("res1") + "/.openstack.record.1.tmp"}, "among stackha's own state", ""},
		{map[string]string{"pidfile": instance.StateDir("other") + "/keystone.pid"}, "among stackha's own state", ""},
		{map[string]string{"pidfile": instance.Root + "/.locks/res1"}, "among stackha's own state", ""},
		// every number has bounds
		{map[string]string{"probe_timeout": "50ms"}, `probe_timeout: "50ms" is outside the range`, ""},
		{map[string]string{"probe_timeout": "9223372036854775807"}, "probe_timeout", ""},
		{map[string]string{"degraded_ms": "-1"}, "degraded_ms", ""},
		{map[string]string{"degraded_ms": "120001"}, `degraded_ms: "120001" is outside the range`, ""},
		{map[string]string{"port": "0"}, `port: "0" is outside the range`, ""},
		{map[string]string{"port": "70000"}, `port: "70000" is outside the range`, ""},
		{map[string]string{"port": "http"}, "not an integer", ""},
		{map[string]string{"url": "ftp://127.0.0.1/"}, "want an http:// or https:// URL", ""},
		{map[string]string{"url": "http:///"}, "has no host", ""},
		{map[string]string{"url": "http://admin:secret@127.0.0.1/"}, "must not carry credentials", ""},
		{map[string]string{"url": "http://127.0.0.1:99999/"}, "bad port", ""},
		{map[string]string{"keystone_url": "127.0.0.1:5000"}, "keystone_url", ""},
		{map[string]string{"extra_args": `--debug "unclosed`}, "unclosed", ""},
		{map[string]string{"bind_host": "localhost"}, "want an IP address", ""},
		{map[string]string{"credentials": "admin.rc"}, "credentials", ""},
		{map[string]string{"auth_path": "v3/projects"}, "auth_path", ""},
		{map[string]string{"os_password": "hunter2"}, "must not be stored in the CIB", ""},
		{map[string]string{"run_mode": "process", "config": "/etc/placement/api.conf"}, "name the file placement.conf", "placement-api"},
		{map[string]string{"run_mode": "process", "config": "/srv/ks/ks.conf"}, "name the file keystone.conf", ""},
		// no test server: a WSGI script runs under uwsgi or not at all
		{map[string]string{"run_mode": "process", "binary": "/usr/bin/keystone-wsgi-public"}, "pbr's single-threaded test server", ""},
		{map[string]string{"run_mode": "process", "binary": "/usr/bin/keystone-wsgi-public"}, "set binary to uwsgi (default /usr/bin/uwsgi_python3)", ""},
		{map[string]string{"run_mode": "process", "binary": "/usr/local/bin/run-placement"}, "with uwsgi_ini (/etc/placement/placement-api-uwsgi.ini)", "placement-api"},
		{map[string]string{"run_mode": "process", "binary": "/usr/bin/uwsgi"}, "binary /usr/bin/uwsgi is uwsgi: glance-api has no uwsgi ini here", "glance-api"},
		{map[string]string{"run_mode": "process", "binary": "/usr/bin/cinder-api", "bind_host": "192.0.2.1"},
			"bind_host is uwsgi's --http-socket: /usr/bin/cinder-api listens where [DEFAULT] osapi_volume_listen of /etc/cinder/cinder.conf says", "cinder-api"},
		{map[string]string{"run_mode": "process", "extra_args": "--daemonize2 /tmp/x"}, "uwsgi must stay the process the agent started", ""},
		{map[string]string{"run_mode": "process", "uwsgi_ini": "etc/keystone/keystone-uwsgi.ini"}, "uwsgi_ini", ""},
		{map[string]string{"run_mode": "process", "extra_ini": "/etc/keystone/../shc.ini"}, "extra_ini \"/etc/keystone/../shc.ini\": want a clean absolute path", ""},
		{map[string]string{"run_mode": "process", "binary": "/usr/bin/nova-api", "extra_ini": "/etc/nova/shc.ini"},
			"extra_ini is read by uwsgi, after uwsgi_ini: nova-api runs /usr/bin/nova-api itself", "nova-api"},
		{map[string]string{"run_mode": "process", "config": "/srv/my cinder/cinder.conf"}, "--pyargv, which splits on white space", "cinder-api"},
		{map[string]string{"os_auth_url": "http://127.0.0.1:35357/v2.0"}, "keystone v2.0 is gone", ""},
	}
	for _, tc := range cases {
		agent := tc.agent
		if agent == "" {
			agent = "keystone"
		}
		_, err := newConfig(t, agent, tc.params)
		if err == nil {
			t.Errorf("%v: accepted", tc.params)
			continue
		}
		if ocf.CodeOf(err) != ocf.ErrConfigured || !strings.Contains(err.Error(), tc.reason) {
			t.Errorf("%v: %v (%s), want exit 6 with %q", tc.params, err, ocf.CodeOf(err), tc.reason)
		}
		if strings.Contains(err.Error(), "hunter2") || strings.Contains(err.Error(), "secret@") {
			t.Errorf("%v: the error repeats a secret: %v", tc.params, err)
		}
	}
}

func TestKeystoneV3(t *testing.T) {
	cases := []struct {
		agent, param, creds, want string
	}{
		{"keystone", "", "", "http://127.0.0.1:5000/v3"},
		{"keystone", "http://192.0.2.10:5000/", "", "http://192.0.2.10:5000/v3"},
		{"glance-api", "", "http://192.0.2.10:5000/v3/", "http://192.0.2.10:5000/v3"},
		{"glance-api", "http://192.0.2.11:5000/v3", "http://192.0.2.10:5000/v3", "http://192.0.2.11:5000/v3"},
		{"glance-api", "", "", ""},
	}
	for _, tc := range cases {
		c, err := newConfig(t, tc.agent, map[string]string{"keystone_url": tc.param})
		if err != nil {
			t.Fatal(err)
		}
		got, err := c.keystoneV3(tc.creds)
		if tc.want == "" {
			if ocf.CodeOf(err) != ocf.ErrConfigured {
				t.Errorf("%s without a keystone url: %q, %v", tc.agent, got, err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%s %q %q: %q, %v; want %q", tc.agent, tc.param, tc.creds, got, err, tc.want)
		}
	}
}

func TestSplitArgs(t *testing.T) {
	cases := []struct {
		in   string
		want []string
		err  string
	}{
		{"", nil, ""},
		{"  ", nil, ""},
		{"--debug", []string{"--debug"}, ""},
		{"a  b\tc\nd", []string{"a", "b", "c", "d"}, ""},
		{`'a b' "c d"`, []string{"a b", "c d"}, ""},
		{`x'y z'w`, []string{"xy zw"}, ""},
		{`""`, []string{""}, ""},
		{`a\ b`, []string{"a b"}, ""},
		{`"a \"q\" \\ \n"`, []string{`a "q" \ \n`}, ""},
		{`'$(rm -rf /)' ; |`, []string{"$(rm -rf /)", ";", "|"}, ""},
		{`"open`, nil, "unclosed"},
		{`'open`, nil, "unclosed"},
		{`trailing\`, nil, "lone backslash"},
		{"nul\x00byte", nil, "NUL"},
	}
	for _, tc := range cases {
		got, err := SplitArgs(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("SplitArgs(%q) = %q, %v; want error %q", tc.in, got, err, tc.err)
			}
			continue
		}
		if err != nil || strings.Join(got, "\x00") != strings.Join(tc.want, "\x00") || len(got) != len(tc.want) {
			t.Errorf("SplitArgs(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

// FuzzSplitArgs checks SplitArgs against the shell it imitates: for input
// without expansions, sh's word splitting gives the same words.
func FuzzSplitArgs(f *testing.F) {
	for _, s := range []string{"--debug", `'a b' "c d"`, `a\ b`, `"x\"y"`, "a\tb", `"\\"`, `'\'`} {
		f.Add(s)
	}
	sh, _ := exec.LookPath("sh")
	f.Fuzz(func(t *testing.T, s string) {
		got, err := SplitArgs(s)
		if err != nil {
			return
		}
		for _, a := range got {
			if strings.ContainsRune(a, 0) {
				t.Fatalf("argument with a NUL from %q", s)
			}
		}
		if sh == "" || strings.ContainsAny(s, "$`*?[]{}~#;&|<>()!\x00\r") || !isPrintable(s) {
			return
		}
		out, err := exec.Command(sh, "-c", `for a in `+s+`; do printf '%s\0' "$a"; done`).Output()
		if err != nil {
			return
		}
		var want []string
		if len(out) > 0 {
			want = strings.Split(strings.TrimSuffix(string(out), "\x00"), "\x00")
		}
		if strings.Join(got, "\x00") != strings.Join(want, "\x00") || len(got) != len(want) {
			t.Fatalf("SplitArgs(%q) = %q, sh splits %q", s, got, want)
		}
	})
}

func isPrintable(s string) bool {
	for _, r := range s {
		if r < 0x20 && r != '\t' && r != '\n' || r == 0x7f || r > 0x7e {
			return false
		}
	}
	return true
}

// TestMetaDataEveryAgent renders every agent's meta-data and checks that
// the profile shows in it.
func TestMetaDataEveryAgent(t *testing.T) {
	for _, p := range Profiles {
		meta := declare(p)
		b, err := meta.XML()
		if err != nil {
			t.Fatalf("%s: %v", p.Name, err)
		}
		binary, ini := p.Binary, `name="binary"` // a service without a uwsgi ini runs its own server
		if p.UWSGIIni != "" {
			binary, ini = uwsgiProgram, `default="`+p.UWSGIIni+`"`
		}
		if bytes.Contains(b, []byte(`name="uwsgi_ini"`)) != (p.UWSGIIni != "") {
			t.Errorf("%s: uwsgi_ini declared without a uwsgi ini, or missing", p.Name)
		}
		if bytes.Contains(b, []byte(`name="extra_ini"`)) != (p.UWSGIIni != "") {
			t.Errorf("%s: extra_ini declared without a uwsgi ini, or missing", p.Name)
		}
		for _, want := range []string{`name="` + p.Name + `"`, `default="` + p.Unit + `"`, `default="` + binary + `"`, ini, `depth="20"`} {
			if !bytes.Contains(b, []byte(want)) {
				t.Errorf("%s meta-data lacks %s", p.Name, want)
			}
		}
		if _, err := os.Stat(filepath.Join("testdata", "versions", p.Name+".txt")); err != nil {
			if _, err := os.Stat(filepath.Join("testdata", "reference", p.Name+".txt")); err != nil {
				t.Errorf("%s has no version document in testdata", p.Name)
			}
		}
	}
}

// TestConfigEnv: under uwsgi, an application that takes no --config-file
// learns its configuration directory from its environment; a service's own
// server gets --config-file.
func TestConfigEnv(t *testing.T) {
	cases := []struct{ agent, uwsgiIni, config, env string }{
		{"placement-api", "/etc/placement/placement-api-uwsgi.ini", "/srv/pl/placement.conf", "OS_PLACEMENT_CONFIG_DIR=/srv/pl"},
		{"nova-metadata", "/etc/nova/nova-api-metadata-uwsgi.ini", "", "OS_NOVA_CONFIG_DIR=/etc/nova"},
		{"keystone", "/etc/keystone/keystone-uwsgi.ini", "/srv/ks/keystone.conf", "OS_KEYSTONE_CONFIG_DIR=/srv/ks"},
		{"nova-api", "", "/srv/n/nova.conf", ""},
		{"glance-api", "", "", ""},
	}
	for _, tc := range cases {
		p := map[string]string{"run_mode": "process", "config": tc.config}
		if tc.agent == "nova-api" {
			p["binary"] = "/usr/bin/nova-api" // its own (eventlet) server
		}
		c, err := newConfig(t, tc.agent, p)
		if err != nil {
			t.Fatal(err)
		}
		if c.UWSGIIni != tc.uwsgiIni {
			t.Errorf("%s: uwsgi_ini %q, want %q", tc.agent, c.UWSGIIni, tc.uwsgiIni)
		}
		if got := strings.Join(c.env(), " "); got != tc.env {
			t.Errorf("%s: env %q, want %q", tc.agent, got, tc.env)
		}
		argv := strings.Join(c.argv(), " ")
		if tc.env != "" && strings.Contains(argv, "--config-file") {
			t.Errorf("%s: argv %q passes --config-file to an application that ignores it", tc.agent, argv)
		}
		if tc.uwsgiIni == "" && tc.config != "" && !strings.Contains(argv, "--config-file "+tc.config) {
			t.Errorf("%s: argv %q lacks --config-file %s", tc.agent, argv, tc.config)
		}
	}
}

// FuzzParseHTTPURL: an accepted url is http(s) with a host, a valid port if
// any, and no user information.
func FuzzParseHTTPURL(f *testing.F) {
	for _, s := range []string{"http://127.0.0.1:5000/", "https://[2001:db8::1]:8776/v3", "http://a:b@h/", "ftp://x", "http://h:0/", "//h"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		u, err := parseHTTPURL(s)
		if err != nil {
			return
		}
		if (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" || u.User != nil {
			t.Fatalf("accepted %q: %#v", s, u)
		}
		if p := u.Port(); p != "" {
			if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
				t.Fatalf("accepted %q with port %q", s, p)
			}
		}
	})
}

// TestUWSGIFiles: what a failed start quotes under uwsgi (the log its ini
// or extra_args names, read only when the service user owns it) and the
// refusal of a pbr WSGI script run directly.
func TestUWSGIFiles(t *testing.T) {
	dir := t.TempDir()
	ini := filepath.Join(dir, "svc-uwsgi.ini")
	os.WriteFile(ini, []byte("[uwsgi]\nmaster = true\nlogto = "+dir+"/svc.log\n[other]\nlogto = /elsewhere\n"), 0o644)
	me := instance.Trust{UID: os.Getuid(), GID: os.Getgid()}
	c := &Config{UWSGIIni: ini}
	if got, err := c.uwsgiLog(me); err != nil || got != dir+"/svc.log" {
		t.Errorf("logto from the ini: %q, %v", got, err)
	}
	c.ExtraArgs = []string{"--logto", "/a", "--logto=" + dir + "/x.log"}
	if got, _ := c.uwsgiLog(me); got != dir+"/x.log" {
		t.Errorf("logto from extra_args: %q", got)
	}
	os.WriteFile(dir+"/svc.log", []byte("spawned uWSGI worker 1\n\x1b[31mno fernet keys\n"), 0o640)
	if got, err := uwsgiTail(dir+"/svc.log", me); err != nil || !strings.Contains(got, `"spawned uWSGI worker 1" | "\x1b[31mno fernet keys"`) {
		t.Errorf("tail: %q, %v", got, err)
	}
	if os.Getuid() == 0 {
		// an ini that names a file of root's gets nothing of it
		if got, err := uwsgiTail(dir+"/svc.log", instance.Trust{UID: 65534, GID: 65534}); err == nil || !strings.Contains(err.Error(), "not by the service user") {
			t.Errorf("root's file read for the service user: %q, %v", got, err)
		}
	}
	script := filepath.Join(dir, "api-wsgi")
	os.WriteFile(script, []byte("#! /usr/bin/python3\n#PBR Generated from 'wsgi_scripts'\n\nimport threading\n"), 0o755)
	if err := checkProgram(script); ocf.CodeOf(err) != ocf.ErrConfigured || !strings.Contains(err.Error(), "pbr's single-threaded test server") {
		t.Errorf("a WSGI script: %v", err)
	}
	os.WriteFile(script, []byte("#! /usr/bin/python3\n# PBR Generated from 'console_scripts'\n"), 0o755)
	if err := checkProgram(script); err != nil {
		t.Errorf("a console script: %v", err)
	}
}
