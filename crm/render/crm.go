package render

import (
	"fmt"
	"strconv"
	"strings"
)

// Resource ids. api-vip and haproxy are the seed's.
const (
	idVIP          = "api-vip"
	idHAProxy      = "haproxy"
	idHAProxyClone = "haproxy-clone"
	idColocation   = "vip-with-haproxy"
	idOrder        = "haproxy-before-vip"
)

func cloneID(rsc string) string { return rsc + "-clone" }

// Operation timeouts written for each kind of resource. API services start
// slowly (keystone needs several seconds before it answers).
const (
	vipOpTimeout     = "20s"
	haproxyOpTimeout = "60s" // more than the agent's stop_timeout (30s)
	apiStartTimeout  = "120s"
	apiStopTimeout   = "60s"
	monitorTimeout   = "20s"
	deepTimeout      = "30s" // a token, then an authenticated call
)

// orderComment explains the order chosen between haproxy and the VIP. It is
// written into cluster.crm and cluster.pcs.sh; the README says the same.
var orderComment = []string{
	"Order: haproxy runs everywhere first, then the VIP joins a running instance.",
	"Every node runs haproxy all the time, its frontends bound to the VIP even",
	"where the VIP is absent: that needs net.ipv4.ip_nonlocal_bind=1 (and",
	"net.ipv6.ip_nonlocal_bind=1 for an IPv6 VIP) on every node, the seed's",
	"first step. A failover is then only the address moving (plus its gratuitous",
	"ARP): the haproxy that takes the traffic is already up, its health checks",
	"already current. The colocation puts the VIP where haproxy runs, never the",
	"other way round: `colocation haproxy-with-vip inf: haproxy-clone api-vip`",
	"would pin the whole clone to the VIP's node and leave one haproxy in all.",
	"",
	"The other order, the seed's `order haproxy-after-IP mandatory: api-vip",
	"haproxy`, fails here: with haproxy a clone, every move of the VIP stops and",
	"restarts haproxy on every node (the clone is ordered after the VIP), so a",
	"failover becomes a full outage of every API for haproxy's stop and start",
	"time; and without non-local bind the instances on nodes without the VIP",
	"cannot bind at all, fail to start, and reach migration-threshold.",
	"Failure of one haproxy instance here: on a node without the VIP it is",
	"restarted there alone; on the VIP's node the VIP is stopped, haproxy",
	"restarted, the VIP started again (after migration-threshold failures the",
	"node is banned for haproxy and the VIP moves).",
}

var propertyComment = []string{
	"Fencing and quorum. The seed's lab settings, stonith-enabled=false and",
	"no-quorum-policy=ignore (the topology's defaults), let a two-node cluster",
	"run without fencing hardware. In production configure a fencing device per",
	"node, set stonith-enabled=true and keep no-quorum-policy=stop (with",
	"corosync's two_node: 1 on two nodes): without fencing, a split brain runs",
	"the VIP on both nodes and ARP flaps between them.",
}

var defaultsComment = []string{
	"resource-stickiness: a recovered node does not pull resources back (no",
	"second interruption). failure-timeout=0 (the seed's) keeps failures until",
	"`crm resource cleanup`; migration-threshold moves a resource away from a",
	"node after that many failures there.",
}

func comment(b *strings.Builder, lines []string) {
	for _, l := range lines {
		if l == "" {
			b.WriteString("#\n")
		} else {
			b.WriteString("# " + l + "\n")
		}
	}
}

// quoteCRM quotes a crmsh value when it holds anything but plain characters.
// Every value here was validated to hold no quote or backslash.
func quoteCRM(v string) string {
	for _, r := range v {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("._-/:", r)) {
			return strconv.Quote(v)
		}
	}
	return v
}

// primitive is one resource in a form both crm and pcs writers use.
type primitive struct {
	id, agent string
	params    [][2]string // in order
	perNode   []nodeParam // rule-based instance attributes
	ops       []op
}

// nodeParam holds the parameters that apply on one node only.
type nodeParam struct {
	node   string
	params [][2]string
}

type op struct {
	name, interval, timeout string
	depth                   int // written as OCF_CHECK_LEVEL when > 0 or explicit
	explicitDepth           bool
}

func (r *resolved) vipPrimitive() primitive {
	p := primitive{id: idVIP, agent: agentVIP, params: [][2]string{
		{paramVIPAddress, r.vip.Addr().String()},
		{paramVIPPrefix, strconv.Itoa(r.vip.Bits())},
	}}
	if r.vipNIC != "" {
		p.params = append(p.params, [2]string{paramVIPNIC, r.vipNIC})
	}
	p.params = append(p.params, r.vipExtra...)
	p.ops = []op{
		{name: "start", interval: "0s", timeout: vipOpTimeout},
		{name: "stop", interval: "0s", timeout: vipOpTimeout},
		{name: "monitor", interval: r.vipEvery.String(), timeout: monitorTimeout},
	}
	return p
}

func (r *resolved) haproxyPrimitive() primitive {
	h := r.t.HAProxy
	params := [][2]string{{paramHAProxyConfig, h.Config}}
	if *h.MonitorDepth == 10 && !hasParam(r.haproxyExtra, paramHAProxyBackends) {
		// Depth 10 wants a server up in each backend named here. The
		// legacy listeners (keystone admin, nova EC2) answer on no current
		// release: left out, or the monitor would fail on every node.
		var be []string
		for _, s := range r.services {
			be = append(be, s.main.name+"-api")
		}
		params = append(params, [2]string{paramHAProxyBackends, strings.Join(be, ",")})
	}
	return primitive{id: idHAProxy, agent: agentHAProxy,
		params: append(params, r.haproxyExtra...),
		ops: monitors([]op{
			{name: "start", interval: "0s", timeout: haproxyOpTimeout},
			{name: "stop", interval: "0s", timeout: haproxyOpTimeout},
			{name: "monitor", interval: h.MonitorInterval.String(), timeout: monitorTimeout},
		}, *h.MonitorDepth, r.haproxyDeepEvery, monitorTimeout)}
}

func (r *resolved) servicePrimitive(s resolvedService) primitive {
	p := primitive{id: s.name, agent: s.name, params: [][2]string{
		{paramMode, s.mode},
		{paramPort, strconv.Itoa(s.port)},
	}}
	if s.credentials != "" {
		p.params = append(p.params, [2]string{paramCredentials, s.credentials})
	}
	p.params = append(p.params, s.extra...)
	// Each service listens on its node's own address (haproxy holds the
	// port on the VIP on every node), so the monitor's URL differs by node,
	// and so does the address a process the agent starts listens on.
	for _, n := range r.nodes {
		np := nodeParam{node: n.name}
		if s.mode == "process" && s.bindHost {
			np.params = append(np.params, [2]string{paramBindHost, n.addr.String()})
		}
		np.params = append(np.params, [2]string{paramURL, "http://" + hostPort(n.addr.String(), s.port) + s.monitorPath})
		p.perNode = append(p.perNode, np)
	}
	p.ops = monitors([]op{
		{name: "start", interval: "0s", timeout: apiStartTimeout},
		{name: "stop", interval: "0s", timeout: apiStopTimeout},
		{name: "monitor", interval: s.every.String(), timeout: monitorTimeout, explicitDepth: true},
	}, s.depth, s.deepEvery, deepTimeout)
	return p
}

// monitors adds the deeper monitor, when there is one.
func monitors(ops []op, depth int, every Duration, timeout string) []op {
	if depth == 0 {
		return ops
	}
	return append(ops, op{name: "monitor", interval: every.String(), timeout: timeout, depth: depth})
}

func hasParam(kv [][2]string, name string) bool {
	for _, p := range kv {
		if p[0] == name {
			return true
		}
	}
	return false
}

func hostPort(host string, port int) string {
	if strings.Contains(host, ":") {
		return "[" + host + "]:" + strconv.Itoa(port)
	}
	return host + ":" + strconv.Itoa(port)
}

func (p primitive) crm(b *strings.Builder) {
	fmt.Fprintf(b, "primitive %s ocf:%s:%s", p.id, provider, p.agent)
	for _, np := range p.perNode {
		fmt.Fprintf(b, " \\\n\tparams rule 0: #uname eq %s", np.node)
		for _, kv := range np.params {
			fmt.Fprintf(b, " %s=%s", kv[0], quoteCRM(kv[1]))
		}
	}
	if len(p.params) > 0 {
		b.WriteString(" \\\n\tparams")
		for _, kv := range p.params {
			fmt.Fprintf(b, " %s=%s", kv[0], quoteCRM(kv[1]))
		}
	}
	for _, o := range p.ops {
		fmt.Fprintf(b, " \\\n\top %s interval=%s timeout=%s", o.name, o.interval, o.timeout)
		if o.depth > 0 || o.explicitDepth {
			fmt.Fprintf(b, " %s=%d", opCheckLevel, o.depth)
		}
	}
	b.WriteString("\n")
}

func header(b *strings.Builder, prefix, what string) {
	fmt.Fprintf(b, "%s %s.\n", prefix, what)
	fmt.Fprintf(b, "%s Written by `stackha render`: edit the topology and render again, not this file.\n", prefix)
}

// CRM renders the crmsh configuration (`crm configure load update FILE`).
func (r *resolved) CRM() string {
	var b strings.Builder
	header(&b, "#", "The cluster's configuration for crmsh")
	b.WriteString("# Load it with: crm configure load update cluster.crm\n")
	b.WriteString("# On a cluster configured as the seed, first run\n")
	b.WriteString("#   crm configure delete haproxy-with-vip haproxy-after-IP\n")
	b.WriteString("# or `load update` keeps those two, pointed at the haproxy clone: a colocation\n")
	b.WriteString("# the wrong way round and an order loop with the one below.\n")
	b.WriteString("# Nodes: ")
	for i, n := range r.nodes {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s (%s)", n.name, n.addr)
	}
	b.WriteString("; each runs haproxy and every API service.\n\n")

	c := r.t.Cluster
	comment(&b, propertyComment)
	fmt.Fprintf(&b, "property cib-bootstrap-options: \\\n\tstonith-enabled=%t \\\n\tno-quorum-policy=%s\n\n", *c.StonithEnabled, c.NoQuorumPolicy)
	comment(&b, defaultsComment)
	fmt.Fprintf(&b, "rsc_defaults rsc-options: \\\n\tresource-stickiness=%d \\\n\tfailure-timeout=%s \\\n\tmigration-threshold=%d\n\n",
		*c.Stickiness, failureTimeout(*c.FailureTimeout), *c.MigrationThreshold)

	b.WriteString("# The virtual IP clients and the catalog's endpoints use.\n")
	r.vipPrimitive().crm(&b)
	b.WriteString("\n# haproxy on every node (see the order below), configured by haproxy.cfg.\n")
	r.haproxyPrimitive().crm(&b)
	fmt.Fprintf(&b, "clone %s %s \\\n\tmeta interleave=true\n\n", idHAProxyClone, idHAProxy)

	b.WriteString("# The API services, each a clone on every node, listening on the node's own\n")
	b.WriteString("# address (haproxy holds their ports on the VIP); hence the url per node.\n")
	b.WriteString("# No constraint ties them to the VIP: haproxy's health checks route around a\n")
	b.WriteString("# failed instance, and Pacemaker restarts it where it failed.\n")
	for _, s := range r.services {
		fmt.Fprintf(&b, "# %s: %s\n", s.name, describe(s))
		r.servicePrimitive(s).crm(&b)
		fmt.Fprintf(&b, "clone %s %s \\\n\tmeta interleave=true\n", cloneID(s.name), s.name)
	}
	b.WriteString("\n")
	comment(&b, orderComment)
	fmt.Fprintf(&b, "colocation %s inf: %s %s\n", idColocation, idVIP, idHAProxyClone)
	fmt.Fprintf(&b, "order %s Mandatory: %s %s\n", idOrder, idHAProxyClone, idVIP)
	return b.String()
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
