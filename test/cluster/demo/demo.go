package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/stackha/stackha/test/cluster/harness"
)

// selectAgents returns the agent set named which: "heartbeat", "stackha"
// (from the binary bin), or "auto" (stackha's when bin offers its agents,
// else heartbeat).
func selectAgents(ctx context.Context, which, bin string) (harness.AgentSet, error) {
	switch which {
	case "heartbeat":
		return harness.Heartbeat(), nil
	case "stackha":
		return harness.Stackha(ctx, bin)
	case "auto":
		if _, err := os.Stat(bin); err != nil {
			return harness.Heartbeat(), nil
		}
		set, err := harness.Stackha(ctx, bin)
		if err != nil {
			return harness.Heartbeat(), nil
		}
		return set, nil
	}
	return harness.AgentSet{}, fmt.Errorf("unknown agent set %q (stackha, heartbeat or auto)", which)
}

// selectNodes returns the node kind named which for agent set set:
// systemd nodes run what render writes (stackha's agents only).
func selectNodes(which string, set harness.AgentSet) (harness.NodeKind, error) {
	switch which {
	case "lab":
		return harness.LabNodes, nil
	case "systemd", "auto":
		if set.Render && set.Stackha("vip") && set.Stackha("haproxy") && set.Stackha("keystone") {
			return harness.SystemdNodes, nil
		}
		if which == "auto" {
			return harness.LabNodes, nil
		}
		return "", fmt.Errorf("systemd nodes run what `stackha render` writes: they need stackha's agents (agent set %s)", set.Name)
	}
	return "", fmt.Errorf("unknown node kind %q (systemd, lab or auto)", which)
}

// runDemo is `make demo`: it narrates to w.
func runDemo(ctx context.Context, w io.Writer, which, bin, logDir, nodes string) (err error) {
	t0 := time.Now()
	set, err := selectAgents(ctx, which, bin)
	if err != nil {
		return err
	}
	kind, err := selectNodes(nodes, set)
	if err != nil {
		return err
	}
	say := func(format string, a ...any) {
		fmt.Fprintf(w, "\n==> [%5.1fs] %s\n", time.Since(t0).Seconds(), fmt.Sprintf(format, a...))
	}
	show := func(text string) {
		for _, l := range strings.Split(strings.TrimRight(text, "\n"), "\n") {
			fmt.Fprintf(w, "    %s\n", l)
		}
	}
	what := "namespaces"
	if kind == harness.SystemdNodes {
		what = "nodes that boot systemd (corosync, Pacemaker and Debian's keystone.service from their units)"
	}
	say("bringing up a two-node Pacemaker cluster in %s (agents: %s)", what, set.Name)
	show("The demo's small shape: both nodes' keystone on one sqlite database and one key directory\n" +
		"in the machine's shared filesystem, which no two real controllers have. The production shape,\n" +
		"three fenced nodes with MariaDB Galera and RabbitMQ (resource-agents' own agents, as render writes\n" +
		"them), keystone on Galera, its keys copied node to node: make cluster-stateful (docs/stateful.md).")
	c, err := harness.Up(ctx, harness.Options{Agents: set, Keystone: true, Log: w, LogDir: logDir, Kind: kind})
	if err != nil {
		return err
	}
	defer func() {
		say("tearing down")
		if cerr := c.Close(); cerr != nil && err == nil {
			err = cerr
		}
		if err == nil {
			say("done in %.1fs", time.Since(t0).Seconds())
		}
	}()
	out, err := c.CrmMon(ctx)
	if err != nil {
		return err
	}
	say("crm_mon on %s", c.Ctl().Name)
	show(out)

	cl, err := harness.NewClient(harness.ClientNetNS(), 1)
	if err != nil {
		return err
	}
	defer cl.Close()
	url := fmt.Sprintf("http://%s:%d", harness.VIP, harness.KeystonePort)
	say("client %s: keystone token through the VIP (POST %s/v3/auth/tokens)", harness.ClientAddr, url)
	tok, by, err := cl.Token(ctx, url)
	if err != nil {
		return err
	}
	say("token %s issued, haproxy on %s answered", short(tok), by)
	by, err = cl.ValidateToken(ctx, url, tok)
	if err != nil {
		return err
	}
	say("token validated through the VIP (haproxy on %s)", by)

	p, err := harness.StartProber(fmt.Sprintf("http://%s:%d/", harness.VIP, harness.WhoamiPort), 10*time.Millisecond, 500*time.Millisecond)
	if err != nil {
		return err
	}
	defer p.Stop()
	from, err := c.VIPNode(ctx)
	if err != nil {
		return err
	}
	say("the VIP %s is on %s; client polls http://%s/ every 10 ms; running: crm node standby %s", harness.VIP, from.Name, harness.VIP, from.Name)
	r, err := c.Failover(ctx, p, func(ctx context.Context, n *harness.Node) error {
		_, err := c.Ctl().Run(ctx, "crm", "node", "standby", n.Name)
		return err
	})
	if err != nil {
		return err
	}
	say("FAILOVER: first answer from %s through the VIP %.0f ms after `crm node standby %s` started "+
		"(crm itself took %.0f ms; %d client requests failed meanwhile)",
		r.To, harness.Millis(r.Failover), r.From, harness.Millis(r.Command), r.Failed)
	say("agent actions and their durations: %s", harness.FormatOps(r.Ops))
	to := c.Node(r.To)
	out, err = to.Run(ctx, "ip", "-brief", "addr", "show", "dev", "eth0")
	if err != nil {
		return err
	}
	say("addresses on %s's eth0 (the VIP moved):", r.To)
	show(out)
	out, err = c.CrmMon(ctx)
	if err != nil {
		return err
	}
	say("crm_mon")
	show(out)
	tok, by, err = cl.Token(ctx, url)
	if err != nil {
		return err
	}
	say("new token %s through the VIP, answered by haproxy on %s", short(tok), by)

	say("crm node online %s", r.From)
	if _, err := c.Ctl().Run(ctx, "crm", "node", "online", r.From); err != nil {
		return err
	}
	if err := c.WaitSettled(ctx, 90*time.Second); err != nil {
		return err
	}
	now, err := c.VIPNode(ctx)
	if err != nil {
		return err
	}
	say("%s is back; the VIP stays on %s (resource-stickiness: nothing moves back)", r.From, now.Name)
	out, err = c.CrmMon(ctx)
	if err != nil {
		return err
	}
	show(out)
	return nil
}

// short shows the start of a token.
func short(tok string) string {
	if len(tok) > 16 {
		return tok[:16] + "..."
	}
	return tok
}
