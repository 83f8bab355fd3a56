package render_test

import (
	"encoding/xml"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stackha/stackha/crm/render"
	"github.com/stackha/stackha/internal/testutil/require"
)

// stonithUse is one fencing device of a crmsh text: its agent and the
// parameter names it sets.
type stonithUse struct {
	id, agent string
	params    map[string]string
}

// stonithOf reads the stonith primitives of a crmsh text.
func stonithOf(crm string) []stonithUse {
	var out []stonithUse
	head := regexp.MustCompile(`^primitive (\S+) stonith:(\S+)`)
	kv := regexp.MustCompile(`([a-z_]+)=("[^"]*"|\S+)`)
	for _, block := range strings.Split(crm, "\nprimitive ")[1:] {
		lines := strings.Split("primitive "+block, "\n")
		m := head.FindStringSubmatch(lines[0])
		if m == nil {
			continue
		}
		u := stonithUse{id: m[1], agent: m[2], params: map[string]string{}}
		for _, l := range lines[1:] {
			l = strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(l), `\`))
			if !strings.HasPrefix(l, "params ") {
				continue
			}
			for _, p := range kv.FindAllStringSubmatch(l, -1) {
				u.params[p[1]] = strings.Trim(p[2], `"`)
			}
		}
		out = append(out, u)
	}
	return out
}

// pacemakerFencing are the parameters Pacemaker's fencer itself reads
// (pacemaker-fenced's meta-data), on every device whatever its agent.
var pacemakerFencing = []string{"pcmk_host_list", "pcmk_host_map", "pcmk_host_check", "pcmk_delay_base", "pcmk_delay_max"}

// TestFenceParamsMatchAgents: every parameter a rendered fencing device
// sets is declared by that fence agent's own meta-data (fence-agents'
// `-o metadata`) or is one of Pacemaker's; crmsh does not check this.
func TestFenceParamsMatchAgents(t *testing.T) {
	for name := range examples(t) {
		t.Run(name, func(t *testing.T) {
			_, files := renderExample(t, name)
			devs := stonithOf(string(files["cluster.crm"]))
			if len(devs) == 0 {
				t.Skip("no fencing in this example")
			}
			declared := map[string][]string{}
			for _, d := range devs {
				if _, ok := declared[d.agent]; ok {
					continue
				}
				require.Command(t, d.agent)
				out, err := exec.Command(d.agent, "-o", "metadata").Output()
				if err != nil {
					t.Fatalf("%s -o metadata: %v", d.agent, err)
				}
				var md struct {
					Parameters []struct {
						Name string `xml:"name,attr"`
					} `xml:"parameters>parameter"`
				}
				if err := xml.Unmarshal(out, &md); err != nil {
					t.Fatalf("%s meta-data: %v", d.agent, err)
				}
				for _, p := range md.Parameters {
					declared[d.agent] = append(declared[d.agent], p.Name)
				}
			}
			for _, d := range devs {
				for p := range d.params {
					if !slices.Contains(declared[d.agent], p) && !slices.Contains(pacemakerFencing, p) {
						t.Errorf("%s: %s declares no parameter %q", d.id, d.agent, p)
					}
				}
			}
		})
	}
}

// TestFencing: what a fenced topology gives, in crmsh and pcs alike: the
// production properties, a device per node with the right host list, kept
// off its node, and on two nodes the fence race won by the VIP's node.
func TestFencing(t *testing.T) {
	for _, tc := range []struct {
		example string
		race    bool
		hosts   map[string]string // device id: its pcmk_host_list or _map
	}{
		{"three-node-fenced", false, map[string]string{"fence-ctl-1": "pcmk_host_list=ctl-1", "fence-ctl-2": "pcmk_host_list=ctl-2", "fence-ctl-3": "pcmk_host_list=ctl-3"}},
		{"all-services", true, map[string]string{"fence-ctl-a": "pcmk_host_list=ctl-a", "bmc-ctl-b": "pcmk_host_map=ctl-b:System.Embedded.1"}},
		{"five-node-sbd", false, map[string]string{"fence-api-1": "pcmk_host_list=api-1", "fence-api-5": "pcmk_host_list=api-5"}},
	} {
		t.Run(tc.example, func(t *testing.T) {
			_, files := renderExample(t, tc.example)
			crm, pcs := string(files["cluster.crm"]), string(files["cluster.pcs.sh"])
			for _, w := range []string{"stonith-enabled=true", "no-quorum-policy=stop", "# Fencing on: ", "transition-delay=100ms"} {
				if !strings.Contains(crm, w) || !strings.Contains(pcs, w) {
					t.Errorf("cluster.crm or cluster.pcs.sh lacks %q", w)
				}
			}
			devs := stonithOf(crm)
			for id, host := range tc.hosts {
				node := host[strings.LastIndex(host, "=")+1:]
				node, _, _ = strings.Cut(node, ":")
				i := slices.IndexFunc(devs, func(d stonithUse) bool { return d.id == id })
				if i < 0 {
					t.Errorf("no device %s", id)
					continue
				}
				if k, v, _ := strings.Cut(host, "="); devs[i].params[k] != v {
					t.Errorf("%s: %s=%q, want %s", id, k, devs[i].params[k], host)
				}
				for _, w := range []string{"location " + id + "-avoids-" + node + " " + id + " -inf: " + node + "\n",
					"pcs constraint location add " + id + "-avoids-" + node + " " + id + " " + node + " -- -INFINITY\n"} {
					if !strings.Contains(crm+pcs, w) {
						t.Errorf("%s is not kept off %s: no %q", id, node, w)
					}
				}
				if !strings.Contains(pcs, "pcs stonith create "+id+" "+devs[i].agent+" ") {
					t.Errorf("cluster.pcs.sh does not create %s", id)
				}
			}
			for _, w := range []string{"priority-fencing-delay=", "priority=10"} {
				if strings.Contains(crm, w) != tc.race || strings.Contains(pcs, w) != tc.race {
					t.Errorf("%q written: %t, want %t (two nodes with fencing)", w, strings.Contains(crm, w), tc.race)
				}
			}
			if tc.race && !strings.Contains(crm, "priority-fencing-delay=10s") {
				t.Error("all-services: priority_delay 10s not written")
			}
		})
	}
}

// TestTransitionDelay: written by default with fencing only; an explicit
// value is written as given, in both languages; 0 writes none.
func TestTransitionDelay(t *testing.T) {
	_, lab := renderExample(t, "seed")
	if strings.Contains(string(lab["cluster.crm"])+string(lab["cluster.pcs.sh"]), "transition-delay") {
		t.Error("the lab shape (no fencing) has a transition-delay")
	}
	const topo = "vip: {address: 192.0.2.10, prefix: 24}\nnodes:\n  - {name: a, address: 192.0.2.11}\n  - {name: b, address: 192.0.2.12}\n"
	for _, tc := range []struct{ yaml, want string }{
		{topo + "cluster: {transition_delay: 250ms}\n", "transition-delay=250ms"},
		{topo + "cluster: {transition_delay: 2s}\n", "transition-delay=2s"},
		{topo + "cluster: {transition_delay: 0}\n", ""},
	} {
		files, err := renderTopology(t, tc.yaml)
		if err != nil {
			t.Fatalf("%q: %v", tc.yaml, err)
		}
		all := string(files["cluster.crm"]) + string(files["cluster.pcs.sh"])
		if tc.want == "" {
			if strings.Contains(all, "transition-delay") {
				t.Errorf("%q: transition-delay written", tc.yaml)
			}
			continue
		}
		if !strings.Contains(string(files["cluster.crm"]), tc.want) || !strings.Contains(string(files["cluster.pcs.sh"]), tc.want) {
			t.Errorf("%q: %s not in cluster.crm and cluster.pcs.sh", tc.yaml, tc.want)
		}
	}
}

// TestNoPasswordWritten: a password given through password_file or a
// password_script never reaches any rendered file; a literal one is
// refused with its field named, and the error does not repeat it either.
func TestNoPasswordWritten(t *testing.T) {
	const secret = "Sekr1t-pa55"
	base := "vip: {address: 192.0.2.100}\nnodes:\n  - {name: a, address: 192.0.2.1}\n  - {name: b, address: 192.0.2.2}\n"
	dir := t.TempDir()
	pw := filepath.Join(dir, "a.pw")
	if err := os.WriteFile(pw, []byte(secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ok := base + "fencing:\n  devices:\n" +
		"    - {node: a, agent: fence_ipmilan, password_file: " + pw + ", params: {ip: 192.0.2.201, username: admin}}\n" +
		"    - {node: b, agent: fence_redfish, password_script: /usr/local/sbin/pw-b, params: {ip: 192.0.2.202, username: admin}}\n"
	topo, err := render.ParseBytes([]byte(ok))
	if err != nil {
		t.Fatal(err)
	}
	files, err := render.Render(topo)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range files.Names() {
		for _, bad := range []string{secret, "passwd=", " password="} {
			if strings.Contains(string(files[n]), bad) {
				t.Errorf("%s holds %q", n, bad)
			}
		}
	}
	for _, w := range []string{`password_script="cat ` + pw + `"`, "password_script=/usr/local/sbin/pw-b"} {
		if !strings.Contains(string(files["cluster.crm"]), w) {
			t.Errorf("cluster.crm lacks %s", w)
		}
	}
	// The script fence-agents would run gives the password back.
	if out, err := exec.Command("sh", "-c", "cat "+pw).Output(); err != nil || strings.TrimSpace(string(out)) != secret {
		t.Errorf("password_script for password_file: %q %v", out, err)
	}
	for _, key := range []string{"password", "passwd", "snmp_priv_passwd", "community"} {
		bad := base + "fencing:\n  devices:\n    - {node: a, agent: fence_ipmilan, params: {" + key + ": " + secret + "}}\n" +
			"    - {node: b, agent: fence_ipmilan, password_file: /p}\n"
		_, err := render.ParseBytes([]byte(bad))
		if err == nil || !strings.Contains(err.Error(), "fencing.devices[0].params."+key+": ") ||
			!strings.Contains(err.Error(), "would be written into the CIB and every rendered file") {
			t.Errorf("%s: error %v, want one naming the field", key, err)
		} else if strings.Contains(err.Error(), secret) {
			t.Errorf("%s: the error repeats the password: %v", key, err)
		}
	}
}

// A plug, a parameter, written as a number reaches the device as written:
// 010 is outlet "010", not 8 (YAML 1.1's octal), 1.0 stays "1.0". Kept
// against a change of YAML library: goccy/go-yaml read 010 as 8.
func TestFenceValuesAsWritten(t *testing.T) {
	const topo = "vip: {address: 192.0.2.10, prefix: 24}\nnodes:\n  - {name: a, address: 192.0.2.11}\n  - {name: b, address: 192.0.2.12}\n" +
		"fencing:\n  devices:\n" +
		"    - {node: a, agent: fence_apc, plug: 010, params: {ip: 192.0.2.200, switch: 0x1F, delay: 1.0}, password_file: /etc/p}\n" +
		"    - {node: b, agent: fence_apc, plug: 011, params: {ip: 192.0.2.200, switch: 0x1F, delay: 1.0}, password_file: /etc/p}\n"
	files, err := renderTopology(t, topo)
	if err != nil {
		t.Fatal(err)
	}
	crm := string(files["cluster.crm"])
	for _, want := range []string{"a:010", "b:011", "switch=0x1F", "delay=1.0"} {
		if !strings.Contains(crm, want) {
			t.Errorf("cluster.crm lacks %q:\n%s", want, crm)
		}
	}
}
