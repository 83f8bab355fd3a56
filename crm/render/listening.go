package render

// The node attribute stackha's haproxy agent sets where it serves, and the
// rule that sends the VIP to a node with it whenever there is one.
const (
	// paramListenAttr is the haproxy agent's parameter naming the node
	// attribute; attrListening is the attribute, listeningActive its value
	// while haproxy serves there (the agent writes 0 when stop begins).
	paramListenAttr = "node_attribute"
	attrListening   = "haproxy-listening"
	listeningActive = "1"

	idVIPPrefersListening = "vip-where-haproxy-listens"
	// listeningPreference is the VIP's score on a node where haproxy
	// listens: above its stickiness (100), and never INFINITY, so that
	// among the nodes with it stickiness still decides (INFINITY plus
	// stickiness is INFINITY: the VIP would follow every node that comes
	// back).
	listeningPreference = "10000"
)

// listeningComment says why the VIP prefers where haproxy listens.
var listeningComment = []string{
	"Where: on a node whose " + attrListening + " attribute is " + listeningActive + " whenever there is one",
	"(score " + listeningPreference + ", above stickiness). haproxy's agent sets it (" + paramListenAttr + "=)",
	"once start has found haproxy serving, and clears it when its stop begins.",
	"Without it the scheduler could start the VIP on a node whose haproxy starts",
	"in the same transition while another node listened (a node coming back as",
	"the VIP's node goes into standby: the clone moves that node's instance there,",
	"and starts it only after the old instance's drain), and clients got",
	"`connection refused` until haproxy listened. A preference, not -inf: where",
	"no node listens yet (the first start, or two nodes as one comes back) the",
	"VIP still goes with haproxy at once.",
}
