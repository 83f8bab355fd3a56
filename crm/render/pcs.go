package render

import (
	"fmt"
	"strings"
)

// shellQuote quotes v for bash when it holds anything but plain characters.
func shellQuote(v string) string {
	for _, r := range v {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("._-/:=+@,", r)) {
			return "'" + strings.ReplaceAll(v, "'", `'\''`) + "'"
		}
	}
	return v
}

func (p primitive) pcs(b *strings.Builder, clone string) {
	fmt.Fprintf(b, "pcs resource create %s ocf:%s:%s --no-default-ops", p.id, provider, p.agent)
	for _, kv := range p.params {
		fmt.Fprintf(b, " %s", shellQuote(kv[0]+"="+kv[1]))
	}
	for _, o := range p.ops {
		fmt.Fprintf(b, " \\\n    op %s interval=%s timeout=%s", o.name, o.interval, o.timeout)
		if o.depth > 0 || o.explicitDepth {
			fmt.Fprintf(b, " %s=%d", opCheckLevel, o.depth)
		}
	}
	if clone != "" {
		fmt.Fprintf(b, " \\\n    clone %s interleave=true", clone)
	}
	b.WriteString("\n")
	// pcs has no syntax for rule-based instance attributes: write them with
	// cibadmin, into the same CIB file.
	for i, np := range p.perNode {
		set := fmt.Sprintf("%s-instance_attributes-node%d", p.id, i+1)
		var nv strings.Builder
		for _, kv := range np.params {
			fmt.Fprintf(&nv, `<nvpair id="%s-%s" name="%s" value="%s"/>`, set, kv[0], kv[0], kv[1])
		}
		xml := fmt.Sprintf(`<primitive id="%s"><instance_attributes id="%s"><rule id="%s-rule" score="0">`+
			`<expression id="%s-rule-expression" attribute="#uname" operation="eq" value="%s"/></rule>`+
			`%s</instance_attributes></primitive>`,
			p.id, set, set, set, np.node, nv.String())
		fmt.Fprintf(b, "cib --modify --xml-text %s\n", shellQuote(xml))
	}
}

// PCS renders the same configuration as pcs commands, a bash script.
func (r *resolved) PCS() string {
	var b strings.Builder
	b.WriteString("#!/usr/bin/env bash\n")
	header(&b, "#", "The cluster's configuration as pcs commands (pcs 0.11)")
	b.WriteString(`#
# Every command works on a copy of the CIB, pushed to the live cluster in one
# step at the end (as ` + "`crm configure load`" + ` does): nothing starts half-configured.
# With CIB_FILE set (an existing file, e.g. from ` + "`cibadmin --empty`" + `), it builds
# that file instead and pushes nothing. PCS_FORCE=1 adds --force (needed where
# the stackha agents are not installed).
set -euo pipefail

push=
if [ -n "${CIB_FILE:-}" ]; then
  cibfile=$CIB_FILE
else
  cibfile=$(mktemp)
  trap 'rm -f "$cibfile"' EXIT
  command pcs cluster cib "$cibfile"
  push=1
fi
pcs() { command pcs -f "$cibfile" ${PCS_FORCE:+--force} "$@"; }
cib() { CIB_file="$cibfile" command cibadmin "$@"; }

`)
	c := r.t.Cluster
	comment(&b, propertyComment)
	fmt.Fprintf(&b, "pcs property set stonith-enabled=%t no-quorum-policy=%s\n\n", *c.StonithEnabled, c.NoQuorumPolicy)
	comment(&b, defaultsComment)
	fmt.Fprintf(&b, "pcs resource defaults update resource-stickiness=%d failure-timeout=%s migration-threshold=%d\n\n",
		*c.Stickiness, failureTimeout(*c.FailureTimeout), *c.MigrationThreshold)

	b.WriteString("# The virtual IP clients and the catalog's endpoints use.\n")
	r.vipPrimitive().pcs(&b, "")
	b.WriteString("\n# haproxy on every node (see the order below), configured by haproxy.cfg.\n")
	r.haproxyPrimitive().pcs(&b, idHAProxyClone)
	b.WriteString("\n# The API services, each a clone on every node, listening on the node's own\n")
	b.WriteString("# address (haproxy holds their ports on the VIP); hence the url per node.\n")
	for _, s := range r.services {
		fmt.Fprintf(&b, "# %s: %s\n", s.name, describe(s))
		r.servicePrimitive(s).pcs(&b, cloneID(s.name))
	}
	b.WriteString("\n")
	comment(&b, orderComment)
	fmt.Fprintf(&b, "pcs constraint colocation add %s with %s INFINITY id=%s\n", idVIP, idHAProxyClone, idColocation)
	fmt.Fprintf(&b, "pcs constraint order start %s then start %s kind=Mandatory id=%s\n", idHAProxyClone, idVIP, idOrder)
	b.WriteString("\nif [ -n \"$push\" ]; then\n  command pcs cluster cib-push \"$cibfile\" --config\nfi\n")
	return b.String()
}
