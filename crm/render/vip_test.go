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
