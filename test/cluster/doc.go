// Package cluster is stackha's cluster test harness: two real Pacemaker +
// Corosync nodes and a client on one machine, each node in its own network,
// mount, UTS and PID namespace, the service network on TEST-NET-1
// (192.0.2.0/24) and the corosync ring on its own bridge (198.51.100.0/24).
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
// the configuration `stackha render` writes.
//
// Entry points: Up (a running cluster), RunFaults (the faults of the
// issue), BenchFailover (failover timing), Demo (make demo); the tests in
// this package run them under `go test` as root.
package cluster
