package harness

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/stackha/stackha/test/cluster/keepalived"
)

// keepalivedRouterID is the VRRP group of the comparison.
const keepalivedRouterID = 51

// keepalivedConf is node n's keepalived.conf for the comparison: Kolla's
// (state BACKUP, nopreempt, priority by index, advert_int 1, the haproxy
// check script), with the VRRP adverts on the ring network (eth1) and the
// VIP on the service network (eth0): the same split the Pacemaker cluster
// has (corosync on the ring), so that a fault on one network is only that.
func (c *Cluster) keepalivedConf(n *Node, check string) (string, error) {
	var peers []keepalived.Peer
	for _, s := range c.specs {
		a, err := netip.ParseAddr(s.Ring)
		if err != nil {
			return "", err
		}
		peers = append(peers, keepalived.Peer{Name: s.Name, Addr: a})
	}
	vip := netip.PrefixFrom(netip.MustParseAddr(VIP), VIPPrefix)
	conf, err := keepalived.Render(keepalived.Config{RouterID: keepalivedRouterID, VIP: vip, Interface: "eth1",
		AuthPass: "shc", Check: []string{check}}, peers, n.Name)
	if err != nil {
		return "", err
	}
	from, to := vip.String()+" dev eth1", vip.String()+" dev eth0"
	if !strings.Contains(conf, from) {
		return "", fmt.Errorf("keepalived.conf has no %q line to move to eth0", from)
	}
	return strings.Replace(conf, from, to, 1), nil
}

// startKeepaliveds writes haproxy.cfg and starts haproxy and keepalived on
// every node.
func (c *Cluster) startKeepaliveds(ctx context.Context) error {
	if err := os.WriteFile(c.paths.HAProxyCfg, []byte(HAProxyConfig(false, c.specs)), 0o644); err != nil {
		return err
	}
	for _, n := range c.Nodes {
		if err := c.startKeepalived(ctx, n); err != nil {
			return err
		}
	}
	return nil
}

// startKeepalived starts haproxy (the same configuration as the
// Pacemaker cluster's, its stats socket on the node's /run) and keepalived
// on node n.
func (c *Cluster) startKeepalived(ctx context.Context, n *Node) error {
	if err := c.spawn(n, "haproxy", filepath.Join(n.dir, "log", "haproxy.log"), "haproxy", "-db", "-f", c.paths.HAProxyCfg); err != nil {
		return err
	}
	dir := filepath.Join(n.dir, "keepalived")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	script, err := keepalived.CheckScript("/run/shc/haproxy-stats.sock")
	if err != nil {
		return err
	}
	check := filepath.Join(dir, "check_alive.sh")
	if err := os.WriteFile(check, []byte(script), 0o700); err != nil {
		return err
	}
	conf, err := c.keepalivedConf(n, check)
	if err != nil {
		return err
	}
	// A new log per start (the state read from it is this instance's),
	// and no pid file of a powered-off instance: a boot clears /run, and
	// keepalived would take a pid it finds alive (pids restart in the
	// node's new PID namespace) for another instance and exit.
	for _, f := range []string{"keepalived.log", "keepalived.pid", "vrrp.pid", "checkers.pid", "bfd.pid"} {
		if err := os.Remove(filepath.Join(dir, f)); err != nil && !os.IsNotExist(err) {
			return err
		}
	}
	_, err = keepalived.Start(ctx, kaNode{c, n}, dir, conf)
	return err
}

// kaNode is a node as the keepalived package starts daemons in it.
type kaNode struct {
	c *Cluster
	n *Node
}

func (k kaNode) Start(_ context.Context, name, logfile string, argv []string) (keepalived.Proc, error) {
	p, err := k.c.spawnProc(k.n, name, logfile, argv...)
	if err != nil {
		return nil, err
	}
	return kaProc{p}, nil
}

type kaProc struct{ p *proc }

func (k kaProc) Pid() int              { return k.p.pid }
func (k kaProc) Done() <-chan struct{} { return k.p.done }

// Signal signals the daemon's session (nsenter, keepalived and its VRRP
// child), once.
func (k kaProc) Signal(sig syscall.Signal) error {
	select {
	case <-k.p.done:
		return nil
	default:
	}
	return syscall.Kill(-k.p.cmd.Process.Pid, sig)
}

// VIPHolders lists the powered-on nodes with the VIP on eth0.
func (c *Cluster) VIPHolders(ctx context.Context) []*Node {
	var hs []*Node
	for _, n := range c.Nodes {
		if c.IsOn(n) && VIPOn(ctx, n) {
			hs = append(hs, n)
		}
	}
	return hs
}

// WaitVIPHolder waits until exactly one node holds the VIP and returns it.
func (c *Cluster) WaitVIPHolder(ctx context.Context, limit time.Duration) (*Node, error) {
	deadline := time.Now().Add(limit)
	for {
		hs := c.VIPHolders(ctx)
		if len(hs) == 1 {
			return hs[0], nil
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("the VIP is on %d nodes after %s", len(hs), limit)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// keepalivedState is the VRRP state node n's keepalived last logged
// ("MASTER", "BACKUP", "FAULT", ...; "" when none yet): on a systemd
// node, in its journal.
func keepalivedState(n *Node) string {
	if n.sys != nil {
		return journalState(n)
	}
	data, err := os.ReadFile(filepath.Join(n.dir, "keepalived", "keepalived.log"))
	if err != nil {
		return ""
	}
	return stateIn(string(data))
}

// WaitKeepalivedSteady waits until one powered-on node is MASTER and
// holds the VIP and every other is BACKUP: keepalived's steady state.
// A node whose track script has not yet risen (Kolla's rise 10, interval
// 2: 20 s after a start) stays in FAULT and could not take the VIP over.
func (c *Cluster) WaitKeepalivedSteady(ctx context.Context, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for {
		var states []string
		masters, ok := 0, true
		for _, n := range c.Nodes {
			if !c.IsOn(n) {
				continue
			}
			s := keepalivedState(n)
			states = append(states, n.Name+"="+s)
			switch s {
			case "MASTER":
				masters++
			case "BACKUP":
			default:
				ok = false
			}
		}
		if ok && masters == 1 && len(c.VIPHolders(ctx)) == 1 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("keepalived not steady after %s: %s", limit, strings.Join(states, " "))
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// VIPOn reports whether n has the VIP on its service interface.
func VIPOn(ctx context.Context, n *Node) bool {
	out, err := n.Run(ctx, "ip", "-brief", "-4", "addr", "show", "dev", "eth0")
	return err == nil && strings.Contains(out, " "+VIP+"/")
}
