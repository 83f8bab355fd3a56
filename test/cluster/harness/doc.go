// Package harness is stackha's cluster test harness: real Pacemaker +
// Corosync nodes (two or three) and a client on one machine, each node in
// its own network, mount, UTS and PID namespace, the service network on
// TEST-NET-1 (192.0.2.0/24) and the corosync ring on its own bridge
// (198.51.100.0/24).
//
// Each node's init is pid 1 of the node's PID namespace, started by the
// harness itself (so the recorded pid is the init's: the recorded init (once unshare's short-lived helper)). Killing
// it is a power loss: every process of the node dies at once, and its
// switch ports lose their carrier (PowerOff); PowerOn boots the node again
// (same network namespace, new PID, mount and UTS namespaces, corosync and
// pacemakerd) and it rejoins.
//
// Two modes: the how-to's lab mode (stonith-enabled=false,
// no-quorum-policy=ignore) and fencing (Options.Fencing): a power switch
// served by the test process on a unix socket (package fence), the
// test-only fence agent fence_shc in each node's /usr/sbin, one
// stonith:fence_shc device per node kept off the node it fences,
// stonith-enabled=true, no-quorum-policy=stop and, on two nodes,
// priority-fencing-delay. Options.Keepalived runs the comparison instead
// of Pacemaker: haproxy and keepalived as Kolla-Ansible configures them.
//
// Everything it creates is named with the prefix "shc-" (namespaces) or
// lives under BaseDir; it is torn down by the pids it recorded and checked
// for leaks (processes, mounts, namespaces) at the end of every run. A run
// that crashed leaves state that the next run removes before it starts:
// only namespaces named shc-* and mounts under BaseDir, never anything else.
//
// The agent set is a parameter (AgentSet): the agents stackha replaces
// (ocf:heartbeat:IPaddr2, haproxy and keystone run by ocf:heartbeat:anything)
// or stackha's own, installed inside each node's mount namespace only, with
// the configuration `stackha render` writes, fencing included (a fence_shc
// device per node in the topology; other agent sets get the same devices
// from fencingCRM).
//
// Entry points: Up (a running cluster) and, on it, the nodes (Run, Procs,
// PowerOff, PowerOn, Cut, Mend), the status (Status, WaitSettled, Ops,
// Failover), a client in its own namespace (NewClient, StartProber) and
// Close (teardown and leak check); BenchFailover (standby failover timing).
// The fault suites built on it are package cluster (test/cluster), the
// demo is test/cluster/demo, the failover benchmark test/bench/failover.
package harness
