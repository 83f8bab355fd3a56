package harness

import (
	"context"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/stackha/stackha/test/sysnode"
)

// heat on the stateful tier: heat-api, run by stackha's agent from its
// Debian unit as render configures it (its database on Galera through the
// VIP, its transport_url every RabbitMQ node, both in heat.conf.d from
// render's openstack-conf.sh), and heat-engine from its unit on every node
// (not in Pacemaker: nothing routes to it, its RPC server consumes the
// queue). Listing stacks is an RPC call from heat-api to an engine and
// back, through RabbitMQ: the queue's client (HeatURL).

// HeatPort is heat-api's port on the VIP and on each node.
const HeatPort = 8004

// Heat reports whether the cluster runs heat.
func (c *Cluster) Heat() bool { return slices.Contains(c.opts.Services, "heat-api") }

// heatFiles are node n's heat files: heat.conf as packaged with its
// [database] connection commented out (render's openstack-conf.sh warns
// an operator to: heat-engine's init script passes --config-file, read
// after heat.conf.d, and Debian's file sets sqlite), and the harness's
// drop-in: keystonemiddleware's service user, one engine worker.
func (c *Cluster) heatFiles(files map[string]sysnode.File) error {
	const conf = "/etc/heat/heat.conf"
	data, err := os.ReadFile(conf)
	if err != nil {
		return err
	}
	packaged := regexp.MustCompile(`(?m)^(connection\s*=.*)$`)
	if !packaged.Match(data) {
		return fmt.Errorf("%s sets no [database] connection: Debian's file has changed, see heatFiles", conf)
	}
	data = packaged.ReplaceAll(data, []byte("# commented out by the cluster harness (openstack-conf.sh's warning): $1"))
	files[conf] = sysnode.File{Data: data, Mode: 0o640, Owner: "root:heat"}
	keystone := fmt.Sprintf("http://%s:%d", VIP, KeystonePort)
	files["/etc/heat/heat.conf.d/shc.conf"] = sysnode.File{Mode: 0o640, Owner: "root:heat", Data: []byte(fmt.Sprintf(
		"# cluster harness: heat's service user in keystone, one engine worker\n[DEFAULT]\nnum_engine_workers = 1\n"+
			"[keystone_authtoken]\nwww_authenticate_uri = %[1]s\nauth_url = %[1]s\nauth_type = password\n"+
			"project_domain_name = Default\nuser_domain_name = Default\nproject_name = service\nusername = heat\npassword = %[2]s\n"+
			"region_name = RegionOne\n[clients_keystone]\nauth_uri = %[1]s\n", keystone, c.secrets.service))}
	return nil
}

// setupHeat runs once keystone answers on Galera: heat's schema, its
// service user (project service, role admin, as the install guides
// make it), then heat-engine on every node, and waits until an engine
// consumes the RPC queue.
func (c *Cluster) setupHeat(ctx context.Context) error {
	first := c.Nodes[0]
	admin := fmt.Sprintf("export OS_AUTH_URL=http://%s:%d/v3 OS_USERNAME=admin OS_PASSWORD=%s OS_PROJECT_NAME=admin "+
		"OS_USER_DOMAIN_NAME=Default OS_PROJECT_DOMAIN_NAME=Default OS_IDENTITY_API_VERSION=3\n", VIP, KeystonePort, keystonePassword)
	if _, err := first.Script(ctx, "runuser -u heat -- heat-manage db_sync\n"+admin+
		"openstack project show service >/dev/null 2>&1 || openstack project create --domain default service\n"+
		fmt.Sprintf("openstack user create --domain default --or-show --password %s heat\n", c.secrets.service)+
		"openstack role add --project service --user heat admin\n"); err != nil {
		return fmt.Errorf("heat's database and user: %w", err)
	}
	// Wanted by the target the nodes boot, as enabled on a host: a node
	// that was powered off starts its engine again by itself.
	for _, n := range c.Nodes {
		if _, err := n.sys.Systemctl(ctx, "add-wants", sysnode.NodeTarget, "heat-engine.service"); err != nil {
			return fmt.Errorf("heat-engine on %s: %w", n.Name, err)
		}
		if err := n.sys.Start(ctx, "heat-engine.service"); err != nil {
			return fmt.Errorf("heat-engine on %s: %w", n.Name, err)
		}
	}
	deadline := time.Now().Add(90 * time.Second)
	for {
		out, err := first.Script(ctx, "rabbitmqctl -q list_queues name consumers")
		if err == nil && regexp.MustCompile(`(?m)^engine\s+[1-9]`).MatchString(out) {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("no heat-engine consumes the queue engine after 90 s: %v %s", err, strings.TrimSpace(out))
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Second):
		}
	}
}

// QueueLeader is the node whose RabbitMQ leads the quorum queue name,
// asked from a node that is on.
func (c *Cluster) QueueLeader(ctx context.Context, name string) (*Node, error) {
	for _, n := range c.Nodes {
		if !c.IsOn(n) {
			continue
		}
		out, err := n.Script(ctx, "rabbitmqctl -q list_queues name type leader")
		if err != nil {
			return nil, err
		}
		for _, l := range strings.Split(out, "\n") {
			f := strings.Fields(l)
			if len(f) == 3 && f[0] == name {
				if node := c.Node(strings.TrimPrefix(f[2], "rabbit@")); node != nil {
					return node, nil
				}
				return nil, fmt.Errorf("queue %s: leader %q is no node of this cluster", name, f[2])
			}
		}
		return nil, fmt.Errorf("no queue %s in:\n%s", name, out)
	}
	return nil, fmt.Errorf("no node is on")
}
