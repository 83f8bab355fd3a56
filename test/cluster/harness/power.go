package harness

import (
	"context"
	"errors"
	"fmt"
	"syscall"
	"time"

	"github.com/stackha/stackha/test/cluster/fence"
)

// powerLimit bounds one power action.
const powerLimit = 60 * time.Second

// PowerOff cuts node n's power: SIGKILL to its init, pid 1 of the node's
// PID namespace, so the kernel kills every process of the node at once,
// and its switch ports lose carrier, as a dead machine's do. It returns
// once every process of the node is gone. Powering off a node that is off
// does nothing.
func (c *Cluster) PowerOff(ctx context.Context, n *Node) error {
	c.powerMu.Lock()
	defer c.powerMu.Unlock()
	c.mu.Lock()
	if !n.on {
		c.mu.Unlock()
		return nil
	}
	n.on = false
	init := n.init
	c.mu.Unlock()
	var errs []error
	if n.sys != nil {
		// sysnode kills the node's systemd and waits until nothing of it
		// runs; its disk stays for the next boot.
		errs = append(errs, n.sys.PowerOff(ctx))
		c.mu.Lock()
		n.initPid = 0
		c.mu.Unlock()
	}
	if init != nil {
		syscall.Kill(init.pid, syscall.SIGKILL)
	}
	for _, port := range []string{"s-" + n.Name, "r-" + n.Name} {
		if _, err := Run(ctx, "ip", "-n", swNS, "link", "set", port, "down"); err != nil {
			errs = append(errs, err)
		}
	}
	if init != nil {
		select {
		case <-init.done:
		case <-ctx.Done():
			errs = append(errs, fmt.Errorf("powering %s off: its init (pid %d) did not die: %w", n.Name, init.pid, ctx.Err()))
		}
	}
	// Everything of the node was in its PID namespace; wait for the
	// daemons' records to see them gone.
	for _, name := range []string{"corosync", "pacemakerd"} {
		if err := c.WaitExit(ctx, n, name); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	c.log.Printf("  %s powered off", n.Name)
	return nil
}

// PowerOn boots node n: its service address alone on eth0 (no address
// survives a power cycle), its switch ports up (one a fault cut stays cut),
// a new init with new PID, mount and UTS namespaces and the node's
// filesystem view, then corosync and pacemakerd; the node then rejoins by
// itself. Powering on a node that is on does nothing.
func (c *Cluster) PowerOn(ctx context.Context, n *Node) error {
	c.powerMu.Lock()
	defer c.powerMu.Unlock()
	c.mu.Lock()
	if n.on || c.closed {
		closed := c.closed
		c.mu.Unlock()
		if closed {
			return errors.New("the cluster is being torn down")
		}
		return nil
	}
	cut := map[string]bool{}
	for p := range n.cut {
		cut[p] = true
	}
	c.mu.Unlock()
	if err := ipBatch(ctx, Prefix+n.Name, []string{"addr flush dev eth0", fmt.Sprintf("addr add %s/24 dev eth0", n.Addr)}); err != nil {
		return err
	}
	// A port whose link comes up forwards again: a cut stays a cut.
	for _, port := range []string{"s-" + n.Name, "r-" + n.Name} {
		if _, err := Run(ctx, "ip", "-n", swNS, "link", "set", port, "up"); err != nil {
			return err
		}
		if cut[port] {
			if err := portState(ctx, port, false); err != nil {
				return err
			}
		}
	}
	if err := c.bootNode(ctx, n); err != nil {
		return err
	}
	if c.opts.Keystone && n.sys == nil {
		if err := c.keystoneNodeFiles(ctx, n); err != nil {
			return err
		}
	}
	start := c.startDaemons
	if c.opts.Keepalived {
		start = func(n *Node) error { return c.startKeepalived(ctx, n) }
	}
	if err := start(n); err != nil {
		return err
	}
	c.mu.Lock()
	n.on = true
	c.mu.Unlock()
	c.log.Printf("  %s powered on", n.Name)
	return nil
}

// waitPower returns once no power action (begun before c.closed was set)
// is under way: the ones after it see c.closed.
func (c *Cluster) waitPower() {
	c.powerMu.Lock()
	defer c.powerMu.Unlock()
	_ = c.IsClosed()
}

// IsClosed reports whether the cluster is being torn down.
func (c *Cluster) IsClosed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closed
}

// IsOn reports whether node n is powered on.
func (c *Cluster) IsOn(n *Node) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return n.on
}

// Link is one of a node's two networks.
type Link string

const (
	// Service is eth0: the VIP, haproxy, the client.
	Service Link = "s-"
	// Ring is eth1: corosync.
	Ring Link = "r-"
)

// Cut partitions node n from link: the switch stops forwarding on the
// node's port (bridge port state disabled), while both ends keep their
// carrier, as when a switch or VLAN fails with the cables in: nothing on
// the node notices but the silence (a pulled cable is Unplug). Mend puts
// it back. A cut survives a power cycle of the node.
func (c *Cluster) Cut(ctx context.Context, n *Node, l Link) error {
	port := string(l) + n.Name
	c.mu.Lock()
	if n.cut == nil {
		n.cut = map[string]bool{}
	}
	n.cut[port] = true
	c.mu.Unlock()
	return portState(ctx, port, false)
}

// Mend ends a Cut of node n from link.
func (c *Cluster) Mend(ctx context.Context, n *Node, l Link) error {
	port := string(l) + n.Name
	c.mu.Lock()
	delete(n.cut, port)
	c.mu.Unlock()
	return portState(ctx, port, true)
}

// portState sets a switch port forwarding or disabled.
func portState(ctx context.Context, port string, forward bool) error {
	state := "0"
	if forward {
		state = "3"
	}
	_, err := Run(ctx, "bridge", "-n", swNS, "link", "set", "dev", port, "state", state)
	return err
}

// Unplug takes node n's switch port on link down: the node's side loses
// its carrier, as with a pulled cable or a dead switch port. Plug undoes
// it.
func (c *Cluster) Unplug(ctx context.Context, n *Node, l Link) error {
	_, err := Run(ctx, "ip", "-n", swNS, "link", "set", string(l)+n.Name, "down")
	return err
}

// Plug ends an Unplug.
func (c *Cluster) Plug(ctx context.Context, n *Node, l Link) error {
	_, err := Run(ctx, "ip", "-n", swNS, "link", "set", string(l)+n.Name, "up")
	return err
}

// Switch returns the fence device's power switch (nil without fencing).
func (c *Cluster) Switch() *fence.Switch { return c.power }

// powerDevice is the cluster as the fence device sees it (fence.Power and
// fence.Lister): node names in, power actions out.
type powerDevice struct{ c *Cluster }

func (d powerDevice) node(name string) (*Node, error) {
	if n := d.c.Node(name); n != nil {
		return n, nil
	}
	return nil, fmt.Errorf("no node %q on this switch", name)
}

func (d powerDevice) PowerOff(name string) error {
	n, err := d.node(name)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), powerLimit)
	defer cancel()
	return d.c.PowerOff(ctx, n)
}

func (d powerDevice) PowerOn(name string) error {
	n, err := d.node(name)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), powerLimit)
	defer cancel()
	return d.c.PowerOn(ctx, n)
}

func (d powerDevice) IsOn(name string) (bool, error) {
	n, err := d.node(name)
	if err != nil {
		return false, err
	}
	return d.c.IsOn(n), nil
}

func (d powerDevice) Nodes() []string {
	var names []string
	for _, n := range d.c.Nodes {
		names = append(names, n.Name)
	}
	return names
}

// startSwitch serves the fence device on powerSocket.
func (c *Cluster) startSwitch(context.Context) error {
	sw, err := fence.NewSwitch(powerSocket(), powerDevice{c})
	if err != nil {
		return err
	}
	c.power = sw
	return nil
}
