package render

import (
	"fmt"
	"strconv"
	"strings"
)

// dialect writes the configuration's statements in one tool's language:
// crmsh (cluster.crm) or pcs (cluster.pcs.sh).
type dialect interface {
	properties(b *strings.Builder, kv [][2]string)
	rscDefaults(b *strings.Builder, kv [][2]string)
	// primitive writes a resource, and its clone when clone is not "".
	primitive(b *strings.Builder, p primitive, clone string)
	constraints() constraintFormats
}

// constraintFormats are a dialect's constraints, each a format taking the
// constraint's id and two resources or a resource and a node: avoid (id,
// rsc, node: keeps rsc off node, score -INFINITY), colocation (id, rsc,
// with), stopOrder (id, first, then: first's stop before then's, and
// nothing about starts: symmetrical=false) and prefers (id, rsc, score,
// attribute, value: score for rsc on every node where the node attribute
// is value).
type constraintFormats [4]string

const (
	avoid = iota
	colocation
	stopOrder
	prefers
)

// body writes what cluster.crm and cluster.pcs.sh share, in d's language.
func (r *resolved) body(b *strings.Builder, d dialect) {
	c := r.t.Cluster
	comment(b, r.propertyComment())
	props := [][2]string{{"stonith-enabled", strconv.FormatBool(*c.StonithEnabled)}, {"no-quorum-policy", c.NoQuorumPolicy}}
	if r.fenceRace() {
		props = append(props, [2]string{"priority-fencing-delay", r.t.Fencing.PriorityDelay.String()})
	}
	if c.TransitionDelay != nil && *c.TransitionDelay > 0 {
		props = append(props, [2]string{"transition-delay", c.TransitionDelay.String()})
	}
	d.properties(b, props)
	b.WriteString("\n")
	comment(b, defaultsComment)
	d.rscDefaults(b, [][2]string{
		{"resource-stickiness", strconv.Itoa(*c.Stickiness)},
		{"failure-timeout", failureTimeout(*c.FailureTimeout)},
		{"migration-threshold", strconv.Itoa(*c.MigrationThreshold)},
	})
	if len(r.fencing) > 0 {
		b.WriteString("\n")
		comment(b, fencingComment)
		for _, dev := range r.fencing {
			d.primitive(b, fencePrimitive(dev), "")
			fmt.Fprintf(b, d.constraints()[avoid], fenceAvoidID(dev), dev.id, dev.node)
		}
	}

	if len(r.vips) == 1 && r.vips[0].name == "" {
		b.WriteString("\n# The virtual IP clients and the catalog's endpoints use.\n")
	} else {
		b.WriteString("\n")
		comment(b, r.vipsComment())
	}
	if r.fenceRace() {
		fmt.Fprintf(b, "# priority=%s: its node wins a fence race (see priority-fencing-delay above).\n", vipPriority)
	}
	for _, v := range r.vips {
		d.primitive(b, r.vipPrimitive(v), "")
	}
	b.WriteString("\n# haproxy on every node (see the order below), configured by haproxy.cfg.\n")
	d.primitive(b, r.haproxyPrimitive(), idHAProxyClone)

	b.WriteString("\n")
	comment(b, serviceComment)
	for _, s := range r.services {
		fmt.Fprintf(b, "# %s: %s\n", s.name, describe(s))
		d.primitive(b, r.servicePrimitive(s), cloneID(s.name))
	}
	b.WriteString("\n")
	comment(b, orderComment)
	for _, v := range r.vips {
		fmt.Fprintf(b, d.constraints()[colocation], v.colocationID(), v.id, idHAProxyClone)
		fmt.Fprintf(b, d.constraints()[stopOrder], v.stopOrderID(), v.id, idHAProxyClone)
	}
	comment(b, listeningComment)
	for _, v := range r.vips {
		fmt.Fprintf(b, d.constraints()[prefers], v.prefersID(), v.id, listeningPreference, attrListening, listeningActive)
	}
	r.statefulBody(b, d)
	r.moveFirstBody(b, d)
}

// modeLine says at the top of a file whether the cluster fences.
func (r *resolved) modeLine() string {
	if len(r.fencing) == 0 {
		return "LAB MODE: no fencing (the topology has no fencing.devices): see \"Fencing and quorum\" below."
	}
	return fmt.Sprintf("Fencing on: %d devices, one per node; no-quorum-policy=%s.", len(r.fencing), r.t.Cluster.NoQuorumPolicy)
}

func failureTimeout(d Duration) string {
	if d == 0 {
		return "0"
	}
	return d.String()
}

func describe(s resolvedService) string {
	var parts []string
	for _, l := range s.listeners() {
		parts = append(parts, fmt.Sprintf("port %d", l.port))
	}
	mon := fmt.Sprintf("monitor depth 0 every %s", s.every)
	if s.depth > 0 {
		mon += fmt.Sprintf(" and depth %d every %s", s.depth, s.deepEvery)
	}
	return fmt.Sprintf("%s, run by %s, %s", strings.Join(parts, " and "), s.mode, mon)
}

func header(b *strings.Builder, prefix, what string) {
	fmt.Fprintf(b, "%s %s.\n", prefix, what)
	fmt.Fprintf(b, "%s Written by `stackha render`: edit the topology and render again, not this file.\n", prefix)
}

func comment(b *strings.Builder, lines []string) { indented(b, "", lines) }

// indented writes lines as comments, each after indent.
func indented(b *strings.Builder, indent string, lines []string) {
	for _, l := range lines {
		if l == "" {
			b.WriteString(indent + "#\n")
		} else {
			b.WriteString(indent + "# " + l + "\n")
		}
	}
}
