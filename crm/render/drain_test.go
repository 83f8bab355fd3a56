package render

import (
	"strings"
	"testing"
)

func TestDrainRendered(t *testing.T) {
	for _, tc := range []struct {
		name     string
		services string
		bad      string   // a problem Parse reports
		crm      []string // in cluster.crm
		notCRM   []string
		haproxy  []string // in haproxy.cfg
		notHAP   []string
		files    []string // per-node files of node mesa-virt-01
	}{
		{name: "default: drained, checked at /healthcheck",
			services: "  - name: keystone\n  - name: glance-api\n",
			crm:      []string{"port=5000 probe_timeout=2s drain_timeout=20s drain_checks=3s", "op stop interval=0s timeout=60s"},
			haproxy:  []string{"backend keystone-api\n    balance roundrobin\n    http-request disable-l7-retry unless METH_GET || METH_OPTIONS\n    # 503 while its agent drains it before a stop (drain_timeout)\n    option httpchk GET /healthcheck\n"},
			files:    []string{"etc/keystone/keystone.conf.d/50-stackha-drain.conf"}},
		{name: "a long drain: the stop's timeout grows with it",
			services: "  - name: glance-api\n    drain_timeout: 5m\n",
			crm:      []string{"drain_timeout=300s drain_checks=3s", "op stop interval=0s timeout=340s"}},
		{name: "drain off: the version document is checked, no drop-in",
			services: "  - name: keystone\n    drain_timeout: 0\n",
			notCRM:   []string{"drain_"},
			haproxy:  []string{"option httpchk GET /v3\n"}, notHAP: []string{"/healthcheck"}},
		{name: "placement: drained through the agent-check, its version document checked",
			services: "  - name: placement-api\n",
			crm:      []string{"drain_timeout=20s drain_checks=3s drain_agent_port=18778"},
			haproxy:  []string{"option httpchk GET /\n    server mesa-virt-01 10.10.102.6:8778 agent-check agent-port 18778 agent-inter 1s\n"},
			notHAP:   []string{"/healthcheck"}},
		{name: "placement: another agent port",
			services: "  - name: placement-api\n    drain_agent_port: 9778\n",
			crm:      []string{"drain_agent_port=9778"}, haproxy: []string{" agent-check agent-port 9778 agent-inter 1s\n"}},
		{name: "placement not drained: no agent-check",
			services: "  - name: placement-api\n    drain_timeout: 0\n",
			notCRM:   []string{"drain_"}, notHAP: []string{"agent-check"}},
		{name: "an agent port for a service with the healthcheck",
			services: "  - name: keystone\n    drain_agent_port: 9778\n", bad: "services[0].drain_agent_port: keystone has oslo's healthcheck"},
		{name: "an agent port taken by a service",
			services: "  - name: keystone\n  - name: placement-api\n    drain_agent_port: 5000\n", bad: "services[1].drain_agent_port: port 5000 clashes with services[0].port"},
		{name: "an agent port out of range",
			services: "  - name: placement-api\n    drain_agent_port: 70000\n", bad: "services[0].drain_agent_port"},
		{name: "glance-registry cannot be drained",
			services: "  - name: glance-registry\n    drain_timeout: 10s\n", bad: "services[0].drain_timeout: glance-registry has no healthcheck"},
		{name: "out of range", services: "  - name: cinder-api\n    drain_timeout: 11m\n", bad: "services[0].drain_timeout: 11m is out of range"},
		{name: "not in params", services: "  - name: cinder-api\n    params: {drain_checks: 9s}\n", bad: "services[0].params.drain_checks: set by the topology's own field"},
		{name: "checks follow haproxy's timings",
			services: "  - name: cinder-api\nhaproxy: {check: {inter: 5s, fall: 3, fastinter: 1s}}\n",
			crm:      []string{"drain_timeout=20s drain_checks=9s"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			topo, err := ParseBytes([]byte(seedYAML + "services:\n" + tc.services))
			if tc.bad != "" {
				if err == nil || !strings.Contains(err.Error(), tc.bad) {
					t.Fatalf("Parse: %v, want %q", err, tc.bad)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			f, err := Render(topo)
			if err != nil {
				t.Fatal(err)
			}
			crm, hap := string(f["cluster.crm"]), string(f["haproxy.cfg"])
			for _, w := range tc.crm {
				if !strings.Contains(crm, w) {
					t.Errorf("cluster.crm lacks %q", w)
				}
			}
			for _, w := range tc.notCRM {
				if strings.Contains(crm, w) {
					t.Errorf("cluster.crm has %q", w)
				}
			}
			for _, w := range tc.haproxy {
				if !strings.Contains(hap, w) {
					t.Errorf("haproxy.cfg lacks %q", w)
				}
			}
			for _, w := range tc.notHAP {
				if strings.Contains(hap, w) {
					t.Errorf("haproxy.cfg has %q", w)
				}
			}
			var dropIns []string
			for name := range f {
				if strings.Contains(name, ".conf.d/") && strings.HasPrefix(name, "nodes/mesa-virt-01/") {
					dropIns = append(dropIns, strings.TrimPrefix(name, "nodes/mesa-virt-01/"))
				}
			}
			if strings.Join(dropIns, ",") != strings.Join(tc.files, ",") {
				t.Errorf("drop-ins %v, want %v", dropIns, tc.files)
			}
		})
	}
}
