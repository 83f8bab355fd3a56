package render

import (
	"fmt"
	"slices"
	"strings"
)

// The VIP's start before the stops of the node it leaves. Under load
// Pacemaker's controller throttles a transition: while a node's load
// average is above load-threshold (80%) x its cores x 2, it runs one action
// at a time on that node and at most max(1, nodes/2) in the whole cluster,
// one on two or three nodes, whatever batch-limit says. When the VIP's
// node goes into standby or shuts down, the VIP's start elsewhere and that
// node's stops (haproxy's soft stop finishing the sessions it holds, each
// API's drain) are ready together once the VIP has stopped; a stop that
// runs first holds the controller's only slot while the VIP is nowhere. These orders
// make the VIP's start go first. Optional: they order two actions of the
// same transition only, and never hold a stop when the VIP does not start.

// moveFirstComment explains them, in cluster.crm and cluster.pcs.sh.
var moveFirstComment = []string{
	"The VIP starts on its new node before anything stops on the node it left.",
	"A busy controller is throttled: Pacemaker then runs one action at a time",
	"in a cluster of two or three nodes (load-threshold). Once the VIP has",
	"stopped, its start and its old node's stops (haproxy finishing the",
	"sessions it holds, each API's drain) are ready at once; a stop run first",
	"would leave no node answering for the VIP while it drains. Optional:",
	"these order actions of one transition, and hold nothing when the VIP does",
	"not start (a whole cluster stopping). symmetrical=false: nothing about",
	"the starts on a returning node.",
}

// moveFirstBody writes, for each VIP, the order of its start before
// haproxy's stop, and before the stops of the services it serves, of the
// stateful tier and Galera's demote (its database stops there): two
// constraints, as the snippets have them (60-vip-with-haproxy.crm,
// 50-api-clones.crm). A service on other VIPs only is left out: its drain
// holds none of this VIP's clients.
func (r *resolved) moveFirstBody(b *strings.Builder, d dialect) {
	galera := r.db != nil && r.db.galera
	var stateful []string
	if galera {
		stateful = append(stateful, idGaleraClone)
	}
	if r.mq != nil && r.mq.cluster {
		stateful = append(stateful, idRabbitMQClone)
	}
	b.WriteString("\n")
	comment(b, moveFirstComment)
	for i, v := range r.vips {
		vipFirst(b, d, v.moveFirstID("haproxy-stops"), v.id, "stop", []string{idHAProxyClone})
		var stops []string
		for _, s := range r.services {
			if slices.Contains(s.vips, i) {
				stops = append(stops, cloneID(s.name))
			}
		}
		if stops = append(stops, stateful...); len(stops) > 0 {
			vipFirst(b, d, v.moveFirstID("service-stops"), v.id, "stop", stops)
		}
		if galera {
			vipFirst(b, d, v.moveFirstID("galera-demote"), v.id, "demote", []string{idGaleraClone})
		}
	}
}

// vipFirst writes an Optional order: vip's start, then action of each of
// then (in any order among themselves).
func vipFirst(b *strings.Builder, d dialect, id, vip, action string, then []string) {
	switch d.(type) {
	case pcs:
		if len(then) == 1 {
			fmt.Fprintf(b, "pcs constraint order start %s then %s %s kind=Optional symmetrical=false id=%s\n", vip, action, then[0], id)
			return
		}
		fmt.Fprintf(b, "pcs constraint order set %s action=start set %s action=%s sequential=false setoptions kind=Optional symmetrical=false id=%s\n",
			vip, strings.Join(then, " "), action, id)
	default:
		refs := make([]string, len(then))
		for i, t := range then {
			refs[i] = t + ":" + action
		}
		if len(refs) == 1 {
			fmt.Fprintf(b, "order %s Optional: %s:start %s symmetrical=false\n", id, vip, refs[0])
			return
		}
		fmt.Fprintf(b, "order %s Optional: %s:start ( %s ) symmetrical=false\n", id, vip, strings.Join(refs, " "))
	}
}
