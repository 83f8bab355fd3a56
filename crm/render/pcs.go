package render

import (
	"fmt"
	"strings"
)

// pcs writes the configuration as pcs commands.
type pcs struct{}

// shellQuote quotes v for bash when it holds anything but plain characters.
func shellQuote(v string) string {
	return plainOr(v, "._-/:=+@,", func(v string) string { return "'" + strings.ReplaceAll(v, "'", `'\''`) + "'" })
}

func pcsAttrs(b *strings.Builder, kv [][2]string) {
	for _, p := range kv {
		fmt.Fprintf(b, " %s", shellQuote(p[0]+"="+p[1]))
	}
}

func (pcs) properties(b *strings.Builder, kv [][2]string) {
	// pcs 0.11 takes whole seconds only for time properties; Pacemaker
	// itself reads milliseconds, so such a value is forced past pcs's own
	// check, alone.
	var whole, subSecond [][2]string
	for _, p := range kv {
		if strings.HasSuffix(p[1], "ms") {
			subSecond = append(subSecond, p)
		} else {
			whole = append(whole, p)
		}
	}
	b.WriteString("pcs property set")
	pcsAttrs(b, whole)
	b.WriteString("\n")
	for _, p := range subSecond {
		b.WriteString("# pcs 0.11 knows no unit below a second; Pacemaker reads ms: --force skips pcs's check only.\n")
		b.WriteString("PCS_FORCE=1 pcs property set")
		pcsAttrs(b, [][2]string{p})
		b.WriteString("\n")
	}
}

func (pcs) rscDefaults(b *strings.Builder, kv [][2]string) {
	b.WriteString("pcs resource defaults update")
	pcsAttrs(b, kv)
	b.WriteString("\n")
}

func (pcs) primitive(b *strings.Builder, p primitive, clone string) {
	if p.class == "stonith" {
		fmt.Fprintf(b, "pcs stonith create %s %s", p.id, p.agent)
	} else {
		fmt.Fprintf(b, "pcs resource create %s %s --no-default-ops", p.id, p.spec())
	}
	pcsAttrs(b, p.params)
	for _, o := range p.ops {
		fmt.Fprintf(b, " \\\n    op %s %s", o.name, o.attrs())
	}
	if len(p.meta) > 0 {
		b.WriteString(" \\\n    meta")
		pcsAttrs(b, p.meta)
	}
	if clone != "" {
		pcsClone(b, clone, p.clonesMeta())
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

func (pcs) constraints() constraintFormats {
	return constraintFormats{"pcs constraint location add %s %s %s -- -INFINITY\n",
		"pcs constraint colocation add %[2]s with %[3]s INFINITY id=%[1]s\n",
		"pcs constraint order stop %[2]s then stop %[3]s kind=Optional symmetrical=false id=%[1]s\n",
		"pcs constraint location %[2]s rule constraint-id=%[1]s score=%[3]s %[4]s eq %[5]s\n"}
}

// PCS renders the same configuration as pcs commands, a bash script.
func (r *resolved) PCS() string {
	var b strings.Builder
	b.WriteString("#!/usr/bin/env bash\n")
	header(&b, "#", "The cluster's configuration as pcs commands (pcs 0.11)")
	b.WriteString("# " + r.modeLine() + "\n")
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
	r.body(&b, pcs{})
	b.WriteString("\nif [ -n \"$push\" ]; then\n  command pcs cluster cib-push \"$cibfile\" --config\nfi\n")
	return b.String()
}
