package render

import (
	"fmt"
	"strconv"
	"strings"
)

// crmsh writes the configuration as crmsh text.
type crmsh struct{}

// quoteCRM quotes a crmsh value when it holds anything but plain characters.
// Every value here was validated to hold no quote or backslash.
func quoteCRM(v string) string { return plainOr(v, "._-/:", strconv.Quote) }

// plainOr returns v as it is when it holds only letters, digits and the
// runes of plain, else v quoted by quote.
func plainOr(v, plain string, quote func(string) string) string {
	for _, r := range v {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune(plain, r)) {
			return quote(v)
		}
	}
	return v
}

func crmAttrs(b *strings.Builder, kv [][2]string) {
	for _, p := range kv {
		fmt.Fprintf(b, " %s=%s", p[0], quoteCRM(p[1]))
	}
}

func (crmsh) nvset(b *strings.Builder, head string, kv [][2]string) {
	b.WriteString(head)
	for _, p := range kv {
		fmt.Fprintf(b, " \\\n\t%s=%s", p[0], quoteCRM(p[1]))
	}
	b.WriteString("\n")
}

func (c crmsh) properties(b *strings.Builder, kv [][2]string) {
	c.nvset(b, "property cib-bootstrap-options:", kv)
}

func (c crmsh) rscDefaults(b *strings.Builder, kv [][2]string) {
	c.nvset(b, "rsc_defaults rsc-options:", kv)
}

func (crmsh) primitive(b *strings.Builder, p primitive, clone string) {
	fmt.Fprintf(b, "primitive %s %s", p.id, p.spec())
	for _, np := range p.perNode {
		fmt.Fprintf(b, " \\\n\tparams rule 0: #uname eq %s", np.node)
		crmAttrs(b, np.params)
	}
	if len(p.params) > 0 {
		b.WriteString(" \\\n\tparams")
		crmAttrs(b, p.params)
	}
	if len(p.meta) > 0 {
		b.WriteString(" \\\n\tmeta")
		crmAttrs(b, p.meta)
	}
	for _, o := range p.ops {
		fmt.Fprintf(b, " \\\n\top %s %s", o.name, o.attrs())
	}
	b.WriteString("\n")
	if clone != "" {
		fmt.Fprintf(b, "clone %s %s \\\n\tmeta", clone, p.id)
		crmAttrs(b, p.clonesMeta())
		b.WriteString("\n")
	}
}

func (crmsh) constraints() constraintFormats {
	return constraintFormats{"location %s %s -inf: %s\n", "colocation %s inf: %s %s\n", "order %s Optional: %s:stop %s:stop symmetrical=false\n",
		"location %s %s rule %s: %s eq %s\n"}
}

// CRM renders the crmsh configuration (`crm configure load update FILE`).
func (r *resolved) CRM() string {
	var b strings.Builder
	header(&b, "#", "The cluster's configuration for crmsh")
	b.WriteString("# " + r.modeLine() + "\n")
	b.WriteString("# Load it with: crm configure load update cluster.crm\n")
	b.WriteString("# On a cluster configured as in the how-to stackha started from, first run\n")
	b.WriteString("#   crm configure delete haproxy-with-vip haproxy-after-IP\n")
	b.WriteString("# or `load update` keeps those two, pointed at the haproxy clone: a colocation\n")
	b.WriteString("# the wrong way round and an order loop with the one below.\n")
	b.WriteString("# On a cluster loaded from an earlier render, first run\n")
	b.WriteString("#   crm configure delete " + idOldOrder + "\n")
	b.WriteString("# (`load update` keeps it: that start order made a moving VIP wait for haproxy's drain).\n")
	b.WriteString("# Nothing else to delete: `load update` adds haproxy's " + paramListenAttr + " (a reload)\n")
	b.WriteString("# and " + idVIPPrefersListening + "; the VIP stays where it is.\n")
	b.WriteString("# Nodes: ")
	for i, n := range r.nodes {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s (%s)", n.name, n.addr)
	}
	b.WriteString("; each runs haproxy and every API service.\n\n")
	r.body(&b, crmsh{})
	return b.String()
}
