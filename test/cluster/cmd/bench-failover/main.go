// Command bench-failover is `make bench-failover`: failover time through
// the VIP on a real two-node Pacemaker cluster, stackha's vip + haproxy
// agents against IPaddr2 + haproxy run by ocf:heartbeat:anything, in the
// same harness and the same run. Needs root.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/stackha/stackha/test/cluster"
)

func main() {
	bin := flag.String("stackha", "bin/stackha", "the stackha binary whose agents to measure")
	runs := flag.Int("runs", 7, "failovers per agent set (the median is reported)")
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	seed := flag.Bool("seed-order", true, "also measure the old agents with the seed's constraints (VIP first, then haproxy)")
	flag.Parse()
	sets := []cluster.AgentSet{cluster.Heartbeat()}
	if *seed {
		sets = append(sets, cluster.HeartbeatSeedOrder())
	}
	if set, err := cluster.Stackha(ctx, *bin); err != nil {
		fmt.Fprintf(os.Stderr, "bench-failover: stackha's agents not measured: %v\n", err)
	} else {
		sets = append([]cluster.AgentSet{set}, sets...)
	}
	res, err := cluster.BenchFailover(ctx, os.Stdout, sets, *runs)
	fmt.Printf("\nFailover: from `crm node standby` (crm_attribute) of the node holding the VIP to the first successful\n"+
		"HTTP request through the VIP answered by the other node, %d runs per agent set, same harness, same run.\n"+
		"Constraints as `stackha render` writes them (haproxy clone first, then the VIP) unless marked as the seed's.\n"+
		"Agent times are Pacemaker's exec-time of each start/stop in the transition.\n\n%s", *runs, cluster.FormatBench(res))
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench-failover:", err)
		os.Exit(1)
	}
}
