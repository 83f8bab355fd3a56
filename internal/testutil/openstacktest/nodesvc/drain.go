package nodesvc

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/stackha/stackha/catalog"
	"github.com/stackha/stackha/crm/render"
	"github.com/stackha/stackha/test/sysnode"
)

// renderNode is `stackha render`'s output for the rows, with the node at
// addr as n1 of a two-node topology.
func renderNode(addr netip.Addr, rows []*catalog.Service) (render.Files, error) {
	var y strings.Builder
	fmt.Fprintf(&y, "vip: {address: 192.0.2.100, prefix: 24}\nnodes:\n  - {name: n1, address: %s}\n  - {name: n2, address: 192.0.2.254}\nservices:\n", addr)
	for _, r := range rows {
		fmt.Fprintf(&y, "  - name: %s\n", r.Name)
	}
	t, err := render.ParseBytes([]byte(y.String()))
	if err != nil {
		return nil, err
	}
	return render.Render(t)
}

// DrainDropIns are the drop-ins render writes for the node at addr so
// that the rows' healthchecks read their disable file (keystone's and
// heat-api's .conf.d files), by their path on the node.
func DrainDropIns(addr netip.Addr, rows []*catalog.Service) (map[string]sysnode.File, error) {
	files, err := renderNode(addr, rows)
	if err != nil {
		return nil, err
	}
	out := map[string]sysnode.File{}
	for _, r := range rows {
		if r.DrainConfDir == "" {
			continue
		}
		var found bool
		for name, data := range files {
			if p, ok := strings.CutPrefix(name, "nodes/n1"+r.DrainConfDir+"/"); ok {
				out[r.DrainConfDir+"/"+p] = sysnode.File{Data: data}
				found = true
			}
		}
		if !found {
			return nil, fmt.Errorf("render wrote nothing in %s for %s", r.DrainConfDir, r.Name)
		}
	}
	return out, nil
}
