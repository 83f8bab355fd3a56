// Package fence is the cluster harness's fence device: a power switch that
// behaves like a node's BMC, and fence_shc, a test-only fence agent that
// drives it the way pacemaker-fenced drives any fence agent.
//
// # The switch (test process side)
//
// The harness implements Power (power off: every process of the node's PID
// namespace dies at once; power on: the node boots, corosync and pacemakerd
// start and it rejoins) and serves it on a unix socket:
//
//	sw, err := fence.NewSwitch("/var/tmp/shc/power.sock", power)
//	defer sw.Close()
//	sw.SetFailing(errors.New("BMC unreachable")) // fault 13: every request fails
//	sw.SetFailing(nil)                           // the device recovers
//	for _, e := range sw.History() { ... }       // e.Time, e.Node, e.Action, e.Result
//
// The socket is bind-mounted into every node's mount namespace (the agent's
// default path is DefaultSocket, /var/lib/shc/power.sock). A unix socket is
// reached by path, so it works across network namespaces. If the Power also
// implements Lister, the device answers "list" with its nodes.
//
// # The wire protocol
//
// One request per connection, one line each way, both capped (MaxRequest,
// MaxReply bytes) and both under a deadline (IOTimeout on the switch side,
// the agent's power_timeout on the client side):
//
//	OFF <node>    -> OK off           power the node off (returns once it is off)
//	ON <node>     -> OK on            power the node on (returns once it booted)
//	STATUS <node> -> OK on | OK off
//	LIST          -> OK node1 node2 ...
//	PING          -> OK
//	any failure   -> ERR <message>
//
// Node names are 1 to 64 characters of [A-Za-z0-9._-].
//
// # The agent (node side)
//
// fence_shc (cmd/fence_shc, a thin main over Main) reads its options as
// key=value lines on stdin, as pacemaker-fenced passes them, or from the
// command line (-o/--action, -n/--plug, --socket, --power-timeout):
//
//	action=off|on|reboot|status|monitor|list|list-status|metadata|validate-all
//	port=<node> or plug=<node>   the node to act on
//	nodename=<node>              the node running the agent (ignored, as fence-agents do)
//	socket=<path>                the switch (default DefaultSocket)
//	power_timeout=<seconds>      the limit of one request (default 20, 1 to 600)
//
// Exit codes are fence-agents': 0 success (status: on), 2 for status when
// the node is off, 1 for every failure (bad arguments, device unreachable,
// the device answering an error). BuildAgent builds the static binary (CGO_ENABLED=0) for the
// harness to bind-mount as /usr/sbin/fence_shc in each node.
package fence
