package cluster

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stackha/stackha/test/cluster/harness"
)

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

func TestFaultShapes(t *testing.T) {
	t.Setenv("SHC_NODES", "")
	t.Setenv("SHC_FENCING", "")
	t.Setenv("SHC_MATRIX", "")
	// stackha's set as harness.Stackha makes it: it loads what render writes.
	set := harness.AgentSet{Name: "stackha", Binary: "/bin/stackha", Agents: map[string]bool{"vip": true, "haproxy": true, "keystone": true}, Render: true}
	shapes := faultShapes(set, harness.LabNodes)
	if len(shapes) != 3 {
		t.Fatalf("%d default shapes, want 3", len(shapes))
	}
	rendering := set
	sys := map[int]bool{}
	for _, sh := range faultShapes(rendering, harness.SystemdNodes) {
		if sh.opts.Kind != harness.SystemdNodes || !sh.opts.Fencing || !sh.opts.Keystone {
			t.Errorf("SHC_NODES_KIND=systemd: a shape not on fenced systemd nodes with keystone: %+v", sh.opts)
		}
		for id := range sh.faults {
			sys[id] = true
		}
	}
	for id := 9; id <= 14; id++ {
		if !sys[id] {
			t.Errorf("fault %d runs on no systemd shape", id)
		}
	}
	// the stateful tier's shape (make cluster-stateful, in make check)
	t.Setenv("SHC_STATEFUL", "1")
	t.Setenv("SHC_SERVICES", "")
	stateful := faultShapes(rendering, harness.SystemdNodes)
	t.Setenv("SHC_STATEFUL", "")
	if len(stateful) != 1 || !stateful[0].opts.Stateful || stateful[0].opts.Nodes != 3 || !stateful[0].opts.Fencing ||
		!slices.Equal(stateful[0].opts.Services, []string{"heat-api"}) {
		t.Errorf("SHC_STATEFUL=1: %+v, want one shape: three fenced nodes, the stateful tier, heat-api", stateful)
	}
	covered := map[int]bool{}
	for _, sh := range append(shapes, stateful...) {
		setup := Setup{Set: set, Nodes: max(sh.opts.Nodes, 2), Fencing: sh.opts.Fencing, Keystone: sh.opts.Keystone,
			Kind: sh.opts.Kind, Stateful: sh.opts.Stateful, Heat: slices.Contains(sh.opts.Services, "heat-api"), TLS: sh.opts.TLS}
		for _, f := range Faults {
			if exp, _ := f.Expect(setup); sh.faults[f.ID] && exp != Skip {
				covered[f.ID] = true
			}
		}
	}
	for _, f := range Faults {
		if !covered[f.ID] {
			t.Errorf("fault %d runs on no default shape", f.ID)
		}
		// the stateful tier's faults skip on every other shape
		if exp, _ := f.Expect(Setup{Set: set, Nodes: 3, Fencing: true, Keystone: true, Kind: harness.SystemdNodes}); f.ID >= 16 && exp != Skip {
			t.Errorf("fault %d runs without the stateful tier", f.ID)
		}
	}
	// the front door: on the three fenced nodes with faults 1-4, unless
	// SHC_TLS=0; never for a set that does not render
	if fenced := shapes[1]; !fenced.opts.TLS || fenced.opts.Nodes != 3 || !fenced.faults[1] || !fenced.faults[4] || !fenced.faults[21] {
		t.Errorf("the three fenced nodes: %+v, faults %v: want TLS with faults 1-4 and 21", fenced.opts, fenced.faults)
	}
	t.Setenv("SHC_TLS", "0")
	if fenced := faultShapes(set, harness.LabNodes)[1]; fenced.opts.TLS || fenced.faults[21] {
		t.Errorf("SHC_TLS=0: %+v, faults %v", fenced.opts, fenced.faults)
	}
	t.Setenv("SHC_TLS", "")
	if fenced := faultShapes(harness.Heartbeat(), harness.LabNodes)[1]; fenced.opts.TLS {
		t.Errorf("the heartbeat set (no render) with TLS: %+v", fenced.opts)
	}
	t.Setenv("SHC_NODES", "3")
	t.Setenv("SHC_FENCING", "1")
	if sh := faultShapes(harness.Heartbeat(), harness.LabNodes); len(sh) != 1 || sh[0].opts.Nodes != 3 || !sh[0].opts.Fencing {
		t.Errorf("SHC_NODES=3 SHC_FENCING=1: %+v", sh)
	}
	if sh := faultShapes(set, harness.SystemdNodes); len(sh) != 1 || sh[0].opts.Kind != harness.SystemdNodes || !sh[0].opts.Keystone {
		t.Errorf("SHC_NODES_KIND=systemd SHC_NODES=3 SHC_FENCING=1: %+v", sh)
	}
}

// SHC_WRITE_EVERY is taken within 25 ms and 10 s, 250 ms otherwise.
func TestWriteEvery(t *testing.T) {
	for _, tc := range []struct {
		v    string
		want time.Duration
	}{
		{"", 250 * time.Millisecond},
		{"50ms", 50 * time.Millisecond},
		{"25ms", 25 * time.Millisecond},
		{"10s", 10 * time.Second},
		{"1ms", 250 * time.Millisecond},
		{"11s", 250 * time.Millisecond},
		{"-1s", 250 * time.Millisecond},
		{"fast", 250 * time.Millisecond},
	} {
		t.Setenv("SHC_WRITE_EVERY", tc.v)
		if got := writeEvery(); got != tc.want {
			t.Errorf("SHC_WRITE_EVERY=%q: %s, want %s", tc.v, got, tc.want)
		}
	}
}
