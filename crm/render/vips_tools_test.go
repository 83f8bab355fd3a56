package render_test

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stackha/stackha/internal/testutil/cibtest"
)

// twoVIPsExample is the example with a public and an internal VIP.
const twoVIPsExample = "production"

// TestFailoverTwoVIPs simulates the example with two VIPs: each VIP runs on
// one node beside a haproxy; a standby of the public VIP's node moves the
// public VIP, and the internal one only when it was on that node too; the
// loss of a node is fenced and leaves both VIPs on the survivors; neither
// VIP is ever restarted where it stays.
func TestFailoverTwoVIPs(t *testing.T) {
	t.Parallel()
	dir, cib := loadRendered(t, twoVIPsExample)
	nodes := nodesOf(t, dir)
	vips := []string{"vip-public", "vip-internal"}
	tmp := t.TempDir()
	up := filepath.Join(tmp, "up.xml")
	settle(t, cib, up, nodes...)
	check := func(what string, p map[string][]string, allowed []string) map[string]string {
		t.Helper()
		on := map[string]string{}
		for _, v := range vips {
			if len(p[v]) != 1 || !slices.Contains(allowed, p[v][0]) || !slices.Contains(p["haproxy-clone"], p[v][0]) {
				t.Fatalf("%s: %s on %v, haproxy on %v; want it on one of %v, beside a haproxy", what, v, p[v], p["haproxy-clone"], allowed)
			}
			on[v] = p[v][0]
		}
		return on
	}
	before := check("all up", cibtest.Placement(t, up), nodes)
	t.Logf("all up: public VIP on %s, internal VIP on %s", before["vip-public"], before["vip-internal"])

	// standby of the public VIP's node
	gone := before["vip-public"]
	moved := filepath.Join(tmp, "moved.xml")
	cibtest.Standby(t, up, gone, true)
	rep := settle(t, up, moved)
	others := slices.DeleteFunc(slices.Clone(nodes), func(n string) bool { return n == gone })
	after := check("standby of "+gone, cibtest.Placement(t, moved), others)
	t.Logf("standby of %s: public VIP on %s, internal VIP on %s", gone, after["vip-public"], after["vip-internal"])
	if before["vip-internal"] != gone && after["vip-internal"] != before["vip-internal"] {
		t.Errorf("standby of %s (the public VIP's node) moved the internal VIP from %s to %s", gone, before["vip-internal"], after["vip-internal"])
	}
	for _, a := range cibtest.Actions(rep) {
		if strings.HasPrefix(a, "Restart") || (strings.Contains(a, "vip-internal") && before["vip-internal"] != gone) {
			t.Errorf("standby of %s: %q", gone, a)
		}
	}

	// loss of the internal VIP's node: fenced, both VIPs on the survivors
	lostNode := after["vip-internal"]
	lost := filepath.Join(tmp, "lost.xml")
	rep = cibtest.Fail(t, moved, lost, lostNode)
	if !slices.ContainsFunc(cibtest.Actions(rep), func(a string) bool { return strings.HasPrefix(a, "Fence (reboot) "+lostNode+" ") }) {
		t.Errorf("loss of %s: not fenced; actions %q", lostNode, cibtest.Actions(rep))
	}
	survivors := slices.DeleteFunc(slices.Clone(others), func(n string) bool { return n == lostNode })
	check("loss of "+lostNode, cibtest.Placement(t, lost), survivors)
}
