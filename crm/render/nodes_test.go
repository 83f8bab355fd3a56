package render_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestNodeDefaults: the /etc/default files, sourced by a shell after
// DAEMON_ARGS was set as Debian's init script sets it, leave the uwsgi
// service listening on the node's address and port only (IPv6 in
// brackets, keystone's legacy port beside its own, a port override kept),
// and no file is written for a service the agent runs as a process or one
// that uwsgi does not run.
func TestNodeDefaults(t *testing.T) {
	files, err := renderTopology(t, `vip: {address: "2001:db8::10", prefix: 64}
nodes:
  - {name: a, address: "2001:db8::1"}
  - {name: b, address: "2001:db8::2"}
services:
  - {name: keystone, legacy: true}
  - {name: quantum-server, port: 9697}
  - {name: glance-api}
  - {name: placement-api, run_mode: process}
  - {name: nova-metadata, run_mode: process}
`)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"nodes/a/etc/default/keystone":       "--http-socket [2001:db8::1]:5000 --http-socket [2001:db8::1]:35357 --ini /etc/keystone/keystone-uwsgi.ini",
		"nodes/b/etc/default/keystone":       "--http-socket [2001:db8::2]:5000 --http-socket [2001:db8::2]:35357 --ini /etc/keystone/keystone-uwsgi.ini",
		"nodes/a/etc/default/neutron-server": "--http-socket [2001:db8::1]:9697 --ini /etc/neutron/neutron-api-uwsgi.ini",
		"nodes/b/etc/default/neutron-server": "--http-socket [2001:db8::2]:9697 --ini /etc/neutron/neutron-api-uwsgi.ini",
	}
	dir := t.TempDir()
	for name := range files {
		if strings.Contains(name, "/etc/default/") && want[name] == "" {
			t.Errorf("unexpected %s", name)
		}
	}
	for name, args := range want {
		data, ok := files[name]
		if !ok {
			t.Errorf("no %s", name)
			continue
		}
		f := filepath.Join(dir, strings.ReplaceAll(name, "/", "_"))
		if err := os.WriteFile(f, data, 0o644); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command("sh", "-c", `DAEMON_ARGS="--http-socket :5000 --ini x"; . "$1"; printf %s "$DAEMON_ARGS"`, "sh", f).CombinedOutput()
		if err != nil || string(out) != args {
			t.Errorf("%s sourced: %q (%v), want %q", name, out, err, args)
		}
	}
	if crm := string(files["cluster.crm"]); strings.Count(crm, "bind_host=2001:db8::1") != 2 {
		t.Errorf("cluster.crm: want bind_host for placement-api and nova-metadata on node a:\n%s", crm)
	}
	readme := string(files["nodes/a/README"])
	for _, s := range []string{
		"set [DEFAULT] bind_host = 2001:db8::1 in /etc/glance/glance-api.conf",
		"run_mode=process: the agent passes bind_host=2001:db8::1",
		// The agent declares bind_host for every WSGI script, render passes
		// it to each (nova-metadata's once diverged).
		"nova-metadata (port 8775):\n#   run_mode=process: the agent passes bind_host=2001:db8::1",
		"install etc/default/neutron-server as /etc/default/neutron-server:\n#   neutron-api.service's init script",
	} {
		if !strings.Contains(readme, s) {
			t.Errorf("nodes/a/README lacks %q:\n%s", s, readme)
		}
	}
}

// TestWriteNodeFilesTwice: rendering into a directory that holds an
// earlier render replaces the per-node files in place.
func TestWriteNodeFilesTwice(t *testing.T) {
	files, err := renderTopology(t, "vip: {address: 10.0.0.100, prefix: 24}\nnodes:\n  - {name: a, address: 10.0.0.1}\n  - {name: b, address: 10.0.0.2}\nservices:\n  - {name: keystone}\n")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for i := 0; i < 2; i++ {
		if err := files.Write(dir); err != nil {
			t.Fatalf("write %d: %v", i, err)
		}
	}
	got, err := os.ReadFile(filepath.Join(dir, "nodes", "b", "etc", "default", "keystone"))
	if err != nil || !strings.Contains(string(got), `DAEMON_ARGS="--http-socket 10.0.0.2:5000 --ini /etc/keystone/keystone-uwsgi.ini"`) {
		t.Fatalf("nodes/b/etc/default/keystone: %q %v", got, err)
	}
}
