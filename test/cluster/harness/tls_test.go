package harness

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stackha/stackha/internal/testutil/certtest"
	"github.com/stackha/stackha/internal/testutil/require"
)

// TestFrontDoorRenders renders the harness's three fenced nodes with the
// front door (frontDoor) and checks what the TLS tests rely on: the two
// VIPs by render's names on their interfaces, TLS on the public VIP with
// the harness's certificate, plain HTTP on the internal one, each node's
// metrics on its own address; haproxy accepts the result with a
// certificate in the harness's file's place.
func TestFrontDoorRenders(t *testing.T) {
	require.Command(t, "go", "haproxy")
	ctx := context.Background()
	set, err := Stackha(ctx, buildStackha(t))
	if err != nil {
		t.Fatal(err)
	}
	p := Paths{HAProxyCfg: "/var/tmp/shc/haproxy.cfg", KeystoneCfg: "/var/tmp/shc/keystone/keystone.conf",
		KeystoneRun: "/run/shc/keystone-run", RunDir: "/run/shc", Nodes: nodeSpecs(3)}
	topo, err := frontDoor(Topology(p, true), p.Nodes)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := frontDoor(topo, p.Nodes); err == nil {
		t.Error("frontDoor took a topology without the harness's one VIP")
	}
	// systemd nodes' lines go on with their ring address
	sys, err := frontDoor(SystemdTopology(p, true, time.Second, false, []string{"placement-api"}, false), p.Nodes)
	if want := "  - {name: node1, address: 198.51.100.11, management_address: 192.0.2.11, ring0_addr: 198.51.100.11}\n"; err != nil || !strings.Contains(sys, want) {
		t.Errorf("systemd nodes' topology: %v; want %q in:\n%s", err, want, sys)
	}
	dir := t.TempDir()
	f := filepath.Join(dir, "topology.yaml")
	os.WriteFile(f, []byte(topo), 0o644)
	out := filepath.Join(dir, "out")
	if o, err := Run(ctx, set.Binary, "render", "--topology", f, "--out", out); err != nil {
		t.Fatalf("render: %v\n%s", err, o)
	}
	crm, _ := os.ReadFile(filepath.Join(out, "cluster.crm"))
	h, _ := os.ReadFile(filepath.Join(out, "haproxy.cfg"))
	for _, w := range []string{"primitive " + PublicVIPResource + " ocf:stackha:vip", "ip=" + VIP, "nic=eth0",
		"primitive " + InternalVIPResource + " ocf:stackha:vip", "ip=" + InternalVIP, "nic=eth1", "bind_host=198.51.100.11"} {
		if !strings.Contains(string(crm), w) {
			t.Errorf("cluster.crm lacks %q", w)
		}
	}
	for _, w := range []string{"bind " + VIP + ":5000 ssl crt " + CertFile(), "bind " + InternalVIP + ":5000\n",
		"setenv STACKHA_STATS_BIND 192.0.2.11:8404", "prometheus-exporter", "192.0.2.0/24", "server node1 198.51.100.11:5000"} {
		if !strings.Contains(string(h), w) {
			t.Errorf("haproxy.cfg lacks %q:\n%s", w, h)
		}
	}
	pem, _ := certtest.Signed(t, PublicName)
	crt := filepath.Join(dir, "api.pem")
	os.WriteFile(crt, pem, 0o600)
	cfg := filepath.Join(dir, "haproxy.cfg")
	os.WriteFile(cfg, []byte(strings.ReplaceAll(addWhoami(string(h)), CertFile(), crt)), 0o644)
	if o, err := exec.Command("haproxy", "-c", "-f", cfg).CombinedOutput(); err != nil {
		t.Errorf("haproxy -c: %v\n%s", err, o)
	}
}
