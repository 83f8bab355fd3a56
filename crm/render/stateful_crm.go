package render

import (
	"fmt"
	"strconv"
	"strings"
)

// The stateful tier in cluster.crm, cluster.pcs.sh and haproxy.cfg.

// Resource ids of the stateful tier (TripleO's names, with render's
// -clone suffix).
const (
	idGalera        = "galera"
	idGaleraClone   = "galera-clone"
	idRabbitMQ      = "rabbitmq"
	idRabbitMQClone = "rabbitmq-clone"

	providerHeartbeat = "heartbeat"
	agentGalera       = "galera"
	agentRabbitMQ     = "rabbitmq-cluster"

	// The agents' own defaults (their meta-data), but start and stop:
	// RabbitMQ's join of a cluster takes more than its 100s when a node
	// waits for its peers (TripleO gives 200s).
	galeraOpTimeout      = "120s"
	galeraPromoteTimeout = "300s" // a joiner's state transfer (rsync) runs within its promote
	galeraMonitorTimeout = "30s"
	rabbitOpTimeout      = "200s"
	rabbitMonitorTimeout = "40s"

	// mirroredPolicy is the HA policy the rabbitmq agent sets when it
	// bootstraps the first node, for queues: mirrored: every queue but
	// RabbitMQ's own (amq.*) on every node, mirrors synchronised at once.
	// No backslash (the value goes through crmsh's and the shell's quoting).
	mirroredPolicy = `ha-all ^(?!amq[.]).* {"ha-mode":"all","ha-sync-mode":"automatic"}`
)

// statefulCloneMeta is the clone meta of an API service ordered after the
// stateful tier: not interleaved, so that its start waits for Galera
// promoted somewhere (and RabbitMQ started somewhere), not on its own node.
var statefulCloneMeta = [][2]string{{"interleave", "false"}}

// statefulComment explains the stateful tier's resources and orders.
var statefulComment = []string{
	"The stateful tier, with resource-agents' own agents. Galera is a promotable",
	"clone: every node runs mariadbd, promoted once it has joined the primary",
	"component and is synced (the agent bootstraps a stopped cluster from the",
	"node with the most advanced state, safe_to_bootstrap); promoted-max is every",
	"node. The services reach it through haproxy's mysql listener on the VIP,",
	"which sends every connection to one node at a time (haproxy.cfg). RabbitMQ",
	"is a clone (notify=true: the agent forgets a node that stopped).",
	"",
	"Order: the API services that keep a database start after Galera is promoted",
	"somewhere, those that use the queue after RabbitMQ has started somewhere.",
	"Their clones are therefore not interleaved: interleaved, a service's start",
	"would wait for its own node's Galera instance, which the service does not",
	"use (it goes through the VIP), and a node whose Galera cannot join would run",
	"no API. symmetrical=false: a Galera or RabbitMQ instance that stops or",
	"restarts does not stop the services (they reconnect, through haproxy or to",
	"another node of transport_url).",
}

// statefulBody writes the Galera and RabbitMQ resources and the orders of
// the services after them, in d's language.
func (r *resolved) statefulBody(b *strings.Builder, d dialect) {
	galera := r.db != nil && r.db.galera
	rabbit := r.mq != nil && r.mq.cluster
	if !galera && !rabbit {
		return
	}
	b.WriteString("\n")
	comment(b, statefulComment)
	if galera {
		b.WriteString("# MariaDB Galera: wsrep_cluster_address lists every node by address;\n")
		b.WriteString("# cluster_host_map maps each Pacemaker node to its address there.\n")
		d.primitive(b, r.galeraPrimitive(), idGaleraClone)
	}
	if rabbit {
		fmt.Fprintf(b, "# RabbitMQ: %s.\n", r.queuesWhy())
		d.primitive(b, r.rabbitPrimitive(), idRabbitMQClone)
	}
	for _, s := range r.services {
		if galera && usesDB(s) {
			startOrder(b, d, "galera-before-"+s.name, idGaleraClone, "promote", cloneID(s.name))
		}
		if rabbit && usesQueue(s) {
			startOrder(b, d, "rabbitmq-before-"+s.name, idRabbitMQClone, "start", cloneID(s.name))
		}
	}
}

// startOrder writes a start-only order: then's start after first's action.
func startOrder(b *strings.Builder, d dialect, id, first, action, then string) {
	switch d.(type) {
	case pcs:
		fmt.Fprintf(b, "pcs constraint order %s %s then start %s kind=Mandatory symmetrical=false id=%s\n", action, first, then, id)
	default:
		fmt.Fprintf(b, "order %s Mandatory: %s:%s %s:start symmetrical=false\n", id, first, action, then)
	}
}

// pcsClone writes a pcs resource create's clone part: a promotable clone
// when its meta says so.
func pcsClone(b *strings.Builder, id string, meta [][2]string) {
	kind := "clone"
	var rest [][2]string
	for _, m := range meta {
		if m == [2]string{"promotable", "true"} {
			kind = "promotable"
			continue
		}
		rest = append(rest, m)
	}
	fmt.Fprintf(b, " \\\n    %s %s", kind, id)
	pcsAttrs(b, rest)
}

// gcomm is wsrep_cluster_address: every node by address.
func (r *resolved) gcomm() string {
	var addrs []string
	for _, n := range r.nodes {
		addrs = append(addrs, n.addr.String())
	}
	return "gcomm://" + strings.Join(addrs, ",")
}

func (r *resolved) galeraPrimitive() primitive {
	var hostMap []string
	for _, n := range r.nodes {
		hostMap = append(hostMap, n.name+":"+n.addr.String())
	}
	every := r.db.every
	return primitive{id: idGalera, class: "ocf", provider: providerHeartbeat, agent: agentGalera,
		params: [][2]string{
			{"wsrep_cluster_address", r.gcomm()},
			{"cluster_host_map", strings.Join(hostMap, ";")},
			// An empty datadir (a new node) is initialised by the agent.
			{"enable_creation", "true"},
		},
		ops: []op{
			{name: "start", interval: "0s", timeout: galeraOpTimeout},
			{name: "stop", interval: "0s", timeout: galeraOpTimeout},
			{name: "promote", interval: "0s", timeout: galeraPromoteTimeout},
			{name: "demote", interval: "0s", timeout: galeraOpTimeout},
			{name: "monitor", interval: every.String(), timeout: galeraMonitorTimeout, role: "Promoted"},
			{name: "monitor", interval: (every * unpromotedIntervalX).String(), timeout: galeraMonitorTimeout, role: "Unpromoted"},
		},
		cloneMeta: [][2]string{{"promotable", "true"}, {"promoted-max", strconv.Itoa(len(r.nodes))}, {"interleave", "true"}},
	}
}

func (r *resolved) rabbitPrimitive() primitive {
	p := primitive{id: idRabbitMQ, class: "ocf", provider: providerHeartbeat, agent: agentRabbitMQ,
		ops: []op{
			{name: "start", interval: "0s", timeout: rabbitOpTimeout},
			{name: "stop", interval: "0s", timeout: rabbitOpTimeout},
			{name: "monitor", interval: r.mq.every.String(), timeout: rabbitMonitorTimeout},
		},
		cloneMeta: [][2]string{{"notify", "true"}, {"ordered", "true"}, {"interleave", "true"}},
	}
	if r.mq.queues == queuesMirrored {
		p.params = [][2]string{{"set_policy", mirroredPolicy}}
	}
	return p
}

// queuesWhy says how the queues survive a node.
func (r *resolved) queuesWhy() string {
	if r.mq.queues == queuesMirrored {
		return "classic mirrored queues, the HA policy set_policy gives (a quorum queue never gets back a member this agent forgot)"
	}
	return "quorum queues (rabbit_quorum_queue in each service's configuration), no set_policy; each node the agent forgets leaves them for good (grow them back: rabbitmq-queues grow)"
}

// mysqlListener writes haproxy's listener for Galera: one node takes every
// connection, the others are backups.
func (r *resolved) mysqlListener(b *strings.Builder) {
	if r.db == nil || !r.db.galera {
		return
	}
	fmt.Fprintf(b, "\n# MariaDB Galera, port %d: one node at a time.\n", r.db.port)
	indented(b, "", []string{
		"Every connection goes to one node (the first one up; the others are",
		"backups): writes to two Galera nodes at once fail on certification",
		"conflicts (deadlocks the services do not all retry). stick on dst keeps the",
		"node in use while it is up, so a node coming back does not take the",
		"traffic back; the first backup takes over only when the node in use is",
		"out. Each node's sync check (port " + strconv.Itoa(r.db.checkPort) + ", galera-check.socket) answers 200",
		"only while its wsrep_local_state is 4 (Synced): a joiner, a donor and a",
		"node outside the primary component are out, which a MySQL handshake check",
		"(option mysql-check) does not see. on-marked-down shutdown-sessions: when",
		"the node in use is taken out, its connections are closed, so the services",
		"reconnect to the next node at once instead of writing to a node that has",
		"left the cluster. Timeouts of 90m (TripleO's): the services pool idle",
		"connections. timeout check 2s and fall 3: the sync check starts a unit",
		"and a mysql client, which on a loaded node (the whole cluster starting",
		"after a power loss) takes over the defaults' 500ms; a check taken for a",
		"failure closes every session of the node in use. A node gone (refused",
		"or unreachable) fails its checks at the connect, within timeout connect.",
	})
	b.WriteString("listen mysql\n")
	fmt.Fprintf(b, "    bind %s\n", hostPort(r.backendVIP().addr().String(), r.db.port))
	b.WriteString("    mode tcp\n    option tcpka\n    option httpchk GET /\n")
	if r.logTarget != "" {
		b.WriteString("    option tcplog\n")
	}
	b.WriteString("    stick-table type ip size 1000\n    stick on dst\n")
	b.WriteString("    timeout client 90m\n    timeout server 90m\n    timeout check 2s\n")
	for i, n := range r.nodes {
		backup := ""
		if i > 0 {
			backup = " backup"
		}
		fmt.Fprintf(b, "    server %s %s port %d fall 3 on-marked-down shutdown-sessions%s\n", n.name, hostPort(n.addr.String(), r.db.port), r.db.checkPort, backup)
	}
}
