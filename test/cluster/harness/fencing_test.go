package harness

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestNodeSpecs(t *testing.T) {
	three := nodeSpecs(3)
	if len(three) != 3 || three[2] != (NodeSpec{Name: "node3", Addr: "192.0.2.13", Ring: "198.51.100.13"}) {
		t.Errorf("nodeSpecs(3) = %+v", three)
	}
	if hosts := hostsFile(three); !strings.Contains(hosts, "192.0.2.13\tnode3") {
		t.Errorf("hosts lacks node3:\n%s", hosts)
	}
}

func TestFencingCRM(t *testing.T) {
	crm := fencingCRM(nodeSpecs(3), "/var/tmp/shc/power.sock")
	for _, want := range []string{
		"primitive fence-node1 stonith:fence_shc params pcmk_host_list=node1 socket=/var/tmp/shc/power.sock",
		"location fence-node1-not-on-node1 fence-node1 -inf: node1",
		"primitive fence-node3 stonith:fence_shc params pcmk_host_list=node3",
		"location fence-node3-not-on-node3 fence-node3 -inf: node3",
	} {
		if !strings.Contains(crm, want) {
			t.Errorf("fencing configuration lacks %q:\n%s", want, crm)
		}
	}
	if n := strings.Count(crm, "primitive "); n != 3 {
		t.Errorf("%d devices for 3 nodes", n)
	}
}

func TestKeepalivedConf(t *testing.T) {
	c := &Cluster{specs: nodeSpecs(3)}
	for _, s := range c.specs {
		c.Nodes = append(c.Nodes, &Node{NodeSpec: s, c: c})
	}
	conf, err := c.keepalivedConf(c.Nodes[1], "/var/tmp/shc/node2/keepalived/check_alive.sh")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"interface eth1", "192.0.2.100/24 dev eth0", "priority 2", "advert_int 1", "nopreempt",
		"script \"/var/tmp/shc/node2/keepalived/check_alive.sh\""} {
		if !strings.Contains(conf, want) {
			t.Errorf("keepalived.conf lacks %q:\n%s", want, conf)
		}
	}
	if strings.Contains(conf, "dev eth1") {
		t.Errorf("the VIP is on the VRRP interface:\n%s", conf)
	}
}

func TestKeepalivedState(t *testing.T) {
	dir := t.TempDir()
	n := &Node{dir: dir}
	if got := keepalivedState(n); got != "" {
		t.Errorf("no log: %q", got)
	}
	os.MkdirAll(filepath.Join(dir, "keepalived"), 0o755)
	log := "Sun Nov 29 19:28:29 2026: (shc_vip_51) Entering BACKUP STATE (init)\n" +
		"Sun Nov 29 19:28:33 2026: (shc_vip_51) Entering MASTER STATE\n" +
		"Sun Nov 29 19:28:34 2026: VRRP_Script(check_alive) succeeded\n"
	os.WriteFile(filepath.Join(dir, "keepalived", "keepalived.log"), []byte(log), 0o644)
	if got := keepalivedState(n); got != "MASTER" {
		t.Errorf("state %q, want MASTER", got)
	}
}
