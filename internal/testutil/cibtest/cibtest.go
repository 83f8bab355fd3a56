// Package cibtest drives Pacemaker's and crmsh's own tools on CIB files, for
// tests: load crmsh text into an empty CIB, crm_verify it, bring nodes up
// and move them in crm_simulate, and read where each resource runs. No
// cluster is needed: every tool works on a file (CIB_file).
package cibtest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/xml"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stackha/stackha/internal/testutil/require"
)

// Tools are the programs this package runs.
var Tools = []string{"cibadmin", "crm", "crm_verify", "crm_simulate", "crm_attribute", "crm_mon"}

// Require makes the test need the tools (skip outside CI, fail in it), and
// root: crmsh appends to /var/log/crmsh/crmsh.log on every run and fails
// without it, even on a CIB file (Pacemaker's own tools and pcs do not need
// root here).
func Require(t testing.TB) {
	t.Helper()
	require.Command(t, Tools...)
	require.Root(t)
}

// AgentsInstalled reports whether every named ocf:stackha agent is
// installed where Pacemaker looks for it; crmsh and pcs then check the
// parameters against the agents' meta-data.
func AgentsInstalled(agents ...string) bool {
	for _, a := range agents {
		if _, err := os.Stat(filepath.Join("/usr/lib/ocf/resource.d/stackha", a)); err != nil {
			return false
		}
	}
	return true
}

// Run runs a tool with CIB_file=cib (when cib is not ""), bounded in time,
// and returns its combined output.
func Run(t testing.TB, cib string, name string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = os.Environ()
	if cib != "" {
		cmd.Env = append(cmd.Env, "CIB_file="+cib)
	}
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	err := cmd.Run()
	if err != nil {
		err = fmt.Errorf("%s %s: %w\n%s", name, strings.Join(args, " "), err, out.String())
	}
	return out.String(), err
}

// Empty writes an empty CIB into dir and returns its path.
func Empty(t testing.TB, dir, name string) string {
	t.Helper()
	out, err := Run(t, "", "cibadmin", "--empty")
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(out), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

var ansi = lazy(`\x1b\[[0-9;]*m`)

// missingAgent is what crmsh says of an agent that is not installed.
var missingAgent = lazy(`ocf:stackha:[a-z-]+: (got no meta-data, does this RA exist\?|no such resource agent)`)

// lazy compiles a regular expression on first use (no work at init).
func lazy(expr string) func() *regexp.Regexp {
	return sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(expr) })
}

// NoFencing matches what crmsh's check after a commit prints for a CIB
// with resources but neither a fencing device nor stonith-enabled=false.
var NoFencing = lazy(`(no STONITH resources have been defined|disable STONITH with the stonith-enabled option|Clusters with shared data need STONITH|crm_verify: Errors found during check: config not valid)`)

// NoQuorum matches crmsh's note on a CIB without no-quorum-policy, before
// the cluster has formed.
var NoQuorum = lazy(`resource management disabled due to lack of quorum`)

// Load loads a crmsh file into cib with `crm -F configure load update`.
// Any ERROR crmsh prints fails the test, except, when strictAgents is
// false, that an ocf:stackha agent is not installed here, and what allow
// matches.
//
// Under STACKHA_AGENTS_INSTALLED=1 (crm/strict-check.sh) the agents must be
// installed: a non-strict load fails.
func Load(t testing.TB, cib, file string, strictAgents bool, allow ...*regexp.Regexp) {
	t.Helper()
	if !strictAgents && os.Getenv("STACKHA_AGENTS_INSTALLED") == "1" {
		t.Fatalf("STACKHA_AGENTS_INSTALLED=1 but the stackha agents %s uses are not all in /usr/lib/ocf/resource.d/stackha", filepath.Base(file))
	}
	out, err := Run(t, cib, "crm", "-F", "configure", "load", "update", file)
	if err != nil {
		t.Fatalf("loading %s: %v", filepath.Base(file), err)
	}
	for _, l := range strings.Split(ansi().ReplaceAllString(out, ""), "\n") {
		if !strings.Contains(l, "ERROR") {
			continue
		}
		if !strictAgents && missingAgent().MatchString(l) || slices.ContainsFunc(allow, func(re *regexp.Regexp) bool { return re.MatchString(l) }) {
			continue
		}
		t.Errorf("loading %s: crm says: %s", filepath.Base(file), l)
	}
}

// Verify runs crm_verify on cib; it must pass without an error.
func Verify(t testing.TB, cib string) {
	t.Helper()
	if out, err := Run(t, "", "crm_verify", "-x", cib); err != nil {
		t.Fatalf("crm_verify: %v", err)
	} else if strings.Contains(out, "error") {
		t.Fatalf("crm_verify reports: %s", out)
	}
}

// loaded caches, per test binary, the CIBs Loaded made: by the content of
// the crmsh file and how it was loaded.
var loaded sync.Map // key -> *loadedCIB

type loadedCIB struct {
	mu  sync.Mutex
	cib []byte // nil until a load passed
}

// Loaded writes into dir/cib.xml the CIB that loading file into an empty
// CIB makes (Load with strictAgents and allow, then Verify), and returns
// its path. Each test binary runs crmsh and crm_verify once per content:
// a later call for a file with the same bytes, loaded the same way, gets a
// copy of the CIB the first call checked. Only a load in a test that has not
// failed is kept: after a failure the next caller loads again and reports for itself.
func Loaded(t testing.TB, dir, file string, strictAgents bool, allow ...*regexp.Regexp) string {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.New()
	fmt.Fprintf(h, "%d %t %d\n", len(b), strictAgents, len(allow))
	h.Write(b)
	for _, re := range allow {
		fmt.Fprintf(h, "\n%d %s", len(re.String()), re.String())
	}
	e, _ := loaded.LoadOrStore(string(h.Sum(nil)), &loadedCIB{})
	c := e.(*loadedCIB)
	c.mu.Lock()
	defer c.mu.Unlock()
	p := filepath.Join(dir, "cib.xml")
	if c.cib != nil {
		if err := os.WriteFile(p, c.cib, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	Empty(t, dir, "cib.xml")
	Load(t, p, file, strictAgents, allow...)
	Verify(t, p)
	if t.Failed() { // this load's errors, or the test's earlier ones: keep nothing
		return p
	}
	if c.cib, err = os.ReadFile(p); err != nil {
		t.Fatal(err)
	}
	return p
}

// Simulate runs the scheduler on in (bringing nodes up, and giving the
// cluster quorum, when nodes are given) and writes the resulting CIB to
// out; it returns crm_simulate's report.
func Simulate(t testing.TB, in, out string, up ...string) string {
	t.Helper()
	args := []string{"-x", in, "-S", "-O", out}
	for _, n := range up {
		args = append(args, "-u", n)
	}
	if len(up) > 0 {
		args = append(args, "-q", "true")
	}
	rep, err := Run(t, "", "crm_simulate", args...)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

// Fail runs the scheduler on in with node failed (lost from the cluster,
// as on a crash or a cut) and writes the resulting CIB to out; it returns
// crm_simulate's report. With fencing on, the transition fences the node
// first (the simulation reports the fencing as done).
func Fail(t testing.TB, in, out, node string) string {
	t.Helper()
	rep, err := Run(t, "", "crm_simulate", "-x", in, "-S", "-O", out, "--node-fail", node)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

// Standby sets a node's standby attribute in cib.
func Standby(t testing.TB, cib, node string, on bool) {
	t.Helper()
	v := "off"
	if on {
		v = "on"
	}
	if _, err := Run(t, cib, "crm_attribute", "--node", node, "--name", "standby", "--update", v); err != nil {
		t.Fatal(err)
	}
}

type monResource struct {
	ID    string `xml:"id,attr"`
	Role  string `xml:"role,attr"`
	Nodes []struct {
		Name string `xml:"name,attr"`
	} `xml:"node"`
}

type monResult struct {
	Resources struct {
		Resource []monResource `xml:"resource"`
		Clone    []struct {
			ID       string        `xml:"id,attr"`
			Resource []monResource `xml:"resource"`
		} `xml:"clone"`
	} `xml:"resources"`
}

// Placement reads where each resource runs in cib: the sorted node names
// by resource id (a clone by its clone id).
func Placement(t testing.TB, cib string) map[string][]string {
	t.Helper()
	out, err := Run(t, cib, "crm_mon", "-1", "--output-as=xml")
	if err != nil {
		t.Fatal(err)
	}
	var m monResult
	if err := xml.Unmarshal([]byte(out), &m); err != nil {
		t.Fatalf("crm_mon output: %v\n%s", err, out)
	}
	p := map[string][]string{}
	add := func(id string, rs []monResource) {
		p[id] = []string{}
		for _, r := range rs {
			if r.Role != "Started" {
				continue
			}
			for _, n := range r.Nodes {
				p[id] = append(p[id], n.Name)
			}
		}
		sort.Strings(p[id])
	}
	for _, r := range m.Resources.Resource {
		add(r.ID, []monResource{r})
	}
	for _, c := range m.Resources.Clone {
		add(c.ID, c.Resource)
	}
	return p
}

// Actions lists the transition summary lines of a crm_simulate report
// ("Move api-vip ( n1 -> n2 )", "Restart haproxy:1 ( n2 ) due to ...").
func Actions(report string) []string {
	var a []string
	in := false
	for _, l := range strings.Split(report, "\n") {
		switch {
		case strings.HasPrefix(l, "Transition Summary:"):
			in = true
		case in && strings.HasPrefix(strings.TrimSpace(l), "* "):
			a = append(a, strings.Join(strings.Fields(strings.TrimPrefix(strings.TrimSpace(l), "* ")), " "))
		case in && strings.TrimSpace(l) != "":
			in = false
		}
	}
	return a
}

// element is a generic XML element.
type element struct {
	XMLName  xml.Name
	Attrs    []xml.Attr `xml:",any,attr"`
	Children []element  `xml:",any"`
}

// Configuration returns cib's <configuration> in a canonical text form, for
// comparing two CIBs built by different tools: the ids tools make up, the
// order of elements and of attributes, and attributes at their default
// value are left out.
func Configuration(t testing.TB, cib string) string {
	t.Helper()
	b, err := os.ReadFile(cib)
	if err != nil {
		t.Fatal(err)
	}
	var root element
	if err := xml.Unmarshal(b, &root); err != nil {
		t.Fatalf("%s: %v", cib, err)
	}
	for _, c := range root.Children {
		if c.XMLName.Local == "configuration" {
			return canonical(c, "")
		}
	}
	t.Fatalf("%s: no configuration", cib)
	return ""
}

// namedByOperator are the elements whose ids the configuration chooses
// (the others' ids are made up by each tool).
var namedByOperator = map[string]bool{
	"primitive": true, "clone": true, "group": true,
	"rsc_colocation": true, "rsc_order": true, "rsc_location": true,
}

// defaults are attributes whose absence means the same.
var defaults = map[string]string{
	"rsc_order/first-action": "start",
	"rsc_order/then-action":  "start",
	"rsc_order/kind":         "Mandatory",
}

func canonical(e element, indent string) string {
	var attrs []string
	for _, a := range e.Attrs {
		if a.Name.Local == "id" && !namedByOperator[e.XMLName.Local] || defaults[e.XMLName.Local+"/"+a.Name.Local] == a.Value {
			continue
		}
		attrs = append(attrs, a.Name.Local+"="+a.Value)
	}
	sort.Strings(attrs)
	var kids []string
	for _, c := range e.Children {
		kids = append(kids, canonical(c, indent+"  "))
	}
	sort.Strings(kids)
	s := indent + e.XMLName.Local
	if len(attrs) > 0 {
		s += " " + strings.Join(attrs, " ")
	}
	s += "\n"
	for _, k := range kids {
		s += k
	}
	// Empty sections (e.g. no <nodes>) say nothing.
	if len(attrs) == 0 && len(kids) == 0 {
		return ""
	}
	return s
}
