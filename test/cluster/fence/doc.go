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
//	for _, e := range sw.History() { ... }       // e.Time, e.Done, e.Node, e.Action, e.Result
//
// The socket is bind-mounted into every node's mount namespace at
// DefaultSocket (/var/lib/shc/power.sock, the agent's default), or left
// where every node already sees it (under the harness's BaseDir) and named
// by the device's socket= parameter. A unix socket is reached by path, so
// it works across network namespaces. If the Power also
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
// list prints one "node," line per node (fence-agents' "plug,alias" with
// no alias), list-status "node,,ON|OFF|UNKNOWN"; monitor pings the switch;
// reboot is off (unless already off) then on, and succeeds once the node
// is off even if powering it on fails, as fence-agents do.
//
// Exit codes are fence-agents': 0 success (status: on), 2 for status when
// the node is off, 1 for every failure (bad arguments, device unreachable,
// the device answering an error). BuildAgent builds the static binary
// (CGO_ENABLED=0) for the harness to bind-mount as /usr/sbin/fence_shc in
// each node; Pacemaker configures it as an ordinary stonith resource:
//
//	primitive fence-node1 stonith:fence_shc params pcmk_host_list=node1 socket=/var/tmp/shc/power.sock
//
// Pacemaker passes the node to fence as plug= (the metadata's host
// argument): do not set plug in the device. Without pcmk_host_list
// Pacemaker asks the agent's list action which nodes the device fences.
// The agent must be found at /usr/sbin/fence_shc inside the node: a
// bind mount needs an existing file there, an overlay on /usr/sbin in the
// node's mount namespace does not (what the Pacemaker test does).
// TestPacemakerDrivesAgent runs it under a real single-node Pacemaker
// (stonith_admin --list-targets, --list, --reboot, --history, a failing
// device).
package fence
