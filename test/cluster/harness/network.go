package harness

import (
	"context"
	"fmt"
	"os"
	"strings"
	"syscall"
)

func (c *Cluster) buildNetwork(ctx context.Context) error {
	for _, ns := range c.nsNames() {
		if _, err := Run(ctx, "ip", "netns", "add", ns); err != nil {
			return err
		}
		var st syscall.Stat_t
		if err := syscall.Stat("/run/netns/"+ns, &st); err != nil {
			return fmt.Errorf("namespace %s: %w", ns, err)
		}
		c.nsIno["net:"+ns] = st.Ino
	}
	// Both ends of each veth are created inside namespaces: the host's
	// network is never touched.
	sw := []string{
		"link set lo up",
		"link add br0 type bridge",
		"link add br1 type bridge",
		"link set br0 up",
		"link set br1 up",
	}
	for _, n := range c.Nodes {
		sw = append(sw,
			fmt.Sprintf("link add s-%s type veth peer name eth0 netns %s%s", n.Name, Prefix, n.Name),
			fmt.Sprintf("link add r-%s type veth peer name eth1 netns %s%s", n.Name, Prefix, n.Name),
			fmt.Sprintf("link set s-%s master br0 up", n.Name),
			fmt.Sprintf("link set r-%s master br1 up", n.Name))
	}
	sw = append(sw, "link add s-client type veth peer name eth0 netns "+clientNS, "link set s-client master br0 up")
	if err := ipBatch(ctx, swNS, sw); err != nil {
		return err
	}
	for _, n := range c.Nodes {
		if err := ipBatch(ctx, Prefix+n.Name, []string{
			"link set lo up",
			fmt.Sprintf("addr add %s/24 dev eth0", n.Addr),
			fmt.Sprintf("addr add %s/24 dev eth1", n.Ring),
			"link set eth0 up",
			"link set eth1 up",
		}); err != nil {
			return err
		}
		// haproxy binds the VIP on every node, before the VIP is there.
		if _, err := Run(ctx, "ip", "netns", "exec", Prefix+n.Name, "sysctl", "-q", "-w", "net.ipv4.ip_nonlocal_bind=1"); err != nil {
			return err
		}
	}
	return ipBatch(ctx, clientNS, []string{
		"link set lo up",
		"addr add " + ClientAddr + "/24 dev eth0",
		"link set eth0 up",
	})
}

func ipBatch(ctx context.Context, ns string, cmds []string) error {
	f, err := os.CreateTemp("", "shc-ip-")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if _, err := f.WriteString(strings.Join(cmds, "\n") + "\n"); err != nil {
		f.Close()
		return err
	}
	f.Close()
	_, err = Run(ctx, "ip", "-n", ns, "-batch", f.Name())
	return err
}
