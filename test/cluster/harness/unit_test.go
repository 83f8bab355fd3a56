package harness

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/stackha/stackha/internal/testutil/require"

	"github.com/stackha/stackha/crm/render"
)

func TestParseStatus(t *testing.T) {
	data, err := os.ReadFile("testdata/crm_mon.xml")
	if err != nil {
		t.Fatal(err)
	}
	st, err := parseStatus(data)
	if err != nil {
		t.Fatal(err)
	}
	if !st.Quorum {
		t.Error("quorum not read from current_dc with_quorum=true")
	}
	if got := st.ActiveOn("node1"); len(got) == 0 {
		t.Error("ActiveOn(node1) is empty")
	}
	if n, ok := st.Node("node2"); !ok || !n.Online || !n.Standby || !n.DC {
		t.Errorf("node2 = %+v, want online, standby, DC", n)
	}
	if n, ok := st.Node("node1"); !ok || !n.Online || n.Standby {
		t.Errorf("node1 = %+v, want online, not standby", n)
	}
	for _, tc := range []struct {
		id   string
		want []string
	}{
		{"api-vip", []string{"node1"}},
		{"haproxy", []string{"node1"}},
		{"keystone", nil},
	} {
		if got := st.Where(tc.id); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("Where(%s) = %v, want %v", tc.id, got, tc.want)
		}
	}
	want := []Failure{{OpKey: "haproxy_monitor_5000", Node: "node1", ExitStatus: "error", ExitCode: 1, Status: "complete", Task: "monitor"}}
	if !reflect.DeepEqual(st.Failures, want) {
		t.Errorf("failures = %+v, want %+v", st.Failures, want)
	}
	c := &Cluster{}
	if err := c.Settled(st); err != nil {
		t.Errorf("Settled: %v (node2 in standby, everything on node1)", err)
	}
	c.opts.Keystone = true
	if err := c.Settled(st); err == nil || !strings.Contains(err.Error(), "keystone") {
		t.Errorf("Settled with keystone expected = %v, want a keystone error", err)
	}
	if _, err := parseStatus([]byte("<pacemaker-result><nodes>")); err == nil {
		t.Error("truncated XML parsed")
	}
}

func TestSettled(t *testing.T) {
	node := func(name string, online, standby bool) NodeStatus {
		return NodeStatus{Name: name, Online: online, Standby: standby}
	}
	started := func(id string, nodes ...string) ResourceStatus {
		return ResourceStatus{ID: id, Role: "Started", Active: true, Nodes: nodes}
	}
	for _, tc := range []struct {
		name string
		st   Status
		bad  string
	}{
		{"steady", Status{Nodes: []NodeStatus{node("node1", true, false), node("node2", true, false)},
			Resources: []ResourceStatus{started("api-vip", "node1"), started("haproxy", "node1"), started("haproxy", "node2")}}, ""},
		{"no vip", Status{Nodes: []NodeStatus{node("node1", true, false)},
			Resources: []ResourceStatus{started("haproxy", "node1")}}, "vip"},
		{"haproxy missing on a node", Status{Nodes: []NodeStatus{node("node1", true, false), node("node2", true, false)},
			Resources: []ResourceStatus{started("api-vip", "node1"), started("haproxy", "node1")}}, "haproxy"},
		{"failed instance", Status{Nodes: []NodeStatus{node("node1", true, false)},
			Resources: []ResourceStatus{started("api-vip", "node1"), {ID: "haproxy", Role: "Started", Active: true, Failed: true, Nodes: []string{"node1"}}}}, "haproxy"},
		{"offline node ignored", Status{Nodes: []NodeStatus{node("node1", true, false), node("node2", false, false)},
			Resources: []ResourceStatus{started("api-vip", "node1"), started("haproxy", "node1")}}, ""},
		{"no node", Status{Nodes: []NodeStatus{node("node1", false, false)}}, "no node"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := (&Cluster{}).Settled(tc.st)
			if (err == nil) != (tc.bad == "") || (err != nil && !strings.Contains(err.Error(), tc.bad)) {
				t.Errorf("Settled = %v, want error about %q", err, tc.bad)
			}
		})
	}
}

// TestJoiningNodeIsNotSettled: testdata/status-joining.xml is crm_mon's
// view (from the DC's scheduler input) of a fault-14 run that lost 97
// requests: node2's Pacemaker had just restarted and the harness had taken
// it out of standby, but its join was not finished. crm_mon shows such a
// node online="true" standby="true" pending="true"; the old Settled counted
// it as a standby node and called the cluster settled, the next node's
// standby then moved the VIP to node2 before its haproxy started.
func TestJoiningNodeIsNotSettled(t *testing.T) {
	data, err := os.ReadFile("testdata/status-joining.xml")
	if err != nil {
		t.Fatal(err)
	}
	st, err := parseStatus(data)
	if err != nil {
		t.Fatal(err)
	}
	ns, ok := st.Node("node2")
	if !ok || !ns.Online || !ns.Pending {
		t.Fatalf("node2 = %+v, want online and pending", ns)
	}
	c := &Cluster{opts: Options{Keystone: true}}
	if err := c.Settled(st); err == nil || !strings.Contains(err.Error(), "node2 is joining") {
		t.Errorf("Settled = %v, want node2 joining", err)
	}
	for node, want := range map[string]string{"node1": "", "node2": "node2 is joining", "node3": ""} {
		if err := c.serving(st, node); (err == nil) != (want == "") || (err != nil && !strings.Contains(err.Error(), want)) {
			t.Errorf("serving(%s) = %v, want %q", node, err, want)
		}
	}
}

func TestParseOps(t *testing.T) {
	data, err := os.ReadFile("testdata/status.xml")
	if err != nil {
		t.Fatal(err)
	}
	ops, err := parseOps(data)
	if err != nil {
		t.Fatal(err)
	}
	var stop *Op
	for i, o := range ops {
		if o.Node == "node2" && o.Resource == "haproxy" && o.Operation == "stop" {
			stop = &ops[i]
		}
	}
	if stop == nil || stop.Exec != 2023*time.Millisecond || stop.CallID != 14 || stop.RC != 0 {
		t.Fatalf("haproxy stop on node2 = %+v, want exec 2023ms, call 14, rc 0 (ops: %v)", stop, ops)
	}
	// NewOps: what a transition added, monitors left out.
	before := ops[:0:0]
	for _, o := range ops {
		if o != *stop {
			before = append(before, o)
		}
	}
	if got := NewOps(before, ops); !reflect.DeepEqual(got, []Op{*stop}) {
		t.Errorf("NewOps = %v, want only the stop", got)
	}
	if got := FormatOps([]Op{*stop}); got != "haproxy stop@node2 2023ms" {
		t.Errorf("FormatOps = %q", got)
	}
}

func TestSummarize(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	at := func(startMs, endMs int, ok bool) Attempt {
		return Attempt{Start: t0.Add(time.Duration(startMs) * time.Millisecond), End: t0.Add(time.Duration(endMs) * time.Millisecond), OK: ok}
	}
	for _, tc := range []struct {
		name string
		as   []Attempt
		want Summary
	}{
		{"all fine", []Attempt{at(0, 5, true), at(50, 55, true)}, Summary{Total: 2, Recovered: true, MaxGap: 50 * time.Millisecond}},
		{"outage", []Attempt{at(0, 5, true), at(50, 550, false), at(100, 600, false), at(700, 710, true)},
			Summary{Total: 4, Failed: 2, Outage: 710 * time.Millisecond, Recovered: true, MaxGap: 705 * time.Millisecond}},
		// A success that started before the last failure does not end the outage.
		{"overlap", []Attempt{at(0, 900, false), at(100, 150, true), at(200, 300, false), at(400, 420, true)},
			Summary{Total: 4, Failed: 2, Outage: 420 * time.Millisecond, Recovered: true, MaxGap: 270 * time.Millisecond}},
		{"never recovered", []Attempt{at(0, 5, true), at(50, 550, false)}, Summary{Total: 2, Failed: 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := Summarize(tc.as, t0)
			got.LastErr, got.ByNode, got.FirstFail, got.LastFail = "", nil, 0, 0
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Summarize = %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestCorosyncConf(t *testing.T) {
	three := corosyncConf(nodeSpecs(3), 3*time.Second, false)
	for _, want := range []string{"ring0_addr: 198.51.100.13", "name: node3", "nodeid: 3", "token: 3000"} {
		if !strings.Contains(three, want) {
			t.Errorf("three-node corosync.conf lacks %q", want)
		}
	}
	if exact := corosyncConf(nodeSpecs(3), time.Second, true); !strings.Contains(exact, "token_coefficient: 0") {
		t.Errorf("exact token without token_coefficient: 0:\n%s", exact)
	}
	if strings.Contains(three, "two_node") || strings.Contains(three, "token_coefficient") {
		t.Errorf("three-node corosync.conf has two_node:\n%s", three)
	}
	conf := corosyncConf(nodeSpecs(2), time.Second, false)
	for _, want := range []string{"ring0_addr: 198.51.100.11", "ring0_addr: 198.51.100.12", "two_node: 1",
		"crypto_cipher: none", "token: 1000"} {
		if !strings.Contains(conf, want) {
			t.Errorf("corosync.conf lacks %q", want)
		}
	}
	hosts := hostsFile(nodeSpecs(2))
	for _, want := range []string{"192.0.2.11\tnode1", "192.0.2.12\tnode2", "192.0.2.50\tclient"} {
		if !strings.Contains(hosts, want) {
			t.Errorf("hosts lacks %q", want)
		}
	}
}

// TestHAProxyConfig checks the harness's haproxy.cfg with haproxy itself.
func TestHAProxyConfig(t *testing.T) {
	require.Command(t, "haproxy")
	for _, ks := range []bool{false, true} {
		f := filepath.Join(t.TempDir(), "haproxy.cfg")
		if err := os.WriteFile(f, []byte(HAProxyConfig(ks, nodeSpecs(2))), 0o644); err != nil {
			t.Fatal(err)
		}
		if out, err := exec.Command("haproxy", "-c", "-f", f).CombinedOutput(); err != nil {
			t.Errorf("haproxy -c (keystone %v): %v\n%s", ks, err, out)
		}
	}
}

// TestCRMConfig loads each agent set's configuration into an offline CIB
// and verifies it, and checks in a simulation that a standby moves the VIP.
func TestCRMConfig(t *testing.T) {
	require.Root(t) // crmsh writes /var/log/crmsh/crmsh.log
	require.Command(t, "crm", "cibadmin", "crm_verify", "crm_simulate")
	require.File(t, "/usr/lib/ocf/resource.d/heartbeat/IPaddr2", "/usr/lib/ocf/resource.d/heartbeat/anything")
	p := Paths{HAProxyCfg: "/var/tmp/shc/haproxy.cfg", KeystoneCfg: "/var/tmp/shc/keystone/keystone.conf",
		KeystoneRun: "/run/shc/keystone-run", RunDir: "/run/shc", Nodes: nodeSpecs(2)}
	set := Heartbeat()
	dir := t.TempDir()
	cib := filepath.Join(dir, "cib.xml")
	out, err := exec.Command("cibadmin", "--empty").Output()
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(cib, out, 0o600)
	crm := filepath.Join(dir, "cluster.crm")
	os.WriteFile(crm, []byte(crmConfig(set, p, true)), 0o644)
	env := []string{"CIB_file=" + cib}
	ctx := context.Background()
	if out, err := runEnv(ctx, env, "crm", "-F", "configure", "load", "update", crm); err != nil {
		t.Fatalf("crm load: %v\n%s", err, out)
	}
	if out, err := runEnv(ctx, env, "crm_verify", "-L", "-V"); err != nil {
		t.Fatalf("crm_verify: %v\n%s", err, out)
	}
	up := filepath.Join(dir, "up.xml")
	if out, err := Run(ctx, "crm_simulate", "-x", cib, "-u", "node1", "-u", "node2", "-q", "true", "-S", "-O", up); err != nil {
		t.Fatalf("crm_simulate: %v\n%s", err, out)
	}
	out2, err := Run(ctx, "crm_simulate", "-x", up)
	if err != nil {
		t.Fatal(err)
	}
	vipOn := func(s string) string {
		for _, l := range strings.Split(s, "\n") {
			if strings.Contains(l, "api-vip\t") || strings.Contains(l, "* api-vip") {
				return l
			}
		}
		return ""
	}
	first := vipOn(out2)
	if !strings.Contains(first, "Started node") {
		t.Fatalf("VIP not started in the simulation:\n%s", out2)
	}
	from := "node1"
	if strings.Contains(first, "node2") {
		from = "node2"
	}
	if out, err := runEnv(ctx, []string{"CIB_file=" + up}, "crm_attribute", "--node", from, "--name", "standby", "--update", "on"); err != nil {
		t.Fatalf("standby: %v\n%s", err, out)
	}
	after, err := Run(ctx, "crm_simulate", "-x", up, "-S")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(after, "Move") || !strings.Contains(after, "api-vip") {
		t.Errorf("standby of %s does not move the VIP:\n%s", from, after)
	}
}

// TestCleanStale leaves what a crashed run leaves (a namespace with a
// process in it, a mount under BaseDir, files) and checks that the cleanup
// removes it all, and only it.
func TestCleanStale(t *testing.T) {
	require.Root(t)
	require.Command(t, "ip", "mount", "umount", "sleep")
	c := &Cluster{log: &Logger{w: testWriter{t}, start: time.Now()}}
	ctx := context.Background()
	if err := c.acquire(ctx); err != nil {
		t.Fatal(err)
	}
	defer c.lock.Close()
	if err := cleanStale(ctx, c.log); err != nil {
		t.Fatal(err)
	}
	if _, err := Run(ctx, "ip", "netns", "add", Prefix+"stale"); err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(nsDir(), 0o755)
	if _, err := Run(ctx, "mount", "-t", "tmpfs", "shc-stale", nsDir()); err != nil {
		t.Fatal(err)
	}
	sleeper := exec.Command("ip", "netns", "exec", Prefix+"stale", "sleep", "300")
	if err := sleeper.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- sleeper.Wait() }()
	time.Sleep(300 * time.Millisecond)
	if err := cleanStale(ctx, c.log); err != nil {
		t.Fatal(err)
	}
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		sleeper.Process.Kill()
		t.Error("the process in the stale namespace survived")
	}
	if left := ourNamespaces(); len(left) > 0 {
		t.Errorf("namespaces left: %v", left)
	}
	if left := ourMounts(); len(left) > 0 {
		t.Errorf("mounts left: %v", left)
	}
	if _, err := os.Stat(BaseDir); err == nil {
		t.Errorf("%s left", BaseDir)
	}
}

func TestAddWhoami(t *testing.T) {
	require.Command(t, "haproxy")
	rendered := "global\n    maxconn 100\n\ndefaults\n    mode http\n    timeout connect 1s\n    timeout client 1s\n    timeout server 1s\n\n" +
		"frontend keystone-vip\n    bind 192.0.2.100:5000\n    default_backend keystone-api\n\n" +
		"backend keystone-api\n    server node1 192.0.2.11:5000 check\n"
	cfg := addWhoami(rendered)
	if n := strings.Count(cfg, `http-response set-header X-Served-By "%H"`); n != 2 {
		t.Errorf("%d X-Served-By headers, want 2 (the rendered frontend and the slow one):\n%s", n, cfg)
	}
	f := filepath.Join(t.TempDir(), "haproxy.cfg")
	os.WriteFile(f, []byte(cfg), 0o644)
	if out, err := exec.Command("haproxy", "-c", "-f", f).CombinedOutput(); err != nil {
		t.Errorf("haproxy -c: %v\n%s\n%s", err, out, cfg)
	}
}

// TestTopologyRenders renders the harness's topology with `stackha render`
// and checks what the cluster tests rely on: stackha's three agents, the
// harness's paths, and a haproxy.cfg (with the harness's additions) that
// haproxy accepts.
func TestTopologyRenders(t *testing.T) {
	require.Command(t, "go", "haproxy")
	ctx := context.Background()
	set, err := Stackha(ctx, buildStackha(t))
	if err != nil {
		t.Fatal(err)
	}
	if !set.Render {
		t.Fatal("the stackha binary has no render command")
	}
	p := Paths{HAProxyCfg: "/var/tmp/shc/haproxy.cfg", KeystoneCfg: "/var/tmp/shc/keystone/keystone.conf",
		KeystoneRun: "/run/shc/keystone-run", RunDir: "/run/shc", Nodes: nodeSpecs(2)}
	dir := t.TempDir()
	topo := filepath.Join(dir, "topology.yaml")
	os.WriteFile(topo, []byte(Topology(p, false)), 0o644)
	if out, err := Run(ctx, set.Binary, "render", "--topology", topo, "--out", filepath.Join(dir, "out")); err != nil {
		t.Fatalf("render: %v\n%s", err, out)
	}
	crm, err := os.ReadFile(filepath.Join(dir, "out", "cluster.crm"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"primitive " + VIPResource + " ocf:stackha:vip", "primitive haproxy ocf:stackha:haproxy",
		"primitive keystone ocf:stackha:keystone", "config=" + p.HAProxyCfg, "config=" + p.KeystoneCfg,
		"bind_host=192.0.2.11", "bind_host=192.0.2.12", "clone haproxy-clone haproxy", "clone keystone-clone keystone",
		"extra_ini=" + keystoneExtraIni(p)} {
		if !strings.Contains(string(crm), want) {
			t.Errorf("cluster.crm lacks %q:\n%s", want, crm)
		}
	}
	// the lab config the harness writes itself (crmConfig) gives
	// keystone the same ini
	if lab := crmConfig(set, p, true); !strings.Contains(lab, "extra_ini="+keystoneExtraIni(p)) || strings.Contains(lab, "extra_args") {
		t.Errorf("the stackha set's crm configuration runs keystone without extra_ini %s:\n%s", keystoneExtraIni(p), lab)
	}
	h, err := os.ReadFile(filepath.Join(dir, "out", "haproxy.cfg"))
	if err != nil {
		t.Fatal(err)
	}
	f := filepath.Join(dir, "haproxy.cfg")
	os.WriteFile(f, []byte(addWhoami(string(h))), 0o644)
	if out, err := exec.Command("haproxy", "-c", "-f", f).CombinedOutput(); err != nil {
		t.Errorf("haproxy -c: %v\n%s", err, out)
	}
	// With fencing, render writes the harness's devices: one fence_shc per
	// node on the power switch, kept off its node, and the properties
	// fencingProperties checks; on two nodes the fence race's delay too.
	for _, nodes := range []int{2, 3} {
		p.Nodes = nodeSpecs(nodes)
		os.WriteFile(topo, []byte(Topology(p, true)), 0o644)
		out := filepath.Join(dir, fmt.Sprintf("fenced%d", nodes))
		if o, err := Run(ctx, set.Binary, "render", "--topology", topo, "--out", out); err != nil {
			t.Fatalf("render with fencing, %d nodes: %v\n%s", nodes, err, o)
		}
		crm, err := os.ReadFile(filepath.Join(out, "cluster.crm"))
		if err != nil {
			t.Fatal(err)
		}
		want := []string{"stonith-enabled=true", "no-quorum-policy=stop", "transition-delay=" + fencedTransitionDelay}
		if nodes == 2 {
			want = append(want, "priority-fencing-delay="+PriorityFencingDelay, "priority="+vipPriority)
		}
		for _, n := range p.Nodes {
			want = append(want, fmt.Sprintf("primitive fence-%s stonith:fence_shc", n.Name), "socket="+powerSocket(),
				"pcmk_host_list="+n.Name, fmt.Sprintf("fence-%s -inf: %s", n.Name, n.Name))
		}
		for _, w := range want {
			if !strings.Contains(string(crm), w) {
				t.Errorf("%d nodes, fencing: cluster.crm lacks %q:\n%s", nodes, w, crm)
			}
		}
	}
}

// TestKeystoneExtraIni: every way the harness runs keystone under uwsgi on
// lab nodes (render's topology, the stackha set's crm configuration in
// TestTopologyRenders, the heartbeat set's start script) passes the
// node's own ini after Debian's, never options with spaces, and the ini
// holds the workers, threads and log the harness wants.
func TestKeystoneExtraIni(t *testing.T) {
	p := Paths{HAProxyCfg: "/var/tmp/shc/haproxy.cfg", KeystoneCfg: "/var/tmp/shc/keystone/keystone.conf",
		KeystoneRun: "/run/shc/keystone-run", RunDir: "/run/shc", Nodes: nodeSpecs(2)}
	const ini = "/run/shc/shc-keystone.ini"
	if got := keystoneExtraIni(p); got != ini {
		t.Fatalf("keystoneExtraIni: %s, want %s", got, ini)
	}
	cases := []struct {
		what, text string
		want       []string
	}{
		{"topology", Topology(p, false), []string{"extra_ini: " + ini + "}"}},
		{"heartbeat start script", keystoneRunScript(p, "192.0.2.11"),
			[]string{"--http-socket 192.0.2.11:5000 --ini " + keystoneIni + " --ini " + ini + "\n", "OS_KEYSTONE_CONFIG_DIR=/var/tmp/shc/keystone "}},
		{"ini", keystoneExtraIniData(p), []string{"\n[uwsgi]\n", "\nprocesses = 2\n", "\nthreads = 4\n", "\nlogto = /run/shc/keystone/uwsgi.log\n"}},
	}
	for _, tc := range cases {
		for _, w := range tc.want {
			if !strings.Contains(tc.text, w) {
				t.Errorf("%s lacks %q:\n%s", tc.what, w, tc.text)
			}
		}
		for _, bad := range []string{"extra_args", "--processes", "--threads", "--logto"} {
			if strings.Contains(tc.text, bad) {
				t.Errorf("%s has %q:\n%s", tc.what, bad, tc.text)
			}
		}
	}
}

// FuzzParseStatus: crm_mon's XML never makes the parser panic.
func FuzzParseStatus(f *testing.F) {
	if data, err := os.ReadFile("testdata/crm_mon.xml"); err == nil {
		f.Add(data)
	}
	f.Add([]byte("<pacemaker-result><nodes><node name=\"x\" online=\"maybe\"/></nodes></pacemaker-result>"))
	f.Fuzz(func(t *testing.T, data []byte) {
		st, err := parseStatus(data)
		if err == nil {
			(&Cluster{}).Settled(st)
			st.Where(VIPResource)
		}
	})
}

// FuzzParseOps: the CIB status never makes the parser panic.
func FuzzParseOps(f *testing.F) {
	if data, err := os.ReadFile("testdata/status.xml"); err == nil {
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if ops, err := parseOps(data); err == nil {
			NewOps(nil, ops)
			FormatOps(ops)
		}
	})
}

// testWriter sends the harness's progress to the test log.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// buildStackha builds the stackha binary into a temporary directory
// ($SHC_STACKHA names a binary built elsewhere instead).
func buildStackha(t *testing.T) string {
	t.Helper()
	if bin := os.Getenv("SHC_STACKHA"); bin != "" {
		return bin
	}
	bin := filepath.Join(t.TempDir(), "stackha")
	cmd := exec.Command("go", "build", "-o", bin, "github.com/stackha/stackha/cmd/stackha")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building stackha: %v\n%s", err, out)
	}
	return bin
}

// Only a haproxy that serves is counted: not the OCF agent (comm haproxy,
// the stackha binary: fault 2 failed on "2 haproxy masters" in CI as a
// monitor ran), not a configuration check.
func TestServesHAProxy(t *testing.T) {
	for _, tc := range []struct {
		name string
		p    Proc
		want bool
	}{
		{"master", Proc{Comm: "haproxy", Exe: "/usr/sbin/haproxy", Cmdline: []string{"/usr/sbin/haproxy", "-W", "-D", "-f", "/etc/haproxy"}}, true},
		{"master after an upgrade", Proc{Comm: "haproxy", Exe: "/usr/sbin/haproxy (deleted)", Cmdline: []string{"/usr/sbin/haproxy", "-W"}}, true},
		{"the OCF agent's monitor", Proc{Comm: "haproxy", Exe: "/var/tmp/shc/bin/stackha", Cmdline: []string{"/usr/lib/ocf/resource.d/stackha/haproxy", "monitor"}}, false},
		{"a configuration check", Proc{Comm: "haproxy", Exe: "/usr/sbin/haproxy", Cmdline: []string{"/usr/sbin/haproxy", "-c", "-f", "/etc/haproxy"}}, false},
		{"gone before its exe was read", Proc{Comm: "haproxy", Cmdline: []string{"/usr/sbin/haproxy", "-W"}}, false},
		{"another program", Proc{Comm: "keepalived", Exe: "/usr/sbin/keepalived"}, false},
	} {
		if got := servesHAProxy(tc.p); got != tc.want {
			t.Errorf("%s: serves %v, want %v", tc.name, got, tc.want)
		}
	}
}

// A configuration check run by an agent beside the running haproxy is not
// a second master (fault 2 once failed on "2 haproxy masters": a probe's
// haproxy -c).
func TestHAProxyCheckIsNotAMaster(t *testing.T) {
	for _, tc := range []struct {
		argv []string
		want bool
	}{
		{[]string{"/usr/sbin/haproxy", "-c", "-f", "/etc/haproxy/haproxy.cfg"}, true},
		{[]string{"/usr/sbin/haproxy", "-vv"}, true},
		{[]string{"/usr/sbin/haproxy", "-W", "-D", "-S", "/run/haproxy.sock,mode,600", "-p", "/run/haproxy.pid", "-f", "/etc/haproxy"}, false},
		{[]string{"/usr/sbin/haproxy", "-Ws", "-f", "/etc/haproxy/haproxy.cfg"}, false},
		{[]string{"-c"}, false}, // the program's own name
		{nil, false},
	} {
		if got := checkOnly(tc.argv); got != tc.want {
			t.Errorf("%q: check only %v, want %v", tc.argv, got, tc.want)
		}
	}
}

// The systemd nodes' services drain before they stop (render's default),
// and not with NoDrain; the lab nodes' keystone never drains (they share
// one /etc).
func TestSystemdTopologyDrain(t *testing.T) {
	p := Paths{HAProxyCfg: "/var/tmp/shc/haproxy.cfg", KeystoneCfg: "/var/tmp/shc/keystone/keystone.conf",
		KeystoneRun: "/run/shc/keystone-run", RunDir: "/run/shc", Nodes: nodeSpecs(3)}
	for _, tc := range []struct {
		name, topo string
		drained    bool
	}{
		{"systemd nodes", SystemdTopology(p, true, time.Second, false, []string{"cinder-api", "placement-api"}, false), true},
		{"systemd nodes, NoDrain", SystemdTopology(p, true, time.Second, false, []string{"cinder-api", "placement-api"}, true), false},
		{"lab nodes", Topology(p, true), false},
	} {
		topo, err := render.ParseBytes([]byte(tc.topo))
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		files, err := render.Render(topo)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		crm := string(files["cluster.crm"])
		if got := strings.Count(crm, "drain_timeout=20s"); tc.drained && got != 3 || !tc.drained && got != 0 { // keystone, cinder-api, placement-api
			t.Errorf("%s: %d services drain in cluster.crm:\n%s", tc.name, got, crm)
		}
		// placement, without a healthcheck, through haproxy's agent-check
		hasAgent := strings.Contains(crm, "drain_agent_port=18778") && strings.Contains(string(files["haproxy.cfg"]), " agent-check agent-port 18778 ")
		if tc.drained && !strings.Contains(tc.name, "lab") && !hasAgent {
			t.Errorf("%s: placement is not drained through its drain agent", tc.name)
		}
	}
}
