package render_test

import (
	"encoding/xml"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/stackha/stackha/internal/testutil/cibtest"
)

// statefulExample is the example with Galera and RabbitMQ on the
// controllers.
const statefulExample = "three-node-stateful"

// The example's services, by what they use.
var (
	dbOnly    = []string{"keystone", "glance-api", "placement-api"}
	withQueue = []string{"nova-api", "nova-metadata", "cinder-api", "neutron-server"}
)

// roles reads, from crm_mon, each clone's instances: node -> role.
func roles(t *testing.T, cib string) map[string]map[string]string {
	t.Helper()
	out, err := cibtest.Run(t, cib, "crm_mon", "-1", "--output-as=xml")
	if err != nil {
		t.Fatal(err)
	}
	var m struct {
		Clones []struct {
			ID        string `xml:"id,attr"`
			Instances []struct {
				Role  string `xml:"role,attr"`
				Nodes []struct {
					Name string `xml:"name,attr"`
				} `xml:"node"`
			} `xml:"resource"`
		} `xml:"resources>clone"`
	}
	if err := xml.Unmarshal([]byte(out), &m); err != nil {
		t.Fatalf("crm_mon: %v", err)
	}
	r := map[string]map[string]string{}
	for _, c := range m.Clones {
		r[c.ID] = map[string]string{}
		for _, i := range c.Instances {
			for _, n := range i.Nodes {
				r[c.ID][n.Name] = i.Role
			}
		}
	}
	return r
}

// on lists the nodes where a clone's instances have role (sorted).
func on(r map[string]map[string]string, clone, role string) []string {
	var n []string
	for node, ro := range r[clone] {
		if ro == role {
			n = append(n, node)
		}
	}
	sort.Strings(n)
	return n
}

// simulate runs the scheduler on in, writing the result to out and the
// transition graph to a DOT file; it returns the report and the graph's
// edges (from -> to, action names as crm_simulate writes them).
func simulate(t *testing.T, in, out string, extra ...string) (string, map[string][]string) {
	t.Helper()
	dot := out + ".dot"
	rep, err := cibtest.Run(t, "", "crm_simulate", append([]string{"-x", in, "-S", "-O", out, "-D", dot}, extra...)...)
	if err != nil {
		t.Fatal(err)
	}
	g, err := cibtest.Run(t, "", "cat", dot)
	if err != nil {
		t.Fatal(err)
	}
	edges := map[string][]string{}
	for _, m := range regexp.MustCompile(`(?m)^"([^"]+)" -> "([^"]+)"`).FindAllStringSubmatch(g, -1) {
		edges[m[1]] = append(edges[m[1]], m[2])
	}
	return rep, edges
}

// reaches reports whether the graph leads from action from to action to.
func reaches(edges map[string][]string, from, to string) bool {
	seen := map[string]bool{from: true}
	next := []string{from}
	for len(next) > 0 {
		a := next[0]
		next = next[1:]
		if a == to {
			return true
		}
		for _, b := range edges[a] {
			if !seen[b] {
				seen[b] = true
				next = append(next, b)
			}
		}
	}
	return false
}

// starts lists the start actions of a service's instances in a graph.
func starts(edges map[string][]string, svc string) []string {
	re := regexp.MustCompile(`^` + regexp.QuoteMeta(svc) + `(:\d+)?_start_0 \S+$`)
	var s []string
	seen := map[string]bool{}
	for a, bs := range edges {
		for _, x := range append([]string{a}, bs...) {
			if re.MatchString(x) && !seen[x] {
				seen[x] = true
				s = append(s, x)
			}
		}
	}
	return s
}

// setCIB runs a Pacemaker tool on a CIB file.
func setCIB(t *testing.T, cib, tool string, args ...string) {
	t.Helper()
	if _, err := cibtest.Run(t, cib, tool, args...); err != nil {
		t.Fatal(err)
	}
}

// TestStatefulOrder: in crm_simulate, on the stateful example, no API
// service starts before Galera is promoted somewhere, and none that uses
// the queue before RabbitMQ runs; once they run, the loss of the promoted
// Galera node or a failed Galera instance does not stop or restart them.
// crm_simulate does not run the galera agent, so the test sets the
// promotion score (master-galera) the agent sets on the node it bootstraps.
func TestStatefulOrder(t *testing.T) {
	dir, cib := loadRendered(t, statefulExample)
	nodes := nodesOf(t, dir)
	tmp := t.TempDir()

	// Every node up, RabbitMQ held stopped, no Galera node synced yet.
	setCIB(t, cib, "crm_resource", "--resource", "rabbitmq-clone", "--meta", "--set-parameter", "target-role", "--parameter-value", "Stopped")
	up := filepath.Join(tmp, "up.xml")
	cibtest.Simulate(t, cib, up, nodes...)
	r := roles(t, up)
	if got := on(r, "galera-clone", "Unpromoted"); !slices.Equal(got, nodes) {
		t.Errorf("galera unpromoted on %v, want every node %v", got, nodes)
	}
	for _, s := range append(slices.Clone(dbOnly), withQueue...) {
		if got := on(r, s+"-clone", "Started"); len(got) != 0 {
			t.Errorf("%s runs on %v before Galera is promoted anywhere", s, got)
		}
	}

	// The galera agent picks ctl-2 to bootstrap (its promotion score): it
	// is promoted, then the database-only services start on every node;
	// those using the queue still wait for RabbitMQ.
	setCIB(t, up, "crm_attribute", "--node", "ctl-2", "--name", "master-galera", "--update", "100", "--lifetime", "reboot")
	promoted := filepath.Join(tmp, "promoted.xml")
	_, edges := simulate(t, up, promoted)
	r = roles(t, promoted)
	if got := on(r, "galera-clone", "Promoted"); !slices.Equal(got, []string{"ctl-2"}) {
		t.Fatalf("galera promoted on %v, want [ctl-2]", got)
	}
	for _, s := range dbOnly {
		if got := on(r, s+"-clone", "Started"); !slices.Equal(got, nodes) {
			t.Errorf("%s runs on %v once Galera is promoted, want %v", s, got, nodes)
		}
		st := starts(edges, s)
		if len(st) != len(nodes) {
			t.Errorf("%s: %d starts in the graph, want %d", s, len(st), len(nodes))
		}
		for _, a := range st {
			if !reaches(edges, "galera_promote_0 ctl-2", a) {
				t.Errorf("%q does not wait for galera's promotion on ctl-2", a)
			}
		}
	}
	for _, s := range withQueue {
		if got := on(r, s+"-clone", "Started"); len(got) != 0 {
			t.Errorf("%s runs on %v with RabbitMQ stopped", s, got)
		}
	}

	// RabbitMQ allowed: it starts everywhere, then the services that use it.
	setCIB(t, promoted, "crm_resource", "--resource", "rabbitmq-clone", "--meta", "--set-parameter", "target-role", "--parameter-value", "Started")
	running := filepath.Join(tmp, "running.xml")
	_, edges = simulate(t, promoted, running)
	r = roles(t, running)
	if got := on(r, "rabbitmq-clone", "Started"); !slices.Equal(got, nodes) {
		t.Errorf("rabbitmq on %v, want %v", got, nodes)
	}
	rabbitStarts := starts(edges, "rabbitmq")
	if len(rabbitStarts) != len(nodes) {
		t.Errorf("rabbitmq starts %q, want one per node", rabbitStarts)
	}
	for _, s := range withQueue {
		if got := on(r, s+"-clone", "Started"); !slices.Equal(got, nodes) {
			t.Errorf("%s runs on %v, want %v", s, got, nodes)
		}
		for _, a := range starts(edges, s) {
			for _, rs := range rabbitStarts {
				if !reaches(edges, rs, a) {
					t.Errorf("%q does not wait for %q", a, rs)
				}
			}
		}
	}

	// The promoted node is lost (fenced): the services on the survivors
	// keep running, untouched (no promotion score elsewhere: Galera waits).
	lost := filepath.Join(tmp, "lost.xml")
	rep := cibtest.Fail(t, running, lost, "ctl-2")
	apis := append(slices.Clone(dbOnly), withQueue...)
	for _, a := range cibtest.Actions(rep) {
		for _, s := range apis {
			if strings.HasPrefix(a, "Stop "+s+":") && !strings.Contains(a, "( ctl-2 )") || strings.HasPrefix(a, "Restart "+s+":") {
				t.Errorf("loss of ctl-2: %q", a)
			}
		}
	}
	r = roles(t, lost)
	for _, s := range apis {
		if got := on(r, s+"-clone", "Started"); !slices.Equal(got, []string{"ctl-1", "ctl-3"}) {
			t.Errorf("after loss of ctl-2: %s on %v, want [ctl-1 ctl-3]", s, got)
		}
	}

	// A Galera instance fails on ctl-3 (its unpromoted monitor finds it
	// stopped): Galera recovers there, nothing else is touched.
	failed := filepath.Join(tmp, "failed.xml")
	rep, _ = simulate(t, running, failed, "-i", "galera_monitor_30000@ctl-3=7")
	for _, a := range cibtest.Actions(rep) {
		if !strings.HasPrefix(a, "Recover galera:") {
			t.Errorf("galera failing on ctl-3: %q", a)
		}
	}
	if len(cibtest.Actions(rep)) == 0 {
		t.Errorf("galera failing on ctl-3: no recovery; report:\n%s", rep)
	}
}
