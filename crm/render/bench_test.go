package render_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stackha/stackha/crm/render"
)

// bigTopology is the largest cluster render takes: 16 nodes, every
// service (keystone's and nova's legacy listeners too), a fencing device
// per node and two corosync links.
func bigTopology() string {
	var b strings.Builder
	b.WriteString("vip: {address: 198.51.100.10, prefix: 24}\nnodes:\n")
	for i := 1; i <= 16; i++ {
		fmt.Fprintf(&b, "  - {name: ctl-%02d, address: 198.51.100.%d, ring1_addr: 203.0.113.%d}\n", i, 20+i, 20+i)
	}
	b.WriteString("services:\n  - {name: keystone, legacy: true}\n  - {name: glance-api}\n  - {name: glance-registry}\n" +
		"  - {name: nova-api, legacy: true}\n  - {name: nova-metadata}\n  - {name: cinder-api}\n  - {name: neutron-server}\n" +
		"  - {name: placement-api}\n  - {name: heat-api}\nhaproxy: {monitor_depth: 10}\nfencing:\n  devices:\n")
	for i := 1; i <= 16; i++ {
		fmt.Fprintf(&b, "    - {node: ctl-%02d, agent: fence_ipmilan, password_file: /etc/stackha/fence/ctl-%02d.pw, params: {ip: 192.0.2.%d, username: admin, lanplus: \"1\"}}\n", i, i, 100+i)
	}
	return b.String()
}

// TestBigTopology: the benchmark's topology is valid and renders every
// node and service.
func TestBigTopology(t *testing.T) {
	topo, err := render.ParseBytes([]byte(bigTopology()))
	if err != nil {
		t.Fatal(err)
	}
	f, err := render.Render(topo)
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(f["haproxy.cfg"]), "\n    server "); n != 16*11 {
		t.Errorf("haproxy.cfg has %d servers, want 16 nodes × 11 listeners", n)
	}
	if n := strings.Count(string(f["cluster.crm"]), "stonith:fence_ipmilan"); n != 16 {
		t.Errorf("cluster.crm has %d fencing devices, want 16", n)
	}
}

// BenchmarkRender: `stackha render`'s work (parse, check, render every
// file) for the lab topology's two nodes (crm/examples/seed.yaml) and for
// the 16-node topology with every service, side by side; "file" also
// writes the files as RenderFile does.
//
//	go test ./crm/render -run '^$' -bench BenchmarkRender -benchmem
func BenchmarkRender(b *testing.B) {
	seed, err := os.ReadFile("../examples/seed.yaml")
	if err != nil {
		b.Fatal(err)
	}
	for _, bc := range []struct {
		name string
		yaml []byte
	}{{"seed-2-nodes", seed}, {"16-nodes-all-services", []byte(bigTopology())}} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				topo, err := render.ParseBytes(bc.yaml)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := render.Render(topo); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(bc.name+"/file", func(b *testing.B) {
			in := filepath.Join(b.TempDir(), "topology.yaml")
			if err := os.WriteFile(in, bc.yaml, 0o644); err != nil {
				b.Fatal(err)
			}
			out := b.TempDir()
			b.ReportAllocs()
			for b.Loop() {
				if _, err := render.RenderFile(in, out); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
