package openstack

import (
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stackha/stackha/ocf"
)

// Start puts the drop-in that keeps systemd from restarting the unit in
// front of it (and reloads), stop removes it once the unit is inactive.
func TestSystemdDropIn(t *testing.T) {
	srv := versionServer(t, 300, keystoneDoc)
	unit := "sho-keystone.service"
	fake := &fakeSystemd{units: map[string]*UnitState{unit: loaded("inactive")}}
	useSystemd(t, fake, nil)
	p := map[string]string{"run_mode": "systemd", "unit": unit, "url": srv}
	op := runOpts{timeoutMS: 5000}
	file := filepath.Join(DropInRoot, unit+".d", dropInName)
	wantCode(t, "start", runAgent(t, "keystone", "start", p, op), ocf.Success)
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Description=Cluster Controlled " + unit, "[Service]\nRestart=no"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("drop-in lacks %q:\n%s", want, b)
		}
	}
	if st, _ := os.Stat(file); st.Mode().Perm() != 0o644 {
		t.Errorf("drop-in mode %v", st.Mode())
	}
	// a second start on the running unit writes nothing, reloads nothing
	fake.calls = nil
	wantCode(t, "start again", runAgent(t, "keystone", "start", p, op), ocf.Success)
	if strings.Contains(strings.Join(fake.calls, ","), "reload") {
		t.Errorf("start on a running unit reloaded: %v", fake.calls)
	}
	wantCode(t, "stop", runAgent(t, "keystone", "stop", p, op), ocf.Success)
	if _, err := os.Stat(filepath.Dir(file)); !os.IsNotExist(err) {
		t.Errorf("after stop: %s: %v", filepath.Dir(file), err)
	}
	// a drop-in directory others can write is refused, nothing started
	os.Chmod(DropInRoot, 0o777)
	defer os.Chmod(DropInRoot, 0o755)
	fake.calls = nil
	wantCode(t, "start, drop-in root writable by others", runAgent(t, "keystone", "start", p, op), ocf.ErrGeneric, "drop-in")
	if strings.Contains(strings.Join(fake.calls, ","), "start") {
		t.Errorf("unit started without its drop-in: %v", fake.calls)
	}
}

// validate-all and start say how to make a Debian unit listen on one
// address, from /etc/default/<name> (uwsgi) or bind_host (eventlet).
func TestSystemdWouldListenEverywhere(t *testing.T) {
	dir := t.TempDir()
	old := [2]string{InitScripts, Defaults}
	InitScripts, Defaults = filepath.Join(dir, "init.d"), filepath.Join(dir, "default")
	t.Cleanup(func() { InitScripts, Defaults = old[0], old[1] })
	os.Mkdir(InitScripts, 0o755)
	os.Mkdir(Defaults, 0o755)
	script := "#!/bin/sh\nUWSGI_PORT=5000\nUWSGI_INI_PATH=/etc/keystone/keystone-uwsgi.ini\n\tUWSGI_PORT=${RET}\n"
	os.WriteFile(filepath.Join(InitScripts, "keystone"), []byte(script), 0o755)
	glanceConf := filepath.Join(dir, "glance-api.conf")
	u := func(unit, conf string) *unitService {
		return &unitService{unit: unit, c: &Config{Port: 5000, ConfigFile: conf, URL: &url.URL{Host: "192.0.2.11:5000"}}}
	}
	cases := []struct {
		name, unit, defaults, conf string
		want                       string // "" wants nil
	}{
		{"no defaults", "keystone.service", "", "", `write DAEMON_ARGS="--http-socket 192.0.2.11:5000 --ini /etc/keystone/keystone-uwsgi.ini" in ` + Defaults + "/keystone"},
		{"no DAEMON_ARGS", "keystone.service", "# nothing\n", "", "sets no DAEMON_ARGS"},
		{"wildcard", "keystone.service", `DAEMON_ARGS="--http-socket 0.0.0.0:5000 --ini x"` + "\n", "", "has no --http-socket on an address"},
		{"v6 wildcard", "keystone.service", `DAEMON_ARGS="--http-socket [::]:5000"` + "\n", "", "has no --http-socket on an address"},
		{"appends", "keystone.service", `DAEMON_ARGS="${DAEMON_ARGS} --http-socket 192.0.2.11:5000"` + "\n", "", "has no --http-socket"},
		{"and a wildcard", "keystone.service", `DAEMON_ARGS="--http-socket 192.0.2.11:5000 --http-socket=:5000"` + "\n", "", "has no --http-socket"},
		{"one address", "keystone.service", `DAEMON_ARGS="--http-socket 192.0.2.11:5000 --ini x"` + "\n", "", ""},
		{"not uwsgi, no config", "glance-api.service", "", "", ""},
		{"eventlet default", "glance-api.service", "", "[DEFAULT]\nbind_port = 9292\n", "set bind_host = 192.0.2.11 in [DEFAULT] of " + glanceConf},
		{"eventlet bound", "glance-api.service", "", "[DEFAULT]\nbind_host = 192.0.2.11\n", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			os.Remove(filepath.Join(Defaults, "keystone"))
			if tc.defaults != "" {
				os.WriteFile(filepath.Join(Defaults, "keystone"), []byte(tc.defaults), 0o644)
			}
			conf := ""
			if tc.conf != "" {
				conf = glanceConf
				os.WriteFile(conf, []byte(tc.conf), 0o640)
			}
			err := u(tc.unit, conf).wouldListenEverywhere()
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("got %v, want nil", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want) || ocf.CodeOf(err) != ocf.ErrConfigured):
				t.Fatalf("got %v (%v), want exit 6 with %q", err, ocf.CodeOf(err), tc.want)
			}
		})
	}
	// neutron-api.service's script sources /etc/default/$NAME, and its NAME
	// is ${PROJECT_NAME}-server: neutron-server, not the unit's name
	script = "#!/bin/sh\nPROJECT_NAME=neutron\nNAME=${PROJECT_NAME}-server\nUWSGI_PORT=9696\nUWSGI_INI_PATH=/etc/neutron/neutron-api-uwsgi.ini\n"
	os.WriteFile(filepath.Join(InitScripts, "neutron-api"), []byte(script), 0o755)
	bound := `DAEMON_ARGS="--http-socket 192.0.2.11:9696 --ini /etc/neutron/neutron-api-uwsgi.ini"` + "\n"
	os.WriteFile(filepath.Join(Defaults, "neutron-api"), []byte(bound), 0o644)
	if err := u("neutron-api.service", "").wouldListenEverywhere(); err == nil || !strings.Contains(err.Error(), "in "+Defaults+"/neutron-server") {
		t.Errorf("neutron-api with only /etc/default/neutron-api (its script reads neutron-server): %v", err)
	}
	os.WriteFile(filepath.Join(Defaults, "neutron-server"), []byte(bound), 0o644)
	if err := u("neutron-api.service", "").wouldListenEverywhere(); err != nil {
		t.Errorf("neutron-api with /etc/default/neutron-server: %v", err)
	}
	// an eventlet unit binds the option its catalog row names (an RDO
	// cinder-api: osapi_volume_listen), not always [DEFAULT] bind_host
	cinder := u("openstack-cinder-api.service", glanceConf)
	cinder.c.Profile = profile("cinder-api")
	os.WriteFile(glanceConf, []byte("[DEFAULT]\nosapi_volume_listen = 192.0.2.11\n"), 0o640)
	if err := cinder.wouldListenEverywhere(); err != nil {
		t.Errorf("cinder-api bound by osapi_volume_listen: %v", err)
	}
	os.WriteFile(glanceConf, []byte("[DEFAULT]\nbind_host = 192.0.2.11\n"), 0o640)
	if err := cinder.wouldListenEverywhere(); err == nil || !strings.Contains(err.Error(), "set osapi_volume_listen = 192.0.2.11 in [DEFAULT]") {
		t.Errorf("cinder-api with only bind_host: %v", err)
	}
	// glance-api's script has the uwsgi branch of openstack-pkg-tools
	// (UWSGI_PORT=${RET}) but its own UWSGI_PORT commented out: eventlet,
	// judged by bind_host
	script = "#!/bin/sh\nPROJECT_NAME=glance\nNAME=${PROJECT_NAME}-api\n#UWSGI_PORT=9292\n" +
		"if [ -n \"${UWSGI_PORT}\" ] ; then\n\tUWSGI_PORT=${RET}\nfi\n"
	os.WriteFile(filepath.Join(InitScripts, "glance-api"), []byte(script), 0o755)
	os.WriteFile(glanceConf, []byte("[DEFAULT]\nbind_host = 192.0.2.11\n"), 0o640)
	if err := u("glance-api.service", glanceConf).wouldListenEverywhere(); err != nil {
		t.Errorf("Debian's glance-api (eventlet) bound by bind_host: %v", err)
	}
	// a defaults file others can write is not read
	os.WriteFile(filepath.Join(Defaults, "keystone"), []byte(`DAEMON_ARGS="--http-socket 192.0.2.11:5000"`), 0o666)
	os.Chmod(filepath.Join(Defaults, "keystone"), 0o666)
	if err := u("keystone.service", "").wouldListenEverywhere(); err == nil || !strings.Contains(err.Error(), "cannot be trusted") {
		t.Errorf("a defaults file others can write: %v", err)
	}
}

// After start, a socket listening on a wildcard address at the port is
// exit 6 with what to change; one on an address is not.
func TestSystemdListensEverywhere(t *testing.T) {
	u := &unitService{unit: "sho-keystone.service", c: &Config{Port: 5000, URL: &url.URL{Host: "127.0.0.1:5000"}}}
	for _, addr := range []string{"127.0.0.1:0", "0.0.0.0:0", "[::]:0"} {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		port := ln.Addr().(*net.TCPAddr).Port
		err = u.listensEverywhere(port)
		ln.Close()
		if addr == "127.0.0.1:0" {
			if err != nil {
				t.Errorf("%s: %v", addr, err)
			}
			continue
		}
		if ocf.CodeOf(err) != ocf.ErrConfigured || !strings.Contains(err.Error(), "listens on every address") {
			t.Errorf("listening on %s: %v, want exit 6", ln.Addr(), err)
		}
	}
}

func TestQuoteLines(t *testing.T) {
	got := quoteLines("a\nb\n\nc\x1b\n"+strings.Repeat("x", 1000)+"\n", 3, 300)
	if strings.Contains(got, "\x1b") || !strings.HasPrefix(got, `"b"; "c\x1b"`) || len(got) > 300 {
		t.Errorf("quoteLines: %q", got)
	}
	c := &capped{max: 4}
	c.Write([]byte("abc"))
	c.Write([]byte("defgh"))
	if c.String() != "efgh" {
		t.Errorf("capped kept %q", c.String())
	}
}
