package render

import (
	"os"
	"strings"
	"testing"
)

// An IPv6 VIP is never the node's source address: render writes the
// address label and preferred_lft=0 unless vip.params gives them; an IPv4
// VIP gets neither.
func TestVIPv6Params(t *testing.T) {
	base, err := os.ReadFile("../examples/ipv6.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, yaml, want, notWant string
	}{
		{"IPv6 defaults", string(base), "cidr_netmask=64 lvs_ipv6_addrlabel=true preferred_lft=0 \\", ""},
		{"IPv6, operator's lifetime", strings.Replace(string(base), "  prefix: 64\n", "  prefix: 64\n  params: {preferred_lft: forever}\n", 1),
			"cidr_netmask=64 preferred_lft=forever lvs_ipv6_addrlabel=true \\", "preferred_lft=0"},
		{"IPv6, label off", strings.Replace(string(base), "  prefix: 64\n", "  prefix: 64\n  params: {lvs_ipv6_addrlabel: \"false\"}\n", 1),
			"cidr_netmask=64 lvs_ipv6_addrlabel=false preferred_lft=0 \\", "lvs_ipv6_addrlabel=true"},
		{"IPv4", "vip: {address: 192.0.2.100}\nnodes:\n  - {name: a, address: 192.0.2.11}\n  - {name: b, address: 192.0.2.12}\nservices:\n  - name: keystone\n",
			"params ip=192.0.2.100 cidr_netmask=24 \\", "lvs_ipv6_addrlabel"},
	} {
		t.Run(c.name, func(t *testing.T) {
			top, err := ParseBytes([]byte(c.yaml))
			if err != nil {
				t.Fatal(err)
			}
			files, err := Render(top)
			if err != nil {
				t.Fatal(err)
			}
			crm := string(files["cluster.crm"])
			if !strings.Contains(crm, c.want) || (c.notWant != "" && strings.Contains(crm, c.notWant)) {
				i := strings.Index(crm, "primitive api-vip")
				t.Fatalf("want %q, not %q, in:\n%s", c.want, c.notWant, crm[i:min(len(crm), i+300)])
			}
		})
	}
}

// An IPv6 public VIP beside an IPv4 internal one: haproxy binds both, the
// IPv6 one bracketed; only the IPv6 one gets the address label and
// lifetime; the public endpoints are on the IPv6 VIP's name.
func TestVIPsMixedFamilies(t *testing.T) {
	top, err := ParseBytes([]byte(`vips:
  - {name: public, address: "2001:db8:0:1::10", dns_name: api6.example.org}
  - {name: internal, address: 10.0.0.100}
nodes:
  - {name: a, address: 10.0.0.1}
  - {name: b, address: 10.0.0.2}
services:
  - name: keystone
`))
	if err != nil {
		t.Fatal(err)
	}
	files, err := Render(top)
	if err != nil {
		t.Fatal(err)
	}
	for file, want := range map[string][]string{
		"haproxy.cfg":  {"    bind [2001:db8:0:1::10]:5000\n    bind 10.0.0.100:5000\n", "    server a 10.0.0.1:5000\n"},
		"cluster.crm":  {"params ip=2001:db8:0:1::10 cidr_netmask=64 lvs_ipv6_addrlabel=true preferred_lft=0 \\", "params ip=10.0.0.100 cidr_netmask=24 \\"},
		"endpoints.sh": {"endpoint identity public http://api6.example.org:5000/v3", "endpoint identity internal http://10.0.0.100:5000/v3"},
	} {
		for _, w := range want {
			if !strings.Contains(string(files[file]), w) {
				t.Errorf("%s lacks %q:\n%s", file, w, files[file])
			}
		}
	}
}
