// Command demo is `make demo`: a throwaway two-node Pacemaker cluster on
// this machine running a VIP, the haproxy clone and keystone, a token
// issued through the VIP, node1 put in standby and the failover timed, node1
// brought back, and everything torn down. Needs root.
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
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := runDemo(ctx, os.Stdout, *agents, *bin, *logs); err != nil {
		fmt.Fprintln(os.Stderr, "demo failed:", err)
		os.Exit(1)
	}
}
