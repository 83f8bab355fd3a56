// Command demo is `make demo`: a throwaway two-node Pacemaker cluster on
// this machine running a VIP, the haproxy clone and keystone, a token
// issued through the VIP, node1 put in standby and the failover timed, node1
// brought back, and everything torn down. With stackha's agents the nodes
// boot systemd and run what `stackha render` writes, corosync, Pacemaker
// and Debian's keystone.service (uwsgi) from their units (-nodes systemd,
// the default); -nodes lab runs the harness's lighter lab nodes. Needs
// root.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	bin := flag.String("stackha", "bin/stackha", "the stackha binary whose agents to run")
	agents := flag.String("agents", "auto", "agent set: stackha, heartbeat (the agents stackha replaces), or auto (stackha's where it has them)")
	logs := flag.String("logs", "", "keep the nodes' Pacemaker and Corosync logs in this directory")
	nodes := flag.String("nodes", "auto", "node kind: systemd (nodes that boot systemd, stackha's agents only), lab, or auto (systemd with stackha's agents)")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := runDemo(ctx, os.Stdout, *agents, *bin, *logs, *nodes); err != nil {
		fmt.Fprintln(os.Stderr, "demo failed:", err)
		os.Exit(1)
	}
}
