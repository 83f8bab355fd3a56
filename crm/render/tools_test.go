package render_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stackha/stackha/internal/testutil/cibtest"
	"github.com/stackha/stackha/internal/testutil/require"
)

// agentsOf lists the ocf:stackha agents a crmsh file uses.
func agentsOf(crm string) []string {
	var a []string
	for _, m := range regexp.MustCompile(`(?m)^primitive \S+ ocf:stackha:(\S+)`).FindAllStringSubmatch(crm, -1) {
		if !slices.Contains(a, m[1]) {
			a = append(a, m[1])
		}
	}
	return a
}

// nodesOf lists the node names a topology example's nodes: section holds.
func nodesOf(t *testing.T, dir string) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "haproxy.cfg"))
	if err != nil {
		t.Fatal(err)
	}
	var n []string
	for _, m := range regexp.MustCompile(`(?m)^    server (\S+) `).FindAllStringSubmatch(string(b), -1) {
		if !slices.Contains(n, m[1]) {
			n = append(n, m[1])
		}
	}
	return n
}

// loadRendered loads an example's cluster.crm into an empty CIB and checks
// it with crm_verify. crmsh is slow to start: the load and the check run
// once per test binary for each rendered content (cibtest.Loaded), and the
// tests that read the same example get a copy of that CIB.
func loadRendered(t *testing.T, name string) (dir, cib string) {
	t.Helper()
	cibtest.Require(t)
	dir, files := renderExample(t, name)
	// An empty CIB has no quorum: with no-quorum-policy=stop crmsh says so.
	cib = cibtest.Loaded(t, t.TempDir(), filepath.Join(dir, "cluster.crm"), cibtest.AgentsInstalled(agentsOf(string(files["cluster.crm"]))...), cibtest.NoQuorum())
	return dir, cib
}

// Each example's tools run on files of their own: the examples run in
// parallel (here and in TestFailover, TestPCSMatchesCRM), so that the
// package's share of a busy machine's cores does not shrink to one.
func TestCRMLoadsAndVerifies(t *testing.T) {
	for name := range examples(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			loadRendered(t, name)
		})
	}
}

// fenceDevices maps each fencing device of a crmsh text to the node it
// fences (its location -inf constraint).
func fenceDevices(crm string) map[string]string {
	m := map[string]string{}
	for _, l := range regexp.MustCompile(`(?m)^location \S+ (\S+) -inf: (\S+)$`).FindAllStringSubmatch(crm, -1) {
		m[l[1]] = l[2]
	}
	return m
}

// TestFailover: in crm_simulate, every node up puts the VIP with a haproxy
// instance (haproxy and every API on every node, each fencing device off
// the node it fences); standby of the VIP's node moves the VIP, and what
// runs on the other nodes is not touched; bringing the node back moves
// nothing (stickiness). Then the VIP's node is lost: with fencing it is
// fenced, and the VIP moves to a survivor, again touching nothing else
// there; when it returns, nothing moves back. Every example runs it: two,
// three and five nodes, fenced and in the lab mode.
func TestFailover(t *testing.T) {
	t.Parallel()
	for name := range examples(t) {
		t.Run(name, func(t *testing.T) {
			if name == statefulExample {
				t.Skip("Galera is promoted by the master scores its agent sets, which crm_simulate does not run: TestStatefulOrder simulates this example")
			}
			if name == twoVIPsExample {
				t.Skip("two VIPs: TestFailoverTwoVIPs simulates this example")
			}
			t.Parallel()
			dir, cib := loadRendered(t, name)
			crm, err := os.ReadFile(filepath.Join(dir, "cluster.crm"))
			if err != nil {
				t.Fatal(err)
			}
			fences := fenceDevices(string(crm))
			nodes := nodesOf(t, dir)
			if len(nodes) < 2 {
				t.Fatalf("want two nodes or more, have %v", nodes)
			}
			tmp := t.TempDir()
			up := filepath.Join(tmp, "up.xml")
			settle(t, cib, up, nodes...)
			p := cibtest.Placement(t, up)
			for id, on := range p {
				if dev, ok := fences[id]; ok {
					if len(on) != 1 || on[0] == dev {
						t.Errorf("fencing device %s runs on %v: want one node, not %s", id, on, dev)
					}
					continue
				}
				if id != "api-vip" && !slices.Equal(on, nodes) {
					t.Errorf("%s runs on %v, want every node %v", id, on, nodes)
				}
			}
			if len(fences) != 0 && len(fences) != len(nodes) {
				t.Errorf("%d fencing devices for %d nodes", len(fences), len(nodes))
			}
			if len(p["api-vip"]) != 1 {
				t.Fatalf("api-vip runs on %v, want one node", p["api-vip"])
			}
			first := p["api-vip"][0]
			if !slices.Contains(p["haproxy-clone"], first) {
				t.Fatalf("api-vip on %s, haproxy on %v: not together", first, p["haproxy-clone"])
			}
			others := slices.DeleteFunc(slices.Clone(nodes), func(n string) bool { return n == first })
			untouched := func(t *testing.T, what string, rep string, survivors []string) {
				t.Helper()
				for _, a := range cibtest.Actions(rep) {
					for _, n := range survivors {
						if strings.Contains(a, "( "+n+" )") && !strings.HasPrefix(a, "Start fence") && !strings.HasPrefix(a, "Start api-vip ") || strings.HasPrefix(a, "Restart") {
							t.Errorf("%s touched a survivor: %q", what, a)
						}
					}
				}
			}

			// Standby of the VIP's node.
			cibtest.Standby(t, up, first, true)
			moved := filepath.Join(tmp, "moved.xml")
			rep := settle(t, up, moved)
			p = cibtest.Placement(t, moved)
			if len(p["api-vip"]) != 1 || !slices.Contains(others, p["api-vip"][0]) || !slices.Equal(p["haproxy-clone"], others) {
				t.Fatalf("after standby of %s: api-vip on %v, haproxy on %v; want the VIP on one of %v, haproxy on all of them", first, p["api-vip"], p["haproxy-clone"], others)
			}
			untouched(t, "standby of "+first, rep, others)
			second := p["api-vip"][0]

			// Back online: stickiness keeps the VIP where it is.
			cibtest.Standby(t, moved, first, false)
			back := filepath.Join(tmp, "back.xml")
			rep = settle(t, moved, back)
			p = cibtest.Placement(t, back)
			if !slices.Equal(p["api-vip"], []string{second}) {
				t.Errorf("after %s came back: api-vip on %v, want it to stay on %s", first, p["api-vip"], second)
			}
			if !slices.Equal(p["haproxy-clone"], nodes) {
				t.Errorf("after %s came back: haproxy on %v, want %v", first, p["haproxy-clone"], nodes)
			}
			for _, a := range cibtest.Actions(rep) {
				if !strings.HasPrefix(a, "Start") {
					t.Errorf("coming back caused more than starts on %s: %q", first, a)
				}
			}

			// The VIP's node is lost.
			survivors := slices.DeleteFunc(slices.Clone(nodes), func(n string) bool { return n == second })
			lost := filepath.Join(tmp, "lost.xml")
			rep = cibtest.Fail(t, back, lost, second)
			fenced := slices.ContainsFunc(cibtest.Actions(rep), func(a string) bool { return strings.HasPrefix(a, "Fence (reboot) "+second+" ") })
			if fenced != (len(fences) > 0) {
				t.Errorf("loss of %s: fenced %t, want %t (fencing devices: %v); actions %q", second, fenced, len(fences) > 0, fences, cibtest.Actions(rep))
			}
			p = cibtest.Placement(t, lost)
			if len(p["api-vip"]) != 1 || !slices.Contains(survivors, p["api-vip"][0]) || !slices.Equal(p["haproxy-clone"], survivors) {
				t.Fatalf("after loss of %s: api-vip on %v, haproxy on %v; want the VIP on one of %v, haproxy on all of them", second, p["api-vip"], p["haproxy-clone"], survivors)
			}
			untouched(t, "loss of "+second, rep, survivors)
			third := p["api-vip"][0]

			// It returns. Fenced, it was powered off: nothing moves back. In
			// the lab mode nobody made sure it stopped: its VIP counts as
			// still up there, active on two nodes (the split brain of a
			// real cut), and Pacemaker's recovery restarts the VIP.
			returned := filepath.Join(tmp, "returned.xml")
			rep = settle(t, lost, returned, second)
			p = cibtest.Placement(t, returned)
			if !slices.Equal(p["haproxy-clone"], nodes) || len(p["api-vip"]) != 1 {
				t.Errorf("after %s returned: api-vip on %v, haproxy on %v (want %v)", second, p["api-vip"], p["haproxy-clone"], nodes)
			}
			restarted := false
			for _, a := range cibtest.Actions(rep) {
				restarted = restarted || strings.HasPrefix(a, "Restart api-vip ")
				if !strings.HasPrefix(a, "Start") && !(!fenced && strings.HasPrefix(a, "Restart api-vip ")) {
					t.Errorf("the return of %s caused more than starts: %q", second, a)
				}
			}
			switch {
			case fenced && !slices.Equal(p["api-vip"], []string{third}):
				t.Errorf("after %s returned: api-vip on %v, want it to stay on %s", second, p["api-vip"], third)
			case !fenced && !restarted:
				t.Errorf("lab mode: the return of %s did not restart the VIP active on two nodes; actions %q", second, cibtest.Actions(rep))
			}
		})
	}
}

// TestOtherChoicesFail shows, in crm_simulate, the failure modes the
// comment in cluster.crm (and the README) describes for the choices not
// made: the how-to's order (VIP, then haproxy) restarts the survivor's
// haproxy on failover; a colocation the wrong way round leaves one haproxy.
func TestOtherChoicesFail(t *testing.T) {
	cibtest.Require(t)
	dir, files := renderExample(t, "seed")
	text := string(files["cluster.crm"])
	strict := cibtest.AgentsInstalled(agentsOf(text)...)
	nodes := nodesOf(t, dir)
	load := func(t *testing.T, crm string) string {
		f := filepath.Join(t.TempDir(), "alt.crm")
		if err := os.WriteFile(f, []byte(crm), 0o644); err != nil {
			t.Fatal(err)
		}
		cib := cibtest.Empty(t, t.TempDir(), "cib.xml")
		cibtest.Load(t, cib, f, strict)
		cibtest.Verify(t, cib)
		return cib
	}
	replace := func(t *testing.T, old, new string) string {
		if !strings.Contains(text, old) {
			t.Fatalf("cluster.crm has no %q", old)
		}
		return strings.Replace(text, old, new, 1)
	}

	t.Run("vip-then-haproxy", func(t *testing.T) {
		t.Parallel()
		// The seed's order instead of render's two between the VIP and
		// haproxy (with the VIP's start before haproxy's stop, it loops).
		crm := replace(t, "order vip-stops-before-haproxy Optional: api-vip:stop haproxy-clone:stop symmetrical=false",
			"order haproxy-after-IP Mandatory: api-vip haproxy-clone")
		crm = strings.Replace(crm, "order vip-starts-before-haproxy-stops Optional: api-vip:start haproxy-clone:stop symmetrical=false\n", "", 1)
		cib := load(t, crm)
		up := filepath.Join(t.TempDir(), "up.xml")
		settle(t, cib, up, nodes...)
		first := cibtest.Placement(t, up)["api-vip"][0]
		cibtest.Standby(t, up, first, true)
		rep := settle(t, up, filepath.Join(t.TempDir(), "moved.xml"))
		restarted := false
		for _, a := range cibtest.Actions(rep) {
			restarted = restarted || strings.HasPrefix(a, "Restart haproxy:")
		}
		if !restarted {
			t.Errorf("expected the survivor's haproxy to restart with the VIP-first order; actions: %q", cibtest.Actions(rep))
		}
	})
	t.Run("colocation-wrong-way", func(t *testing.T) {
		t.Parallel()
		cib := load(t, replace(t, "colocation vip-with-haproxy inf: api-vip haproxy-clone",
			"colocation haproxy-with-vip inf: haproxy-clone api-vip"))
		up := filepath.Join(t.TempDir(), "up.xml")
		settle(t, cib, up, nodes...)
		if on := cibtest.Placement(t, up)["haproxy-clone"]; len(on) != 1 {
			t.Errorf("haproxy on %v: expected the wrong-way colocation to pin it to one node", on)
		}
	})
}

// fakeLivePCS stands in for pcs on a live cluster: `pcs cluster cib FILE`
// hands out an empty CIB, `pcs cluster cib-push FILE --config` keeps a copy
// of what was pushed; everything else (pcs -f ...) is the real pcs.
const fakeLivePCS = `#!/usr/bin/env bash
case "$1 $2" in
"cluster cib") cibadmin --empty > "$3"; echo "cib $3" >> "$FAKE_LOG" ;;
"cluster cib-push") cp "$3" "$FAKE_PUSHED"; echo "push $4" >> "$FAKE_LOG" ;;
*) exec "$REAL_PCS" "$@" ;;
esac
`

// TestPCSMatchesCRM: cluster.pcs.sh, run by the real pcs, builds the same
// configuration as cluster.crm loaded by crmsh: into a CIB file (CIB_FILE)
// for every example, and pushed in one step to a (stand-in) live cluster
// for the lab topology's (crm/examples/seed.yaml).
func TestPCSMatchesCRM(t *testing.T) {
	require.Command(t, "pcs", "bash")
	realPCS, _ := exec.LookPath("pcs")
	t.Parallel()
	for name := range examples(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			dir, crmCIB := loadRendered(t, name)
			want := cibtest.Configuration(t, crmCIB)
			script := filepath.Join(dir, "cluster.pcs.sh")
			if out, err := exec.Command("bash", "-n", script).CombinedOutput(); err != nil {
				t.Fatalf("bash -n: %v\n%s", err, out)
			}
			crm, _ := os.ReadFile(filepath.Join(dir, "cluster.crm"))
			env := os.Environ()
			if !cibtest.AgentsInstalled(agentsOf(string(crm))...) {
				env = append(env, "PCS_FORCE=1")
			}
			run := func(t *testing.T, env []string) {
				cmd := exec.Command("bash", script)
				cmd.Env = env
				if out, err := cmd.CombinedOutput(); err != nil {
					t.Fatalf("cluster.pcs.sh: %v\n%s", err, out)
				}
			}

			t.Run("file", func(t *testing.T) {
				pcsCIB := cibtest.Empty(t, t.TempDir(), "pcs.xml")
				run(t, append(env, "CIB_FILE="+pcsCIB))
				cibtest.Verify(t, pcsCIB)
				if got := cibtest.Configuration(t, pcsCIB); got != want {
					t.Errorf("pcs and crm configurations differ:\n%s", lineDiff(want, got))
				}
			})
			if name != "seed" {
				return // the push path is the same script for every example: checked on seed.yaml
			}
			t.Run("live", func(t *testing.T) {
				bin, tmp := t.TempDir(), t.TempDir()
				if err := os.WriteFile(filepath.Join(bin, "pcs"), []byte(fakeLivePCS), 0o755); err != nil {
					t.Fatal(err)
				}
				log, pushed := filepath.Join(tmp, "log"), filepath.Join(tmp, "pushed.xml")
				run(t, append(env, "PATH="+bin+":"+os.Getenv("PATH"), "REAL_PCS="+realPCS, "FAKE_LOG="+log, "FAKE_PUSHED="+pushed))
				b, err := os.ReadFile(log)
				if err != nil {
					t.Fatal(err)
				}
				calls := strings.Split(strings.TrimSpace(string(b)), "\n")
				if len(calls) != 2 || !strings.HasPrefix(calls[0], "cib ") || calls[1] != "push --config" {
					t.Fatalf("live calls %q, want one `cluster cib` then one `cluster cib-push --config`", calls)
				}
				if _, err := os.Stat(strings.TrimPrefix(calls[0], "cib ")); !os.IsNotExist(err) {
					t.Errorf("the temporary CIB copy was left behind (%v)", err)
				}
				if got := cibtest.Configuration(t, pushed); got != want {
					t.Errorf("pushed and crm configurations differ:\n%s", lineDiff(want, got))
				}
			})
		})
	}
}

// TestHAProxyCheck: haproxy -c accepts every example's haproxy.cfg. The VIP
// is not an address of this machine; haproxy's check mode parses binds but
// does not bind, so this needs no non-local bind here.
func TestHAProxyCheck(t *testing.T) {
	require.Command(t, "haproxy")
	for name := range examples(t) {
		t.Run(name, func(t *testing.T) {
			dir, files := renderExample(t, name)
			cfg := filepath.Join(dir, "haproxy.cfg")
			if err := os.WriteFile(cfg, withTestCerts(t, files["haproxy.cfg"]), 0o644); err != nil {
				t.Fatal(err)
			}
			out, err := exec.Command("haproxy", "-c", "-f", cfg).CombinedOutput()
			if err != nil {
				t.Fatalf("haproxy -c: %v\n%s", err, out)
			}
			if strings.Contains(string(out), "WARNING") || strings.Contains(string(out), "ALERT") {
				t.Errorf("haproxy -c warns:\n%s", out)
			}
		})
	}
}

// seedLive is the how-to's own cluster configuration, as it builds it by
// hand.
const seedLive = `property cib-bootstrap-options: stonith-enabled=false no-quorum-policy=ignore
rsc_defaults rsc-options: resource-stickiness=100 failure-timeout=0 migration-threshold=10
primitive api-vip ocf:heartbeat:IPaddr2 params ip=10.10.102.45 cidr_netmask=24 op monitor interval=5s
primitive haproxy lsb:haproxy op monitor interval="5s"
colocation haproxy-with-vip INFINITY: haproxy api-vip
order haproxy-after-IP mandatory: api-vip haproxy
`

// TestMigrateFromSeed: on a cluster configured as in the how-to, deleting
// the how-to's two constraints and then loading cluster.crm gives exactly the
// rendered configuration. Without the delete, `load update` keeps them,
// pointed at the clone: the wrong-way colocation and an order loop (what
// the README and cluster.crm's header warn about).
func TestMigrateFromSeed(t *testing.T) {
	cibtest.Require(t)
	dir, fresh := loadRendered(t, "seed")
	crm := filepath.Join(dir, "cluster.crm")
	b, _ := os.ReadFile(crm)
	strict := cibtest.AgentsInstalled(agentsOf(string(b))...)
	seed := filepath.Join(t.TempDir(), "seed.crm")
	if err := os.WriteFile(seed, []byte(seedLive), 0o644); err != nil {
		t.Fatal(err)
	}
	lsbMissing := regexp.MustCompile(`lsb:haproxy`)

	t.Run("delete first", func(t *testing.T) {
		t.Parallel()
		cib := cibtest.Empty(t, t.TempDir(), "cib.xml")
		cibtest.Load(t, cib, seed, true, lsbMissing)
		if out, err := cibtest.Run(t, cib, "crm", "-F", "configure", "delete", "haproxy-with-vip", "haproxy-after-IP"); err != nil {
			t.Fatal(err, out)
		}
		cibtest.Load(t, cib, crm, strict, lsbMissing)
		cibtest.Verify(t, cib)
		if a, b := cibtest.Configuration(t, fresh), cibtest.Configuration(t, cib); a != b {
			t.Errorf("migrated configuration differs from a fresh one:\n%s", lineDiff(a, b))
		}
	})
	t.Run("without delete", func(t *testing.T) {
		t.Parallel()
		cib := cibtest.Empty(t, t.TempDir(), "cib.xml")
		cibtest.Load(t, cib, seed, true, lsbMissing)
		cibtest.Load(t, cib, crm, strict, lsbMissing)
		conf := cibtest.Configuration(t, cib)
		for _, w := range []string{"rsc_colocation id=haproxy-with-vip rsc=haproxy-clone", "rsc_order first=api-vip id=haproxy-after-IP then=haproxy-clone"} {
			if !strings.Contains(conf, w) {
				t.Errorf("expected the how-to's constraint to survive as %q; configuration:\n%s", w, conf)
			}
		}
	})
}

// TestDepth10BackendsExist: the backends haproxy's depth-10 monitor is told
// to require are backends of the rendered haproxy.cfg, and the legacy ones
// are not among them.
func TestDepth10BackendsExist(t *testing.T) {
	_, files := renderExample(t, "all-services")
	m := regexp.MustCompile(`check_level_10_backends="([^"]+)"`).FindStringSubmatch(string(files["cluster.crm"]))
	if m == nil {
		t.Fatal("all-services (haproxy monitor_depth 10) sets no check_level_10_backends")
	}
	cfg := string(files["haproxy.cfg"])
	for _, be := range strings.Split(m[1], ",") {
		if !strings.Contains(cfg, "\nbackend "+be+"\n") {
			t.Errorf("check_level_10_backends names %s, which haproxy.cfg does not have", be)
		}
	}
	for _, legacy := range []string{"keystone-admin-api", "nova-ec2-api"} {
		if !strings.Contains(cfg, "\nbackend "+legacy+"\n") {
			t.Errorf("haproxy.cfg lacks the legacy backend %s", legacy)
		}
		if strings.Contains(m[1], legacy) {
			t.Errorf("check_level_10_backends requires the legacy backend %s", legacy)
		}
	}
}

// TestVIPMoveWaitsForNoDrain: the VIP's start on its new node depends on
// nothing of haproxy's, in the transition where it matters most: the VIP's
// node goes into standby while another node comes back (one CIB change, so
// one transition that both stops haproxy on the old holder and starts it on
// the returning node). haproxy's stop on the old holder is its soft stop,
// which waits for the sessions it holds up to stop_timeout (30 s); a VIP
// start behind it leaves no node answering for the VIP that long. With
// `order haproxy-clone then api-vip` the chain was: api-vip stop, the
// clone's stop, haproxy's stop (the drain), the clone's stopped, the
// clone's start, haproxy's start on the returning node, the clone's
// running, and only then api-vip's start (docs/faults.md, fault 14). The
// VIP must start in that first transition, on two nodes too (the returning
// node is the only one left): the next transition begins only once the
// first has finished, drain included.
//
// Two examples (two nodes, three with fencing): every example renders the
// same constraints (TestGolden), and each crmsh load costs seconds, which
// crm/render's run under go test's default 10-minute timeout cannot spare
// on a busy machine.
func TestVIPMoveWaitsForNoDrain(t *testing.T) {
	for _, name := range []string{"testnet-two-node", "three-node-fenced"} {
		t.Run(name, func(t *testing.T) {
			dir, cib := loadRendered(t, name)
			nodes := nodesOf(t, dir)
			tmp := t.TempDir()
			up := filepath.Join(tmp, "up.xml")
			settle(t, cib, up, nodes...)
			holder := cibtest.Placement(t, up)["api-vip"][0]
			back := nodes[0]
			if back == holder {
				back = nodes[1]
			}
			cibtest.Standby(t, up, back, true)
			away := filepath.Join(tmp, "away.xml")
			settle(t, up, away)
			cibtest.Standby(t, away, back, false)
			cibtest.Standby(t, away, holder, true)
			steps := stepwise(t, away, filepath.Join(tmp, "moved.xml"))
			if !slices.Contains(startsOn(steps[0].actions, "haproxy:"), back) || len(startsOn(steps[0].actions, "api-vip")) == 0 {
				t.Fatalf("the first transition should move the VIP off %s and start haproxy on %s; actions %q", holder, back, steps[0].actions)
			}
			before := steps[0].before // action -> the actions it waits for
			start := ""
			for a := range before {
				if strings.HasPrefix(a, "api-vip_start_0 ") {
					start = a
				}
			}
			if start == "" {
				t.Fatalf("no api-vip start in the first transition's graph: %v", before)
			}
			if waits := waitsFor(before, start); slices.ContainsFunc(waits, func(a string) bool { return strings.HasPrefix(a, "haproxy") }) {
				t.Errorf("%s waits for %q: a haproxy stop among them is a drain (up to stop_timeout) with no node holding the VIP", start, waits)
			}
			// A throttled controller runs one action at a time: every
			// stop on the old holder waits for the VIP's start, or it
			// may run first, and the VIP wait for its drain.
			stops := 0
			for a := range before {
				if !strings.HasSuffix(a, "_stop_0 "+holder) || strings.HasPrefix(a, "api-vip") || strings.HasPrefix(a, "fence-") {
					continue
				}
				stops++
				if !slices.Contains(waitsFor(before, a), start) {
					t.Errorf("%s does not wait for %s: with the controller throttled to one action at a time it may run first, and the VIP wait for it with no node answering", a, start)
				}
			}
			if stops < 2 {
				t.Errorf("the first transition stops %d resources on %s, want haproxy and the API services: %v", stops, holder, steps[0].actions)
			}
		})
	}
}

// waitsFor returns the actions a waits for, directly or not, sorted.
func waitsFor(before map[string][]string, a string) []string {
	var waits []string
	seen := map[string]bool{}
	var walk func(a string)
	walk = func(a string) {
		for _, b := range before[a] {
			if !seen[b] {
				seen[b] = true
				waits = append(waits, b)
				walk(b)
			}
		}
	}
	walk(a)
	slices.Sort(waits)
	return waits
}
