package harness

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stackha/stackha/internal/testutil/require"
)

func TestWithWorkersIni(t *testing.T) {
	for _, tc := range []struct {
		name, in, wantArgs, wantIni string
	}{
		{"keystone", "# c\nDAEMON_ARGS=\"--http-socket 192.0.2.11:5000 --ini /etc/keystone/keystone-uwsgi.ini\"\n",
			`DAEMON_ARGS="--http-socket 192.0.2.11:5000 --ini /etc/keystone/keystone-uwsgi.ini --ini /etc/keystone/shc-workers.ini"`,
			"/etc/keystone/shc-workers.ini"},
		{"placement", "DAEMON_ARGS=\"--http-socket 192.0.2.12:8778 --ini /etc/placement/placement-api-uwsgi.ini\"\n",
			`DAEMON_ARGS="--http-socket 192.0.2.12:8778 --ini /etc/placement/placement-api-uwsgi.ini --ini /etc/placement/shc-workers.ini"`,
			"/etc/placement/shc-workers.ini"},
		{"expansion", "DAEMON_ARGS=\"$DAEMON_ARGS --ini /etc/keystone/x.ini\"\n", "", ""},
		{"no ini", "DAEMON_ARGS=\"--http-socket 192.0.2.11:5000\"\n", "", ""},
		{"none", "# nothing\n", "", ""},
	} {
		out, ini, err := withWorkersIni([]byte(tc.in))
		if tc.wantArgs == "" {
			if err == nil {
				t.Errorf("%s: accepted: %q", tc.name, out)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if !strings.Contains(string(out), "\n"+tc.wantArgs+"\n") && !strings.HasPrefix(string(out), tc.wantArgs+"\n") || ini != tc.wantIni {
			t.Errorf("%s: got %q, %q; want the line %q, %q", tc.name, out, ini, tc.wantArgs, tc.wantIni)
		}
		if strings.Count(string(out), "DAEMON_ARGS=") != 1 {
			t.Errorf("%s: more than one DAEMON_ARGS line (the agent reads the last literal one): %q", tc.name, out)
		}
	}
}

func TestWithBindHost(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name, in, want string
	}{
		{"first", "[DEFAULT]\n#bind_host = 0.0.0.0\n[database]\n", "[DEFAULT]\n# Added by the cluster harness (render's README for this node): this node's address only.\nbind_host = 192.0.2.11\n#bind_host = 0.0.0.0\n[database]\n"},
		{"after a comment", "# glance\n[DEFAULT]\nx = 1\n", "# glance\n[DEFAULT]\n# Added by the cluster harness (render's README for this node): this node's address only.\nbind_host = 192.0.2.11\nx = 1\n"},
		{"no DEFAULT", "[database]\n", ""},
		{"inline", "x[DEFAULT]\n", ""},
	} {
		p := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "-"))
		os.WriteFile(p, []byte(tc.in), 0o644)
		got, err := withBindHost(p, "192.0.2.11")
		if tc.want == "" {
			if err == nil {
				t.Errorf("%s: accepted: %q", tc.name, got)
			}
			continue
		}
		if err != nil || string(got) != tc.want {
			t.Errorf("%s: got %q, %v; want %q", tc.name, got, err, tc.want)
		}
	}
}

// TestSystemdTopologyRenders: what systemd nodes load is what render
// writes from SystemdTopology: every service run by its unit, corosync's
// ring on eth1 with the harness's token and render's authkey, a per-node
// /etc/default file for each uwsgi service, and the harness's only
// additions (the workers ini) leave DAEMON_ARGS one literal line.
func TestSystemdTopologyRenders(t *testing.T) {
	require.Command(t, "go")
	ctx := context.Background()
	set, err := Stackha(ctx, buildStackha(t))
	if err != nil {
		t.Fatal(err)
	}
	p := Paths{HAProxyCfg: "/var/tmp/shc/haproxy.cfg", Nodes: nodeSpecs(3)}
	dir := t.TempDir()
	topo := filepath.Join(dir, "topology.yaml")
	os.WriteFile(topo, []byte(SystemdTopology(p, true, time.Second, false, ServiceNames(), false)), 0o644)
	out := filepath.Join(dir, "out")
	if o, err := Run(ctx, set.Binary, "render", "--topology", topo, "--out", out); err != nil {
		t.Fatalf("render: %v\n%s", err, o)
	}
	read := func(f string) string {
		b, err := os.ReadFile(filepath.Join(out, f))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	crm, cs := read("cluster.crm"), read("corosync.conf")
	for _, want := range []string{"primitive keystone ocf:stackha:keystone", "primitive glance-api ocf:stackha:glance-api",
		"primitive placement-api ocf:stackha:placement-api", "run_mode=systemd", "stonith:fence_shc"} {
		if !strings.Contains(crm, want) {
			t.Errorf("cluster.crm lacks %q", want)
		}
	}
	if strings.Contains(crm, "run_mode=process") {
		t.Errorf("cluster.crm runs a service as a process:\n%s", crm)
	}
	for _, want := range []string{"ring0_addr: 198.51.100.11", "token: 1000", "keyfile: /etc/corosync/authkey", "cluster_name: shc"} {
		if !strings.Contains(cs, want) {
			t.Errorf("corosync.conf lacks %q:\n%s", want, cs)
		}
	}
	c := &Cluster{opts: Options{Kind: SystemdNodes, Services: ServiceNames()}}
	for _, s := range p.Nodes {
		n := &Node{NodeSpec: s, c: c}
		files, err := c.nodeFiles(n, out, []byte("key"))
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range []string{"/etc/corosync/corosync.conf", "/etc/corosync/authkey", "/etc/default/keystone", "/etc/default/placement-api",
			"/etc/keystone/shc-workers.ini", "/etc/placement/shc-workers.ini", "/etc/keystone/keystone.conf", "/etc/glance/glance.conf.d/shc.conf"} {
			if _, ok := files[f]; !ok {
				t.Errorf("%s: no %s", s.Name, f)
			}
		}
		if k := string(files["/etc/default/keystone"].Data); !strings.Contains(k, `DAEMON_ARGS="--http-socket `+s.Addr+`:5000 `) {
			t.Errorf("%s: /etc/default/keystone:\n%s", s.Name, k)
		}
		if g, ok := files["/etc/glance/glance-api.conf"]; ok && !strings.Contains(string(g.Data), "\nbind_host = "+s.Addr+"\n") {
			t.Errorf("%s: glance-api.conf has no bind_host = %s", s.Name, s.Addr)
		}
	}
}
