package harness

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/stackha/stackha/catalog"
	"github.com/stackha/stackha/test/cluster/keepalived"
	"github.com/stackha/stackha/test/sysnode"
)

// The keepalived comparison on systemd nodes (Options.Keepalived with
// SystemdNodes): what an operator without Pacemaker runs, from Debian's
// units. haproxy.service with render's haproxy.cfg (the Pacemaker
// cluster's, the harness's frontends included) and Kolla's stats socket,
// keepalived.service with Kolla's keepalived.conf and check, keystone and
// the services from their units with render's per-node files (each binds
// its node's address). No corosync, no Pacemaker, no fencing.

// kaStatsSocket is haproxy's stats socket for keepalived's check (Kolla's
// check_alive.sh asks it "show info"); /run/haproxy is Debian's
// (tmpfiles.d/haproxy.conf).
const kaStatsSocket = "/run/haproxy/admin.sock"

// kaCheck is where the check script goes in each node.
const kaCheck = "/etc/keepalived/check_alive.sh"

// keepalivedFiles adds node n's files for the comparison.
func (c *Cluster) keepalivedFiles(n *Node, files map[string]sysnode.File) error {
	cfg, err := os.ReadFile(c.paths.HAProxyCfg)
	if err != nil {
		return err
	}
	const global = "\nglobal\n"
	if !strings.Contains(string(cfg), global) {
		return fmt.Errorf("%s has no global section", c.paths.HAProxyCfg)
	}
	withStats := strings.Replace(string(cfg), global, global+
		"    # Added by the cluster harness: Kolla's stats socket, which keepalived's check asks.\n"+
		"    stats socket "+kaStatsSocket+" mode 660 level admin\n", 1)
	script, err := keepalived.CheckScript(kaStatsSocket)
	if err != nil {
		return err
	}
	conf, err := c.keepalivedConf(n, kaCheck)
	if err != nil {
		return err
	}
	files["/etc/haproxy/haproxy.cfg"] = sysnode.File{Data: []byte(withStats)}
	files[kaCheck] = sysnode.File{Data: []byte(script), Mode: 0o700}
	files["/etc/keepalived/keepalived.conf"] = sysnode.File{Data: []byte(conf), Mode: 0o600}
	return nil
}

// kaUnits are the units the comparison runs on each node, in the order
// they start (the services first, keepalived last: a node takes the VIP
// only once its haproxy runs).
func (c *Cluster) kaUnits() []string {
	units := []string{"keystone.service"}
	for _, s := range c.opts.Services {
		units = append(units, UnitOf(s))
	}
	return append(units, "haproxy.service", "keepalived.service")
}

// startKeepalivedUnits starts, on every node, the services, haproxy and
// keepalived from their units (wanted by the target the node boots: a
// node powered off starts them again).
func (c *Cluster) startKeepalivedUnits(ctx context.Context) error {
	for _, n := range c.Nodes {
		for _, u := range c.kaUnits() {
			if _, err := n.sys.Systemctl(ctx, "add-wants", sysnode.NodeTarget, u); err != nil {
				return fmt.Errorf("%s on %s: %w", u, n.Name, err)
			}
		}
		if err := c.StartKeepalivedUnits(ctx, n); err != nil {
			return err
		}
	}
	return nil
}

// StartKeepalivedUnits starts node n's units of the comparison, one after
// the other, and waits until they are active.
func (c *Cluster) StartKeepalivedUnits(ctx context.Context, n *Node) error {
	for _, u := range c.kaUnits() {
		if err := n.sys.Start(ctx, u); err != nil {
			return fmt.Errorf("%s on %s: %w", u, n.Name, err)
		}
	}
	return n.waitUnitsActive(ctx, c.kaUnits(), unitsLimit)
}

// StopKeepalivedUnits stops node n's units of the comparison as an
// operator's rolling restart does, the reverse of their start: keepalived
// first (it gives the VIP up, priority 0, so a peer takes it at once),
// then haproxy (Debian's unit: SIGTERM, a hard stop of what it holds),
// then the services.
func (c *Cluster) StopKeepalivedUnits(ctx context.Context, n *Node) error {
	units := c.kaUnits()
	for i := len(units) - 1; i >= 0; i-- {
		if _, err := n.sys.Systemctl(ctx, "stop", units[i]); err != nil {
			return fmt.Errorf("stopping %s on %s: %w", units[i], n.Name, err)
		}
	}
	return nil
}

// journalState is the VRRP state a systemd node's keepalived last logged
// to the journal, this boot ("" when none).
func journalState(n *Node) string {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := n.Script(ctx, "journalctl -q -b -u keepalived.service -o cat --no-pager | grep -F 'Entering ' | tail -n 1")
	if err != nil {
		return ""
	}
	return stateIn(out)
}

// stateIn is the state of the last "Entering X STATE" line of a log.
func stateIn(log string) string {
	state := ""
	for _, l := range strings.Split(log, "\n") {
		if _, after, ok := strings.Cut(l, "Entering "); ok {
			if f := strings.Fields(after); len(f) > 1 && f[1] == "STATE" {
				state = f[0]
			}
		}
	}
	return state
}

// WaitNodeServes waits until each service of the comparison answers on
// node n's own address (any answer below 500 from keystone and every
// service, asked from the client namespace): the node serves, as an
// operator's rolling restart checks before it takes the next node.
func (c *Cluster) WaitNodeServes(ctx context.Context, n *Node, limit time.Duration) error {
	ports := []string{catalog.Lookup("keystone").Port}
	for _, s := range c.opts.Services {
		if r := catalog.Lookup(s); r != nil {
			ports = append(ports, r.Port)
		}
	}
	cl, err := NewClient(ClientNetNS(), 1)
	if err != nil {
		return err
	}
	defer cl.Close()
	deadline := time.Now().Add(limit)
	for _, port := range ports {
		for {
			resp, err := cl.Get(ctx, "http://"+n.Addr+":"+port+"/", 5*time.Second)
			if err == nil && resp.Status < 500 {
				break
			}
			if time.Now().After(deadline) {
				last := fmt.Sprint(err)
				if err == nil {
					last = fmt.Sprintf("status %d", resp.Status)
				}
				return fmt.Errorf("%s: port %s does not answer below 500 after %s (last: %s)", n.Name, port, limit, last)
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(250 * time.Millisecond):
			}
		}
	}
	return nil
}
