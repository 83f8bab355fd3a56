package render

// The node attribute that says "haproxy listens here", and the rule that
// sends the VIP to a node with it whenever there is one.
const (
	// attrListening is the node attribute; listeningActive its value
	// where haproxy listens (ocf:pacemaker:attribute's active_value; it
	// writes listeningInactive when it stops).
	attrListening     = "haproxy-listening"
	listeningActive   = "1"
	listeningInactive = "0"

	idListening           = "haproxy-listening"
	idListeningClone      = "haproxy-listening-clone"
	idListeningColocation = "haproxy-listening-with-haproxy"
	idListeningOrder      = "haproxy-listening-after-haproxy"
	idVIPPrefersListening = "vip-where-haproxy-listens"
	// listeningPreference is the VIP's score on a node where haproxy
	// listens: above its stickiness (100) and whatever else a node's score
	// holds, so the VIP leaves a node whose attribute goes, and never
	// INFINITY, so that among the nodes with it stickiness still decides
	// (INFINITY plus stickiness is INFINITY: the VIP would move to every
	// node that comes back).
	listeningPreference = "10000"

	// attributeOpTimeout: the agent runs attrd_updater once or twice.
	attributeOpTimeout = "20s"
	// attributeMonitor: its monitor checks the attribute still holds its
	// value (attrd_updater -Q), the agent's own default interval.
	attributeMonitor = "10s"
)

// listeningPrimitive is Pacemaker's own ocf:pacemaker:attribute, cloned
// beside haproxy: it sets the attribute when it starts, which is after
// haproxy's start returned on that node (and stackha's haproxy start
// returns only once the master answers with a worker, its listeners
// bound), and clears it when it stops, which is before haproxy's stop.
func listeningPrimitive() primitive {
	return primitive{id: idListening, class: "ocf", provider: "pacemaker", agent: "attribute",
		params: [][2]string{{"name", attrListening}, {"active_value", listeningActive}, {"inactive_value", listeningInactive}},
		ops: []op{
			{name: "start", interval: "0s", timeout: attributeOpTimeout},
			{name: "stop", interval: "0s", timeout: attributeOpTimeout},
			{name: "monitor", interval: attributeMonitor, timeout: attributeOpTimeout},
		}}
}

// listeningComment introduces the attribute clone; orderComment explains
// the VIP's rule.
var listeningComment = []string{
	"The node attribute " + attrListening + "=" + listeningActive + " where haproxy listens: Pacemaker's own",
	"ocf:pacemaker:attribute, one instance per node, started after that node's",
	"haproxy (whose start returns once it listens) and stopped before it, when it",
	"writes " + attrListening + "=" + listeningInactive + ". The VIP goes where it is " + listeningActive + " (see below).",
}
