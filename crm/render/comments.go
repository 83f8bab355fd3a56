package render

import "fmt"

// The comments written into cluster.crm and cluster.pcs.sh; the README
// says the same.

// orderComment explains the order chosen between haproxy and the VIP. It is
// written into cluster.crm and cluster.pcs.sh; the README says the same.
var orderComment = []string{
	"Every node runs haproxy all the time, its frontends bound to the VIP even",
	"where the VIP is absent: that needs net.ipv4.ip_nonlocal_bind=1 (and",
	"net.ipv6.ip_nonlocal_bind=1 for an IPv6 VIP) on every node, the how-to's",
	"first step. A failover is then only the address moving (plus its gratuitous",
	"ARP): the haproxy that takes the traffic is already up, its health checks",
	"already current. The colocation puts the VIP where haproxy runs, never the",
	"other way round: `colocation haproxy-with-vip inf: haproxy-clone api-vip`",
	"would pin the whole clone to the VIP's node and leave one haproxy in all.",
	"",
	"Order: stops only. On a node that loses the VIP, the VIP goes first, then",
	"haproxy soft-stops (its listeners close while the address is already",
	"elsewhere; it finishes the sessions it holds, up to its stop_timeout). No",
	"start order: `order haproxy-clone then api-vip` tied the VIP's start to the",
	"clone as a whole, so in a transition that also started haproxy on some node",
	"(a node coming back while the VIP's node went into standby) the VIP's start",
	"waited for the clone's stop on the old node, that is for haproxy's drain:",
	"up to 30 s with no node answering for the VIP. The VIP now starts as soon as",
	"it has left its old node. The stop order is Optional: it holds whenever both",
	"stops are in one transition (a standby, a failed haproxy), but a Mandatory",
	"one ties every haproxy instance to the VIP's stop wherever the VIP runs, and",
	"a node cut off from the others (no quorum) then cannot stop its haproxy:",
	"the VIP's stop on a node it cannot see waits for that node's fencing.",
	"",
	"The how-to's order, `order haproxy-after-IP mandatory: api-vip haproxy`, fails",
	"here: with haproxy a clone, every move of the VIP stops and restarts haproxy",
	"on every node (the clone is ordered after the VIP), so a failover becomes a",
	"full outage of every API for haproxy's stop and start time; and without",
	"non-local bind the instances on nodes without the VIP cannot bind at all,",
	"fail to start, and reach migration-threshold.",
	"Failure of one haproxy instance: Pacemaker restarts it where it ran (after",
	"migration-threshold failures the node is banned for haproxy). On the VIP's",
	"node its stop clears the attribute below first, so the VIP moves to a node",
	"where haproxy listens rather than wait for the restart.",
}

var defaultsComment = []string{
	"resource-stickiness: a recovered node does not pull resources back (no",
	"second interruption). failure-timeout=0 (the how-to's) keeps failures until",
	"`crm resource cleanup`; migration-threshold moves a resource away from a",
	"node after that many failures there.",
}

// serviceComment introduces the API services.
var serviceComment = []string{
	"The API services, each a clone on every node, listening on the node's own",
	"address (haproxy holds their ports on the VIP); hence the url per node.",
	"No constraint ties them to the VIP: haproxy's health checks route around a",
	"failed instance, and Pacemaker restarts it where it failed. Each monitor's",
	"probe gives up after probe_timeout=" + probeTimeout + ", so a hung service fails its",
	"monitor that long after the monitor starts (at most interval + probe_timeout",
	"after it hangs), not at the op's timeout; Pacemaker then restarts it.",
}

// fencingComment introduces the fencing devices.
var fencingComment = []string{
	"Fencing devices, one per node. Each is kept off the node it fences (a node",
	"is never trusted to power itself off) and names that node in",
	"pcmk_host_list, or in pcmk_host_map when the device calls it otherwise. No",
	"password is written here: password_script reads a root-only file on the",
	"node, or runs the operator's script.",
}

// propertyComment explains the fencing and quorum properties chosen.
func (r *resolved) propertyComment() []string {
	if len(r.fencing) == 0 {
		return []string{
			"Fencing and quorum: LAB MODE. The topology has no fencing devices, so the",
			"how-to's lab settings apply: stonith-enabled=false and no-quorum-policy=ignore",
			"let a cluster run without fencing hardware. A node that loses corosync then",
			"keeps its resources: a split brain runs the VIP on two nodes and ARP flaps",
			"between them. Production gives fencing.devices in the topology (one per",
			"node), which turns on stonith-enabled=true and no-quorum-policy=stop.",
		}
	}
	l := []string{
		"Fencing and quorum: stonith-enabled=true, a device per node (below). A node",
		"that is lost is powered off before its resources start elsewhere, so the",
		"VIP is never up on two nodes. no-quorum-policy=" + r.t.Cluster.NoQuorumPolicy + ": a partition without",
		"quorum stops its resources (a node cut off from the others gives up the",
		"VIP) while the majority fences it.",
	}
	if r.fenceRace() {
		l = append(l, "",
			"Two nodes: corosync's two_node keeps the survivor of a node loss quorate,",
			"and a break of the ring becomes a fence race. priority-fencing-delay="+r.t.Fencing.PriorityDelay.String(),
			fmt.Sprintf("holds back fencing of the node with the higher priority: api-vip has priority=%s,", vipPriority),
			"every other resource 0, so the VIP's node fences the other first and the",
			"VIP stays. The delay must exceed the time a device takes to power a node",
			"off; it also delays, by as much, fencing of a VIP holder that crashed.")
	}
	if d := r.t.Cluster.TransitionDelay; d != nil && *d > 0 {
		l = append(l, "",
			"transition-delay="+d.String()+": the DC waits this long before it plans a transition. After",
			"a node loss it writes the lost node's state to the CIB and, at the same time,",
			"asks the CIB for the scheduler's input; Pacemaker 2.1's controller sleeps 1 s",
			"and asks again when that answer comes back before its own writes are done,",
			"which they rarely are. Waiting a little lets the writes finish first: the",
			"lost node is fenced, and the VIP moves, about 1 s sooner (docs/benchmarks.md).",
			"Every other transition starts that much later.")
	}
	return l
}
