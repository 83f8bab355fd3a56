// Command failover is `make bench-failover`: failover time through
// the VIP on real Pacemaker clusters in namespaces on this machine, with
// what stackha replaces measured in the same harness and the same run.
// Needs root.
//
//	-kind standby  (default) `crm node standby` of the VIP holder on two
//	               nodes: stackha's vip + haproxy against IPaddr2 + haproxy
//	               run by ocf:heartbeat:anything.
//	-kind crash    power loss of the VIP holder on three nodes: stackha's
//	               agents with fencing, corosync token 1000 ms and 3000 ms,
//	               against keepalived + haproxy (VRRP, advert_int 1); then
//	               faults 10-12 on both with the split-brain watcher.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/stackha/stackha/test/cluster"
	"github.com/stackha/stackha/test/cluster/harness"
)

func main() {
	bin := flag.String("stackha", "bin/stackha", "the stackha binary whose agents to measure")
	runs := flag.Int("runs", 7, "failovers per agent set (the median is reported)")
	kind := flag.String("kind", "standby", "standby, crash or linkloss (fault 4 on keepalived + haproxy, the side issue 27's watchers are measured against)")
	out := flag.String("out", "", "also write the results (markdown) to this file")
	only := flag.String("variants", "", "crash: only these variants, by number from 0 (e.g. 0,4: token 500 ms against keepalived), power loss only")
	logs := flag.String("logs", "", "crash: keep each variant's node logs (Pacemaker, corosync) under this directory, one subdirectory per variant number")
	seed := flag.Bool("seed-order", true, "standby: also measure the old agents with the how-to's constraints (VIP first, then haproxy)")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var report string
	var err error
	switch *kind {
	case "standby":
		report, err = standby(ctx, *bin, *runs, *seed)
	case "crash":
		report, err = crash(ctx, *bin, *runs, *only, *logs)
	case "linkloss":
		report, err = linkLoss(ctx, *runs)
	default:
		err = fmt.Errorf("unknown -kind %q (standby, crash or linkloss)", *kind)
	}
	fmt.Print(report)
	if *out != "" && report != "" {
		if werr := os.WriteFile(*out, []byte(report), 0o644); werr != nil && err == nil {
			err = werr
		} else if werr == nil {
			fmt.Printf("\n(written to %s)\n", *out)
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench-failover:", err)
		os.Exit(1)
	}
}

func standby(ctx context.Context, bin string, runs int, seed bool) (string, error) {
	sets := []harness.AgentSet{harness.Heartbeat()}
	if seed {
		sets = append(sets, harness.HeartbeatSeedOrder())
	}
	if set, err := harness.Stackha(ctx, bin); err != nil {
		fmt.Fprintf(os.Stderr, "bench-failover: stackha's agents not measured: %v\n", err)
	} else {
		sets = append([]harness.AgentSet{set}, sets...)
	}
	res, err := harness.BenchFailover(ctx, os.Stdout, sets, runs)
	return fmt.Sprintf("\nFailover: from `crm node standby` (crm_attribute) of the node holding the VIP to the first successful\n"+
		"HTTP request through the VIP answered by the other node, %d runs per agent set, same harness, same run.\n"+
		"Constraints as `stackha render` writes them (haproxy clone first, then the VIP) unless marked as the how-to's.\n"+
		"Agent times are Pacemaker's exec-time of each start/stop in the transition.\n\n%s", runs, harness.FormatBench(res)), err
}

func crash(ctx context.Context, bin string, runs int, only, logs string) (string, error) {
	abs, _ := filepath.Abs(bin)
	set, err := harness.Stackha(ctx, abs)
	if err != nil {
		return "", err
	}
	// Fenced variants run with render's transition-delay (100 ms with
	// fencing) unless their label says otherwise.
	variants := []cluster.CrashVariant{
		{Label: "(a) stackha vip + haproxy, 3 nodes, fencing, corosync token 500 ms, token_coefficient 0", Opts: harness.Options{Agents: set, Nodes: 3, Fencing: true, Token: 500 * time.Millisecond, ExactToken: true}},
		{Label: "(a) stackha vip + haproxy, 3 nodes, fencing, corosync token 1000 ms, token_coefficient 0", Opts: harness.Options{Agents: set, Nodes: 3, Fencing: true, Token: time.Second, ExactToken: true}},
		{Label: "(a) stackha vip + haproxy, 3 nodes, fencing, corosync token 1000 ms (+650 ms for the third node)", Opts: harness.Options{Agents: set, Nodes: 3, Fencing: true, Token: time.Second}},
		{Label: "(a) stackha vip + haproxy, 3 nodes, fencing, corosync token 3000 ms (default)", Opts: harness.Options{Agents: set, Nodes: 3, Fencing: true, Token: 3 * time.Second}},
		{Label: "(b) keepalived + haproxy, 3 nodes, VRRP advert_int 1 (Kolla's), no fencing", Opts: harness.Options{Keepalived: true, Nodes: 3}},
		{Label: "(a) as the first, without transition-delay (Pacemaker's default 0s: the DC's 1 s sleep)", Opts: harness.Options{Agents: set, Nodes: 3, Fencing: true, Token: 500 * time.Millisecond, ExactToken: true, TransitionDelay: -1}},
	}
	if logs != "" {
		for i := range variants {
			variants[i].Opts.LogDir = filepath.Join(logs, strconv.Itoa(i))
		}
	}
	if only != "" {
		var picked []cluster.CrashVariant
		for _, f := range strings.Split(only, ",") {
			i, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil || i < 0 || i >= len(variants) {
				return "", fmt.Errorf("-variants: %q is not a variant number 0..%d", f, len(variants)-1)
			}
			picked = append(picked, variants[i])
		}
		variants = picked
	}
	started := time.Now()
	res, err := cluster.BenchCrash(ctx, os.Stdout, variants, runs)
	if only != "" {
		// A subset measures the power loss only, not the fault replays.
		var b strings.Builder
		fmt.Fprintf(&b, "\n### Power loss of the VIP holder (make bench-failover KIND=crash, variants %s, %d runs each, %s)\n\n", only, runs, started.UTC().Format("2006-01-02 15:04 UTC"))
		b.WriteString(cluster.FormatCrash(res))
		return b.String(), err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "\n### Power loss of the VIP holder (make bench-failover KIND=crash, %d runs each, %s)\n\n", runs, started.UTC().Format("2006-01-02 15:04 UTC"))
	b.WriteString("From SIGKILL to the init of the VIP holder's PID namespace (every process of the node at once, its\n" +
		"switch ports without carrier) to the end of the first successful HTTP request through the VIP answered by\n" +
		"a survivor, polled every 10 ms from the client (500 ms timeout). Same harness, same run. With fencing the\n" +
		"lost node is fenced (rebooted) through the harness's power switch before Pacemaker moves the VIP.\n" +
		"Corosync declares a node lost after token + consensus (1.2 x token); its token grows by token_coefficient\n" +
		"(650 ms) per node beyond two unless token_coefficient is 0.\n\n")
	b.WriteString(cluster.FormatCrash(res))
	if err != nil {
		return b.String(), err
	}
	// Faults 10-12 with the split-brain watcher, on both.
	var rows []cluster.FaultResult
	for _, sh := range []struct {
		nodes  int
		faults map[int]bool
	}{{3, map[int]bool{10: true, 11: true}}, {2, map[int]bool{12: true}}} {
		c, err := harness.Up(ctx, harness.Options{Agents: set, Nodes: sh.nodes, Fencing: true, Log: os.Stdout})
		if err != nil {
			return b.String(), err
		}
		rows = append(rows, cluster.RunFaults(ctx, c, sh.faults, os.Stdout)...)
		if err := c.Close(); err != nil {
			return b.String(), err
		}
	}
	replays, rerr := cluster.ReplayKeepalived(ctx, os.Stdout, 10*time.Second)
	b.WriteString("\n### Faults 10-12 with the split-brain watcher (ARP who-has for the VIP every 50 ms from the client)\n\n")
	b.WriteString("stackha (fencing on):\n\n" + cluster.FormatResults(rows))
	b.WriteString("\nkeepalived + haproxy (VRRP adverts on the ring network, the VIP on the service network; each cut held 10 s,\n" +
		"then 5 s more with the link back):\n\n" + cluster.FormatReplays(replays))
	return b.String(), rerr
}

// linkLoss is fault 4 on keepalived + haproxy, two and three nodes: what
// the vip agent's event watcher (watch=true) is measured against.
func linkLoss(ctx context.Context, runs int) (string, error) {
	started := time.Now()
	res, err := cluster.LinkLossKeepalived(ctx, os.Stdout, runs)
	var b strings.Builder
	fmt.Fprintf(&b, "\n### Link loss of the VIP holder, keepalived + haproxy (make bench-failover KIND=linkloss, %d runs each, %s)\n\n", runs, started.UTC().Format("2006-01-02 15:04 UTC"))
	b.WriteString("From unplugging the holder's switch ports (no carrier: Kolla's api_interface carries VRRP and the VIP; the\n" +
		"harness's ring and service ports) to the end of the first successful request through the VIP answered by\n" +
		"another node, polled every 10 ms (500 ms timeout); the ports come back and one MASTER is left before the\n" +
		"next run.\n\n")
	b.WriteString(cluster.FormatLinkLoss(res))
	return b.String(), err
}
