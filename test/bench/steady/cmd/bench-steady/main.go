// Command bench-steady measures the cost of watching a node: the CPU per
// hour of every monitor of one node of the rendered lab topology
// (crm/examples/seed.yaml), stackha against the agents it replaces, in one
// run. Root; `make bench-steady`.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	_ "github.com/stackha/stackha/agents/openstack" // the agents' declared programs, for the sandboxes
	_ "github.com/stackha/stackha/internal/testutil/haproxytest"
	_ "github.com/stackha/stackha/internal/testutil/openstacktest"
	_ "github.com/stackha/stackha/internal/testutil/viptest"
	"github.com/stackha/stackha/test/bench/steady"
)

func main() {
	o := steady.Options{Out: os.Stdout}
	flag.StringVar(&o.Stackha, "stackha", "bin/stackha", "the stackha binary")
	flag.StringVar(&o.IPaddr2, "ipaddr2", "/usr/lib/ocf/resource.d/heartbeat/IPaddr2", "resource-agents' IPaddr2")
	flag.StringVar(&o.Topology, "topology", "crm/examples/seed.yaml", "the topology whose rendered monitors are measured")
	flag.IntVar(&o.Runs, "runs", 20, "measured calls of each check")
	flag.IntVar(&o.Warm, "warm", 3, "warm-up rounds before measuring")
	flag.StringVar(&o.MD, "out", "bin/bench-steady.md", "also write the table here (\"\" for nowhere)")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := steady.Run(ctx, o); err != nil {
		fmt.Fprintln(os.Stderr, "bench-steady:", err)
		stop()
		os.Exit(1)
	}
}
