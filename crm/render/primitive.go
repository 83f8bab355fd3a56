package render

import (
	"strconv"
	"strings"
)

// Resource ids. api-vip and haproxy are the how-to's own.
const (
	idVIP          = "api-vip"
	idHAProxy      = "haproxy"
	idHAProxyClone = "haproxy-clone"
	idColocation   = "vip-with-haproxy"
	idStopOrder    = "vip-stops-before-haproxy"
	// idOldOrder is the start order render wrote before: a `load update`
	// keeps it, so the header says to delete it.
	idOldOrder = "haproxy-before-vip"
)

func cloneID(rsc string) string { return rsc + "-clone" }

// Operation timeouts and settings written for each kind of resource.
const (
	vipOpTimeout     = "20s"
	haproxyOpTimeout = "60s" // more than the agent's stop_timeout (30s)
	apiStartTimeout  = "120s"
	apiStopTimeout   = "60s"
	monitorTimeout   = "20s"
	deepTimeout      = "30s" // a token, then an authenticated call
	fenceTimeout     = "20s" // a fence agent's status call to its device
	// An API monitor's probe gives up after probeTimeout, so a hung
	// service fails its monitor in that time rather than at the op's
	// timeout, which stays well above it (the agent's own start-up and a
	// slow but live answer fit).
	probeTimeout      = "2s"
	apiMonitorTimeout = "10s"
	// vipPriority makes the VIP's node the more valuable in a two-node
	// fence race (priority-fencing-delay); every other resource has 0.
	vipPriority = "10"
)

// primitive is one resource in a form both crm and pcs writers use.
type primitive struct {
	id     string
	class  string // "ocf" (a stackha agent) or "stonith"
	agent  string
	params [][2]string // in order
	// perNode are rule-based instance attributes, one set per node.
	perNode []nodeParam
	meta    [][2]string
	ops     []op
	// provider is an ocf agent's provider ("": stackha); resource-agents'
	// own are heartbeat's.
	provider string
	// cloneMeta is the clone's meta attributes (nil: interleave=true).
	cloneMeta [][2]string
}

// spec is the resource's agent as crmsh writes it.
func (p primitive) spec() string {
	if p.class == "stonith" {
		return "stonith:" + p.agent
	}
	if p.provider != "" {
		return "ocf:" + p.provider + ":" + p.agent
	}
	return "ocf:" + provider + ":" + p.agent
}

// clonesMeta is the meta attributes of p's clone.
func (p primitive) clonesMeta() [][2]string {
	if p.cloneMeta == nil {
		return [][2]string{{"interleave", "true"}}
	}
	return p.cloneMeta
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
	role                    string // a promotable clone's monitor: Promoted or Unpromoted
}

// attrs is the op's attributes after its name, as both tools write them.
func (o op) attrs() string {
	s := "interval=" + o.interval + " timeout=" + o.timeout
	if o.depth > 0 || o.explicitDepth {
		s += " " + opCheckLevel + "=" + strconv.Itoa(o.depth)
	}
	if o.role != "" {
		s += " role=" + o.role
	}
	return s
}

// fenceRace reports whether the cluster settles a ring break by a fence
// race: two nodes with fencing.
func (r *resolved) fenceRace() bool { return len(r.fencing) > 0 && len(r.nodes) == 2 }

func (r *resolved) haproxyPrimitive() primitive {
	h := r.t.HAProxy
	params := [][2]string{{paramHAProxyConfig, h.Config}, {paramListenAttr, attrListening}}
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
	return primitive{id: idHAProxy, class: "ocf", agent: agentHAProxy,
		params: append(params, r.haproxyExtra...),
		ops: monitors([]op{
			{name: "start", interval: "0s", timeout: haproxyOpTimeout},
			{name: "stop", interval: "0s", timeout: haproxyOpTimeout},
			{name: "monitor", interval: h.MonitorInterval.String(), timeout: monitorTimeout},
		}, *h.MonitorDepth, r.haproxyDeepEvery, monitorTimeout)}
}

func (r *resolved) servicePrimitive(s resolvedService) primitive {
	p := primitive{id: s.name, class: "ocf", agent: s.name, params: [][2]string{
		{paramMode, s.mode},
		{paramPort, strconv.Itoa(s.port)},
	}}
	if s.credentials != "" {
		p.params = append(p.params, [2]string{paramCredentials, s.credentials})
	}
	if !hasParam(s.extra, paramProbeTimeout) {
		p.params = append(p.params, [2]string{paramProbeTimeout, probeTimeout})
	}
	p.params = append(p.params, r.agentTLSParams()...)
	p.params = append(p.params, r.drainParams(s)...)
	p.params = append(p.params, s.extra...)
	// Each service listens on its node's own address (haproxy holds the
	// port on the VIP on every node), so the monitor's URL differs by node,
	// and so does the address a process the agent starts listens on.
	for _, n := range r.nodes {
		np := nodeParam{node: n.name}
		if s.mode == "process" && s.bindHost {
			np.params = append(np.params, [2]string{paramBindHost, n.addr.String()})
		}
		np.params = append(np.params, [2]string{paramURL, r.nodeScheme() + "://" + hostPort(n.addr.String(), s.port) + s.monitorPath})
		p.perNode = append(p.perNode, np)
	}
	p.ops = monitors([]op{
		{name: "start", interval: "0s", timeout: apiStartTimeout},
		{name: "stop", interval: "0s", timeout: s.stopTimeout()},
		{name: "monitor", interval: s.every.String(), timeout: apiMonitorTimeout, explicitDepth: true},
	}, s.depth, s.deepEvery, deepTimeout)
	if r.ordered(s) {
		p.cloneMeta = statefulCloneMeta
	}
	return p
}

// fencePrimitive is one fencing device.
func fencePrimitive(d resolvedDevice) primitive {
	return primitive{id: d.id, class: "stonith", agent: d.agent, params: d.params,
		ops: []op{{name: "monitor", interval: d.every.String(), timeout: fenceTimeout}}}
}

// fenceAvoidID is the id of the constraint that keeps a device off the
// node it fences.
func fenceAvoidID(d resolvedDevice) string { return d.id + "-avoids-" + d.node }

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
