package render_test

import (
	"regexp"
	"strconv"
	"strings"
	"testing"

	_ "github.com/stackha/stackha/agents/all" // the agents the configuration names
	"github.com/stackha/stackha/internal/testutil/require"
	"github.com/stackha/stackha/metadata"
	"github.com/stackha/stackha/ocf"
)

// primitiveUse is what a cluster.crm asks of one agent.
type primitiveUse struct {
	agent  string
	params []string
	depths []int
}

// uses reads every primitive of a crmsh text: its agent, the parameter
// names it sets (per-node rules included) and its monitors' depths.
func uses(crm string) []primitiveUse {
	var out []primitiveUse
	head := regexp.MustCompile(`^primitive \S+ ocf:stackha:(\S+)`)
	rule := regexp.MustCompile(`^params rule \S+: #uname eq \S+ `)
	depth := regexp.MustCompile(`OCF_CHECK_LEVEL=(\d+)`)
	for _, block := range strings.Split(crm, "\nprimitive ")[1:] {
		block = "primitive " + block
		lines := strings.Split(block, "\n")
		m := head.FindStringSubmatch(lines[0])
		if m == nil {
			continue
		}
		u := primitiveUse{agent: m[1]}
		for _, l := range lines[1:] {
			l = strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(l), `\`))
			if !strings.HasPrefix(l, "params ") && !strings.HasPrefix(l, "op ") {
				break
			}
			if strings.HasPrefix(l, "params ") {
				l = rule.ReplaceAllString(l, "params ")
				for _, kv := range strings.Fields(strings.TrimPrefix(l, "params ")) {
					u.params = append(u.params, strings.SplitN(kv, "=", 2)[0])
				}
			}
			if d := depth.FindStringSubmatch(l); d != nil && strings.HasPrefix(l, "op monitor") {
				n, _ := strconv.Atoi(d[1])
				u.depths = append(u.depths, n)
			}
		}
		out = append(out, u)
	}
	return out
}

// TestParamsMatchAgents checks every parameter name and monitor depth the
// rendered configurations use against the declarations of the agents
// linked into this binary (the same declarations their meta-data comes
// from). An agent not linked in yet skips outside CI and fails in it.
func TestParamsMatchAgents(t *testing.T) {
	for name := range examples(t) {
		t.Run(name, func(t *testing.T) {
			_, files := renderExample(t, name)
			us := uses(string(files["cluster.crm"]))
			if len(us) < 3 {
				t.Fatalf("found %d primitives in cluster.crm", len(us))
			}
			for _, u := range us {
				a, ok := ocf.Lookup(u.agent)
				if !ok {
					msg := "agent " + u.agent + " is not linked into stackha (agents/all): its parameters " + strings.Join(u.params, ", ") + " are unchecked"
					if require.InCI() {
						t.Error(msg)
					} else {
						t.Log("SKIP: " + msg)
					}
					continue
				}
				for _, e := range mismatches(a, u) {
					t.Error(e)
				}
			}
		})
	}
}

// mismatches lists what u asks of a that a does not declare.
func mismatches(a *ocf.Agent, u primitiveUse) []string {
	var errs []string
	for _, p := range u.params {
		found := false
		for _, d := range a.Meta.Parameters {
			found = found || d.Name == p
		}
		if !found {
			errs = append(errs, "ocf:stackha:"+u.agent+" declares no parameter "+strconv.Quote(p))
		}
	}
	for _, d := range u.depths {
		if d == 0 {
			continue
		}
		found := false
		for _, act := range a.Meta.Actions {
			found = found || act.Name == "monitor" && act.Depth == d
		}
		if !found {
			errs = append(errs, "ocf:stackha:"+u.agent+" declares no monitor at depth "+strconv.Itoa(d))
		}
	}
	return errs
}

func TestMismatches(t *testing.T) {
	a := &ocf.Agent{Meta: metadata.Agent{
		Parameters: []metadata.Parameter{{Name: "mode"}, {Name: "port"}},
		Actions:    []metadata.Action{{Name: "monitor", Depth: 0}, {Name: "monitor", Depth: 20}},
	}}
	if e := mismatches(a, primitiveUse{agent: "x", params: []string{"mode", "port"}, depths: []int{0, 20}}); len(e) != 0 {
		t.Errorf("false mismatches: %v", e)
	}
	e := mismatches(a, primitiveUse{agent: "x", params: []string{"mode", "url"}, depths: []int{10}})
	if len(e) != 2 || !strings.Contains(e[0], `no parameter "url"`) || !strings.Contains(e[1], "no monitor at depth 10") {
		t.Errorf("mismatches = %v", e)
	}
}

func TestUsesParser(t *testing.T) {
	us := uses("# x\nprimitive k ocf:stackha:keystone \\\n\tparams rule 0: #uname eq n1 url=http://a/ \\\n\tparams mode=process port=5000 \\\n\top monitor interval=10s timeout=20s OCF_CHECK_LEVEL=20\nclone k-clone k\n")
	if len(us) != 1 || us[0].agent != "keystone" || strings.Join(us[0].params, ",") != "url,mode,port" || len(us[0].depths) != 1 || us[0].depths[0] != 20 {
		t.Fatalf("parsed %+v", us)
	}
}
