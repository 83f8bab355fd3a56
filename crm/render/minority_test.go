package render_test

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stackha/stackha/internal/testutil/cibtest"
)

// TestMinorityStopsEverything: a node cut from the others loses quorum
// and, with no-quorum-policy=stop, stops everything it runs, haproxy
// included, even where a VIP runs on a node it can no longer see (whose
// stop it cannot have until that node is fenced). In crm_simulate, on
// each fenced example of three nodes or more: every node up, then, seen
// from a node that holds no VIP (or the fewest), the others lost and no
// quorum. A Mandatory order from a VIP's stop to the haproxy clone's
// blocked that node's haproxy behind the unreachable VIP's stop (fault 11
// on the harness's two VIPs, 2026-12-07).
func TestMinorityStopsEverything(t *testing.T) {
	for _, name := range []string{"three-node-fenced", "production"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			dir, cib := loadRendered(t, name)
			nodes := nodesOf(t, dir)
			tmp := t.TempDir()
			up := filepath.Join(tmp, "up.xml")
			settle(t, cib, up, nodes...)
			held := map[string]int{}
			for id, on := range cibtest.Placement(t, up) {
				if strings.HasPrefix(id, "vip") || id == "api-vip" {
					for _, n := range on {
						held[n]++
					}
				}
			}
			minority := slices.MinFunc(nodes, func(a, b string) int { return held[a] - held[b] })
			args := []string{"-x", up, "-S", "-O", filepath.Join(tmp, "cut.xml"), "-q", "false"}
			for _, n := range nodes {
				if n != minority {
					args = append(args, "--node-fail", n)
				}
			}
			rep, err := cibtest.Run(t, "", "crm_simulate", args...)
			if err != nil {
				t.Fatal(err)
			}
			stopped := false
			for _, a := range cibtest.Actions(rep) {
				if strings.Contains(a, "( "+minority+" )") && strings.Contains(a, "(blocked)") {
					t.Errorf("%s, without quorum, cannot: %s", minority, a)
				}
				stopped = stopped || strings.HasPrefix(a, "Stop haproxy:") && strings.Contains(a, "( "+minority+" )")
			}
			if !stopped {
				t.Errorf("%s, without quorum, does not stop haproxy: %q", minority, cibtest.Actions(rep))
			}
		})
	}
}
