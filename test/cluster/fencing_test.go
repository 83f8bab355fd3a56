package cluster

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestNodeSpecs(t *testing.T) {
	three := NodeSpecs(3)
	if len(three) != 3 || three[2] != (NodeSpec{Name: "node3", Addr: "192.0.2.13", Ring: "198.51.100.13"}) {
		t.Errorf("NodeSpecs(3) = %+v", three)
	}
	if hosts := hostsFile(three); !strings.Contains(hosts, "192.0.2.13\tnode3") {
		t.Errorf("hosts lacks node3:\n%s", hosts)
	}
}

func TestFencingCRM(t *testing.T) {
	crm := FencingCRM(NodeSpecs(3), "/var/tmp/shc/power.sock")
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

func TestFailedFencingLine(t *testing.T) {
	out := `Node List:
  * Online: [ node2 node3 ]
  * OFFLINE: [ node1 ]

Failed Fencing Actions:
  * reboot of node2 by node3 for pacemaker-controld.255@node3 last failed at 2026-11-29 19:12:48Z (a later attempt from node1 succeeded)
  * reboot of node1 by node2 for pacemaker-controld.41@node2 last failed at 2026-11-29 19:16:26Z
`
	if got := failedFencingLine(out, "node1"); !strings.HasPrefix(got, "reboot of node1 by node2") {
		t.Errorf("node1: %q", got)
	}
	if got := failedFencingLine(out, "node3"); got != "" {
		t.Errorf("node3 (only named as a delegate): %q", got)
	}
	if got := failedFencingLine("Node List:\n  * reboot of node1 failed\n", "node1"); got != "" {
		t.Errorf("outside the section: %q", got)
	}
}

func TestKeepalivedConf(t *testing.T) {
	c := &Cluster{specs: NodeSpecs(3)}
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

func TestFaultShapes(t *testing.T) {
	t.Setenv("SHC_NODES", "")
	t.Setenv("SHC_FENCING", "")
	t.Setenv("SHC_MATRIX", "")
	set := AgentSet{Name: "stackha", Binary: "/bin/stackha", Agents: map[string]bool{"vip": true, "haproxy": true, "keystone": true}}
	shapes := faultShapes(set)
	if len(shapes) != 3 {
		t.Fatalf("%d default shapes, want 3", len(shapes))
	}
	covered := map[int]bool{}
	for _, sh := range shapes {
		setup := Setup{Set: set, Nodes: max(sh.opts.Nodes, 2), Fencing: sh.opts.Fencing, Keystone: sh.opts.Keystone}
		for _, f := range Faults {
			if exp, _ := f.Expect(setup); sh.faults[f.ID] && exp != Skip {
				covered[f.ID] = true
			}
		}
	}
	for _, f := range Faults {
		// Fault 15 is opt-in (SHC_FAULTS=15): its VIP can land on a node
		// whose haproxy the clone starts only after the old holder's drain
		// (docs/faults.md, "Left").
		if !covered[f.ID] && f.ID != 15 {
			t.Errorf("fault %d runs on no default shape", f.ID)
		}
	}
	t.Setenv("SHC_NODES", "3")
	t.Setenv("SHC_FENCING", "1")
	if sh := faultShapes(Heartbeat()); len(sh) != 1 || sh[0].opts.Nodes != 3 || !sh[0].opts.Fencing {
		t.Errorf("SHC_NODES=3 SHC_FENCING=1: %+v", sh)
	}
}
