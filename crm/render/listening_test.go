package render_test

import (
	"fmt"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stackha/stackha/internal/testutil/cibtest"
)

// The node attribute stackha's haproxy agent sets where it serves (its
// node_attribute parameter, which render sets).
const listeningAttr = "haproxy-listening"

// playAttribute does in cib what the haproxy agent and attrd do on a live
// cluster, which crm_simulate does not: the attribute is 1 on every node
// where a haproxy instance runs (start has found it serving), and 0 where
// one ran before and does not any more (its stop, or attrd forgetting a
// lost node). It reports whether it changed anything: a live cluster would
// then run another transition.
func playAttribute(t *testing.T, cib string) bool {
	t.Helper()
	on := cibtest.Placement(t, cib)["haproxy-clone"]
	changed := false
	for _, n := range cibtest.Nodes(t, cib) {
		cur, want := cibtest.NodeAttr(t, cib, n, listeningAttr), "0"
		if slices.Contains(on, n) {
			want = "1"
		}
		if cur != want && (cur != "" || want == "1") {
			cibtest.SetNodeAttr(t, cib, n, listeningAttr, want)
			changed = true
		}
	}
	return changed
}

// settle is cibtest.Simulate followed by the transitions a live cluster
// runs when the attribute changes, until it no longer does; out holds the
// end state and the report has every transition's. Up to four transitions:
// one more means the attribute and the scheduler chase each other.
func settle(t *testing.T, in, out string, up ...string) string {
	t.Helper()
	playAttribute(t, in)
	reps := []string{cibtest.Simulate(t, in, out, up...)}
	for playAttribute(t, out) {
		if len(reps) == 4 {
			t.Fatalf("still changing after %d transitions:\n%s", len(reps), strings.Join(reps, "\n"))
		}
		reps = append(reps, cibtest.Simulate(t, out, out))
	}
	return strings.Join(reps, "\n")
}

// step is one transition of stepwise: its summary and its graph.
type step struct {
	// listening are the nodes where haproxy listened as the transition
	// was planned (the attribute is 1) and that stay (not in standby).
	listening []string
	actions   []string
	// before maps each action of the graph to the actions it waits for.
	before map[string][]string
}

var graphEdge = regexp.MustCompile(`(?m)^"([^"]+)" -> "([^"]+)"`)

// stepwise runs transitions from in, as settle does, keeping each one's
// summary and graph (crm_simulate -D), and writes the end state to out.
func stepwise(t *testing.T, in, out string) []step {
	t.Helper()
	playAttribute(t, in)
	cur := in
	var steps []step
	for i := 0; ; i++ {
		if i == 4 {
			t.Fatalf("still changing after %d transitions: %+v", i, steps)
		}
		dot := filepath.Join(t.TempDir(), fmt.Sprintf("t%d.dot", i))
		listening := listeningAt(t, cur)
		rep, err := cibtest.Run(t, "", "crm_simulate", "-x", cur, "-S", "-O", out, "-D", dot)
		if err != nil {
			t.Fatal(err)
		}
		g, err := cibtest.Run(t, "", "cat", dot)
		if err != nil {
			t.Fatal(err)
		}
		s := step{listening: listening, actions: cibtest.Actions(rep), before: map[string][]string{}}
		for _, m := range graphEdge.FindAllStringSubmatch(g, -1) {
			s.before[m[2]] = append(s.before[m[2]], m[1])
		}
		steps = append(steps, s)
		cur = out
		if !playAttribute(t, out) {
			return steps
		}
	}
}

// listeningAt lists the nodes of cib whose attribute says haproxy listens,
// but for those in standby.
func listeningAt(t *testing.T, cib string) []string {
	t.Helper()
	var l []string
	for _, n := range cibtest.Nodes(t, cib) {
		if cibtest.NodeAttr(t, cib, n, listeningAttr) != "1" {
			continue
		}
		if out, err := cibtest.Run(t, cib, "crm_attribute", "--node", n, "--name", "standby", "--query", "--quiet"); err == nil && strings.TrimSpace(out) == "on" {
			continue
		}
		l = append(l, n)
	}
	return l
}

// startsOn returns the nodes an action of a transition summary starts
// resource (a primitive's id, or a clone instance's "haproxy:") on: the
// node of a Start, Restart or Recover, the new node of a Move.
func startsOn(actions []string, resource string) []string {
	var n []string
	for _, a := range actions {
		f := strings.Fields(a)
		if len(f) < 4 || !(f[1] == resource || strings.HasSuffix(resource, ":") && strings.HasPrefix(f[1], resource)) {
			continue
		}
		switch f[0] {
		case "Start", "Restart", "Recover":
			n = append(n, f[3])
		case "Move":
			if len(f) >= 6 {
				n = append(n, f[5])
			}
		}
	}
	return n
}

// TestVIPGoesWhereHAProxyListens: whenever some node's haproxy listens, the
// VIP starts only on such a node, never on one whose haproxy starts in the
// same transition: a VIP that comes first answers `connection refused`
// until haproxy listens (docs/faults.md, fault 15: 5.77 s). Cases in
// crm_simulate, each transition checked: the cluster's first start (no node
// listens yet: the VIP starts at once, with haproxy), the VIP's node in
// standby as another node comes back in one change (the fault's
// transition: on three nodes the VIP goes to the third, whose haproxy
// listens; on two, where the returning node is the only one left, it goes
// there at once rather than wait for a later transition, which would wait
// for the old node's drain), and the VIP's node in standby with every
// other haproxy listening (it moves in the first transition). At the end
// the VIP runs with haproxy, on a node whose attribute says it listens.
func TestVIPGoesWhereHAProxyListens(t *testing.T) {
	for _, name := range []string{"testnet-two-node", "three-node-fenced"} {
		t.Run(name, func(t *testing.T) {
			dir, cib := loadRendered(t, name)
			nodes := nodesOf(t, dir)
			tmp := t.TempDir()
			check := func(t *testing.T, what string, steps []step, end string) {
				t.Helper()
				for i, s := range steps {
					vip := startsOn(s.actions, "api-vip")
					if len(vip) > 0 && len(s.listening) > 0 && !slices.Contains(s.listening, vip[0]) {
						t.Errorf("%s, transition %d: the VIP starts on %s while haproxy listens on %v: %q", what, i+1, vip[0], s.listening, s.actions)
					}
				}
				p := cibtest.Placement(t, end)
				if len(p["api-vip"]) != 1 {
					t.Fatalf("%s: api-vip on %v after %d transitions, want one node", what, p["api-vip"], len(steps))
				}
				on := p["api-vip"][0]
				if !slices.Contains(p["haproxy-clone"], on) || cibtest.NodeAttr(t, end, on, listeningAttr) != "1" {
					t.Errorf("%s: api-vip on %s, where haproxy runs: %t, %s=%q", what, on, slices.Contains(p["haproxy-clone"], on),
						listeningAttr, cibtest.NodeAttr(t, end, on, listeningAttr))
				}
			}
			movesFirst := func(t *testing.T, what string, steps []step) {
				t.Helper()
				if len(startsOn(steps[0].actions, "api-vip")) == 0 {
					t.Errorf("%s: the VIP did not start in the first transition: %q", what, steps[0].actions)
				}
			}

			// First start: nodes up, nothing running.
			start := filepath.Join(tmp, "start.xml")
			first := step{actions: cibtest.Actions(cibtest.Simulate(t, cib, start, nodes...))}
			up := filepath.Join(tmp, "up.xml")
			steps := append([]step{first}, stepwise(t, start, up)...)
			movesFirst(t, "first start", steps)
			check(t, "first start", steps, up)
			holder := cibtest.Placement(t, up)["api-vip"][0]

			// The VIP's node in standby as another comes back.
			back := nodes[0]
			if back == holder {
				back = nodes[1]
			}
			cibtest.Standby(t, up, back, true)
			away := filepath.Join(tmp, "away.xml")
			settle(t, up, away)
			cibtest.Standby(t, away, back, false)
			cibtest.Standby(t, away, holder, true)
			moved := filepath.Join(tmp, "moved.xml")
			steps = stepwise(t, away, moved)
			what := fmt.Sprintf("%s in standby as %s comes back", holder, back)
			if !slices.Contains(startsOn(steps[0].actions, "haproxy:"), back) {
				t.Errorf("%s: the first transition should start haproxy on %s; actions %q", what, back, steps[0].actions)
			}
			movesFirst(t, what, steps)
			check(t, what, steps, moved)
			if len(nodes) > 2 && cibtest.Placement(t, moved)["api-vip"][0] == back {
				t.Errorf("%s: the VIP went to %s, whose haproxy was starting, while another node's listened", what, back)
			}

			// The VIP's node in standby, every other haproxy listening.
			cibtest.Standby(t, moved, holder, false)
			again := filepath.Join(tmp, "again.xml")
			settle(t, moved, again)
			second := cibtest.Placement(t, again)["api-vip"][0]
			cibtest.Standby(t, again, second, true)
			last := filepath.Join(tmp, "last.xml")
			steps = stepwise(t, again, last)
			movesFirst(t, "standby of "+second, steps)
			check(t, "standby of "+second, steps, last)
		})
	}
}
