package cluster

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stackha/stackha/internal/testutil/nodelock"
	"github.com/stackha/stackha/internal/testutil/require"
	"github.com/stackha/stackha/test/cluster/harness"
)

func requireCluster(t *testing.T) {
	t.Helper()
	require.Root(t)
	require.Command(t, "corosync", "pacemakerd", "crm", "crm_mon", "cibadmin", "crm_attribute", "crm_resource",
		"haproxy", "keystone-manage", "uwsgi_python3", "setpriv", "sqlite3", "nsenter", "ip", "bridge")
	require.File(t, "/usr/lib/ocf/resource.d/heartbeat/IPaddr2", "/usr/lib/ocf/resource.d/heartbeat/anything")
}

// buildStackha builds the stackha binary into a temporary directory
// ($SHC_STACKHA names a binary built elsewhere instead).
func buildStackha(t *testing.T) string {
	t.Helper()
	if bin := os.Getenv("SHC_STACKHA"); bin != "" {
		return bin
	}
	bin := filepath.Join(t.TempDir(), "stackha")
	cmd := exec.Command("go", "build", "-o", bin, "github.com/stackha/stackha/cmd/stackha")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building stackha: %v\n%s", err, out)
	}
	return bin
}

// testSets are the agent sets the cluster tests run: SHC_AGENTS=stackha,
// heartbeat or both; by default stackha's when the binary offers its vip
// or haproxy agent, else the heartbeat set (so the harness itself is
// always exercised).
func testSets(t *testing.T) []harness.AgentSet {
	t.Helper()
	ctx := context.Background()
	which := os.Getenv("SHC_AGENTS")
	var sets []harness.AgentSet
	if which == "" || which == "both" || which == "heartbeat" {
		sets = append(sets, harness.Heartbeat())
	}
	if which == "" || which == "both" || which == "stackha" {
		set, err := harness.Stackha(ctx, buildStackha(t))
		switch {
		case err == nil && which == "":
			sets = []harness.AgentSet{set}
		case err == nil:
			sets = append(sets, set)
		case which == "stackha":
			t.Fatalf("SHC_AGENTS=stackha: %v", err)
		default:
			t.Logf("stackha's agents are not there yet (%v): running the heartbeat set", err)
		}
	}
	return sets
}

// up brings a cluster up for a test, torn down (and leak-checked) by
// t.Cleanup even when the test fails. Its logs go to the test's output
// directory on failure.
func up(t *testing.T, ctx context.Context, opts harness.Options) *harness.Cluster {
	t.Helper()
	opts.Log = testWriter{t}
	if opts.Load == nil {
		opts.Load = harness.LoadFromEnv()
	}
	opts.NoDrain = opts.NoDrain || os.Getenv("SHC_DRAIN") == "0"
	if l, err := strconv.Atoi(os.Getenv("SHC_BATCH_LIMIT")); err == nil && l > 0 && l <= 64 {
		opts.BatchLimit = l
	}
	logs := t.TempDir()
	opts.LogDir = logs
	// After the teardown (cleanups run last first), before the logs'
	// removal: a cluster that failed to come up keeps its logs too.
	t.Cleanup(func() {
		// SHC_LOGS_ALWAYS=1: a passing run's logs too (to compare).
		if t.Failed() || os.Getenv("SHC_LOGS_ALWAYS") == "1" {
			if dst := os.Getenv("SHC_LOGS"); dst != "" {
				exec.Command("cp", "-a", logs, filepath.Join(dst, strings.ReplaceAll(t.Name(), "/", "_"))).Run()
			}
		}
	})
	c, err := harness.Up(ctx, opts)
	nodelock.Check(t, "bringing the cluster up", err)
	if w := os.Getenv("SHC_WATCH"); w == "1" || w == "0" {
		defer setWatchers(t, ctx, c, opts.Agents, w == "1")
	}
	t.Cleanup(func() {
		if err := c.Close(); err != nil {
			t.Errorf("teardown: %v", err)
		}
	})
	nodelock.Budget(t, 2*time.Minute) // any test on a cluster, its teardown included
	return c
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// shape is one cluster TestFaults brings up, and the faults it runs there.
type shape struct {
	opts   harness.Options
	faults map[int]bool // nil: every fault (those that do not apply skip)
}

// faultShapes are the clusters TestFaults runs, for agent set set:
//   - SHC_NODES=2|3 and/or SHC_FENCING=1 given: that one shape, every fault
//     (keystone on in lab mode, as before).
//   - SHC_MATRIX=1 (make cluster-faults): the lab two-node cluster with
//     keystone (faults 1-8 and 14), then three nodes with fencing and two
//     nodes with fencing, every fault on each.
//   - default (make check): the lab cluster with keystone, faults 1-8;
//     three nodes with fencing, faults 9, 10, 11, 13, 14 and 15; two nodes
//     with fencing, faults 12 and 14. Fault 15 needs a third node and
//     render's haproxy-listening preference (it skips elsewhere). With stackha's agents the three
//     fenced nodes run keystone too, so the cluster loads what `stackha
//     render` writes for the production shape, fence devices included, and
//     the rolling restart there shows haproxy replaying the reads a
//     stopping keystone dropped (docs/faults.md). The other fenced clusters
//     run without keystone (the client asks haproxy's whoami frontend
//     through the VIP): lighter, and fencing does not depend on what
//     haproxy balances.
//   - SHC_NODES_KIND=systemd (make cluster-systemd, a step of make
//     check): the production shape on nodes that boot systemd, each on an
//     overlay of the machine's root (test/sysnode: a systemd booted on the
//     root itself would run systemd-tmpfiles and wipe the machine's /tmp),
//     what render writes with corosync, Pacemaker, keystone and the
//     services of SHC_SERVICES from their Debian units: three fenced nodes
//     with faults 9, 10, 11, 13, 14 and 15, two with fault 12; with
//     SHC_NODES or SHC_FENCING, that one shape with every fault.
func faultShapes(set harness.AgentSet, kind harness.NodeKind) []shape {
	nodes, _ := strconv.Atoi(os.Getenv("SHC_NODES"))
	fencing := os.Getenv("SHC_FENCING") == "1"
	if kind == harness.SystemdNodes && os.Getenv("SHC_STATEFUL") == "1" {
		// The stateful tier (make cluster-stateful): three fenced nodes,
		// Galera and RabbitMQ, keystone on Galera.
		return []shape{{opts: harness.Options{Agents: set, Nodes: 3, Fencing: true, Keystone: true, Kind: kind, Stateful: true, Services: statefulServices()},
			faults: statefulFaults()}}
	}
	if kind == harness.SystemdNodes && os.Getenv("SHC_KEEPALIVED") == "1" {
		// The comparison (make bench-maintenance): keepalived + haproxy
		// and the same services from their units, fault 14.
		return []shape{{opts: harness.Options{Agents: set, Nodes: 3, Keystone: true, Kind: kind, Services: services(), Keepalived: true},
			faults: map[int]bool{14: true}}}
	}
	if kind == harness.SystemdNodes {
		// Systemd nodes run what render writes, keystone included; the
		// front door with SHC_TLS=1 (not on two nodes: fault 12's shape).
		tls := os.Getenv("SHC_TLS") == "1" && set.Render
		if nodes != 0 || fencing {
			return []shape{{opts: harness.Options{Agents: set, Nodes: max(nodes, 2), Fencing: fencing, Keystone: true, Kind: kind, Services: services(), TLS: tls}}}
		}
		three := shape{opts: harness.Options{Agents: set, Nodes: 3, Fencing: true, Keystone: true, Kind: kind, Services: services(), TLS: tls},
			faults: map[int]bool{9: true, 10: true, 11: true, 13: true, 14: true, 15: true, 21: tls}}
		return []shape{
			three,
			{opts: harness.Options{Agents: set, Nodes: 2, Fencing: true, Keystone: true, Kind: kind}, faults: map[int]bool{12: true}},
		}
	}
	if nodes != 0 || fencing {
		if nodes == 0 {
			nodes = 2
		}
		keystone := !fencing || (nodes == 3 && set.Render)
		return []shape{{opts: harness.Options{Agents: set, Nodes: nodes, Fencing: fencing, Keystone: keystone,
			TLS: keystone && set.Render && os.Getenv("SHC_TLS") == "1"}}}
	}
	lab := shape{opts: harness.Options{Agents: set, Keystone: true}}
	if os.Getenv("SHC_MATRIX") == "1" {
		return []shape{lab, {opts: harness.Options{Agents: set, Nodes: 3, Fencing: true}}, {opts: harness.Options{Agents: set, Nodes: 2, Fencing: true}}}
	}
	lab.faults = map[int]bool{1: true, 2: true, 3: true, 4: true, 5: true, 6: true, 7: true, 8: true}
	// The three fenced nodes have the front door (TLS on the public VIP,
	// an internal VIP) unless SHC_TLS=0: faults 1-4 and 21 run there too.
	fenced := shape{opts: harness.Options{Agents: set, Nodes: 3, Fencing: true, Keystone: set.Render, TLS: set.Render && os.Getenv("SHC_TLS") != "0"},
		faults: map[int]bool{9: true, 10: true, 11: true, 13: true, 14: true, 15: true}}
	if fenced.opts.TLS {
		for _, id := range []int{1, 2, 3, 4, 21} {
			fenced.faults[id] = true
		}
	}
	return []shape{lab, fenced,
		{opts: harness.Options{Agents: set, Nodes: 2, Fencing: true}, faults: map[int]bool{12: true, 14: true}},
	}
}

// services are the API services besides keystone that systemd nodes run:
// $SHC_SERVICES (comma-separated, "none" for keystone alone), by default
// harness.DefaultServices (placement-api; cinder-api, glance-api on request).
func services() []string {
	switch v := os.Getenv("SHC_SERVICES"); v {
	case "":
		return harness.DefaultServices
	case "none":
		return nil
	default:
		return strings.Split(v, ",")
	}
}

// TestFaults runs the faults of the issues on the clusters of faultShapes,
// per agent set, each with a client requesting through the VIP and the
// split-brain watcher on, and writes the results table (to $SHC_RESULTS
// when set). SHC_FAULTS=1,3 selects faults on every shape.
func TestFaults(t *testing.T) {
	requireCluster(t)
	only := map[int]bool{}
	for _, f := range strings.Split(os.Getenv("SHC_FAULTS"), ",") {
		if id, err := strconv.Atoi(strings.TrimSpace(f)); err == nil {
			only[id] = true
		}
	}
	kind, err := harness.NodesKindFromEnv()
	if err != nil {
		t.Fatal(err)
	}
	if kind == harness.SystemdNodes {
		// The units the nodes run, as Debian 12 ships them.
		for _, u := range []string{"corosync", "pacemaker", "keystone"} {
			require.File(t, "/lib/systemd/system/"+u+".service")
		}
		for _, s := range services() {
			require.File(t, "/lib/systemd/system/"+harness.UnitOf(s))
		}
		require.File(t, "/lib/systemd/systemd")
		require.Command(t, "runuser", "systemctl", "journalctl")
		if os.Getenv("SHC_KEEPALIVED") == "1" {
			require.Command(t, "keepalived", "socat")
		}
	}
	var all []FaultResult
	var frontDoor []string
	for _, set := range testSets(t) {
		for _, sh := range faultShapes(set, kind) {
			sel := sh.faults
			if len(only) > 0 {
				sel = only
			}
			setup := Setup{Set: set, Nodes: max(sh.opts.Nodes, 2), Fencing: sh.opts.Fencing, Keystone: sh.opts.Keystone, Kind: sh.opts.Kind, Stateful: sh.opts.Stateful,
				Heat: slices.Contains(sh.opts.Services, "heat-api"), Keepalived: sh.opts.Keepalived, TLS: sh.opts.TLS}
			if !anyApplies(setup, sel) {
				continue
			}
			t.Run(strings.NewReplacer(", ", "_", " ", "-").Replace(setup.Label()), func(t *testing.T) {
				ctx, cancel := context.WithTimeout(context.Background(), time.Duration(max(repeat(), 1))*20*time.Minute)
				defer cancel()
				if set.Note != "" {
					t.Logf("agents: %s", set.Note)
				}
				c := up(t, ctx, sh.opts)
				nodelock.Budget(t, time.Duration(max(repeat(), 1)*applying(setup, sel))*faultBudget)
				if c.TLS() {
					frontDoor = append(frontDoor, checkFrontDoor(t, ctx, c, setup)...)
				}
				// SHC_REPEAT=N: the selected faults N times on this cluster
				// (make bench-rolling), one row per run.
				var rows []FaultResult
				for rep := 0; rep < max(repeat(), 1); rep++ {
					rows = append(rows, RunFaults(ctx, c, sel, testWriter{t})...)
				}
				all = append(all, rows...)
				for _, r := range rows {
					if !r.OK {
						t.Errorf("fault %d (%s), %s: %s", r.ID, r.Name, r.Set, rowText(r))
					}
				}
				if len(sel) == 0 && repeat() <= 1 && len(rows) != len(Faults) {
					t.Errorf("ran %d of %d faults", len(rows), len(Faults))
				}
			})
		}
	}
	table := FormatResults(all) + Worst(all)
	if len(frontDoor) > 0 {
		table += "\nThe front door:\n" + strings.Join(frontDoor, "\n") + "\n"
	}
	t.Logf("results:\n%s", table)
	if dst := os.Getenv("SHC_RESULTS"); dst != "" {
		if err := os.WriteFile(dst, []byte(table), 0o644); err != nil {
			t.Errorf("writing the results: %v", err)
		}
	}
}

// anyApplies reports whether a fault of sel (nil: any) runs on setup.
// faultBudget is about what one fault takes on a cluster, its settling
// included (the longest, a rolling restart, about 50 s; most 10-25 s).
const faultBudget = 30 * time.Second

// applying counts the faults of sel (every fault when nil) that run on
// setup.
func applying(setup Setup, sel map[int]bool) int {
	n := 0
	for _, f := range Faults {
		if exp, _ := f.Expect(setup); (sel == nil || sel[f.ID]) && exp != Skip {
			n++
		}
	}
	return n
}

func anyApplies(setup Setup, sel map[int]bool) bool {
	for _, f := range Faults {
		if exp, _ := f.Expect(setup); (sel == nil || sel[f.ID]) && exp != Skip {
			return true
		}
	}
	return false
}

// repeat is $SHC_REPEAT (0 when unset).
func repeat() int {
	n, _ := strconv.Atoi(os.Getenv("SHC_REPEAT"))
	return n
}

// statefulFaults are the faults the stateful shape runs: $SHC_FAULTS
// overrides them as on every shape.
func statefulFaults() map[int]bool {
	return map[int]bool{16: true, 17: true, 18: true, 19: true, 20: true}
}

// statefulServices are the services the stateful tier runs besides
// keystone: heat-api (with heat-engine), unless SHC_SERVICES=none.
func statefulServices() []string {
	if os.Getenv("SHC_SERVICES") == "none" {
		return nil
	}
	return []string{"heat-api"}
}

// checkFrontDoor runs FrontDoor on a cluster with TLS, fails the test on
// what failed, and returns its lines for the results, labelled.
func checkFrontDoor(t *testing.T, ctx context.Context, c *harness.Cluster, setup Setup) []string {
	t.Helper()
	cl, err := harness.NewClient(harness.ClientNetNS(), 2)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	lines, errs := FrontDoor(ctx, c, cl)
	for _, err := range errs {
		t.Errorf("front door, %s: %v", setup.Label(), err)
	}
	return append([]string{setup.Label() + ":"}, lines...)
}
