package harness

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
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
	if _, err := first.Script(ctx, "runuser -u heat -- heat-manage db_sync\n"); err != nil {
		return fmt.Errorf("heat's database: %w", err)
	}
	if err := c.serviceUser(ctx, "heat", c.secrets.service); err != nil {
		return fmt.Errorf("heat's user in keystone: %w", err)
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

// serviceUser makes, through the VIP from the client namespace, keystone's
// project service and the user name (password) with role
// admin on it: what the install guides make for keystonemiddleware.
func (c *Cluster) serviceUser(ctx context.Context, name, password string) error {
	cl, err := NewClient(ClientNetNS(), 1)
	if err != nil {
		return err
	}
	defer cl.Close()
	base := c.KeystoneURL()
	token, _, err := cl.Token(ctx, base)
	if err != nil {
		return err
	}
	call := func(method, path, body string, want int) (string, error) {
		req, err := http.NewRequest(method, base+path, strings.NewReader(body))
		if err != nil {
			return "", err
		}
		req.Header.Set("X-Auth-Token", token)
		req.Header.Set("Content-Type", "application/json")
		resp, err := cl.Do(ctx, req, 30*time.Second)
		if err != nil {
			return "", err
		}
		if resp.Status != want {
			return "", fmt.Errorf("%s %s: status %d, want %d: %s", method, path, resp.Status, want, capped(resp.Body, 200))
		}
		var doc map[string]json.RawMessage
		if err := json.Unmarshal([]byte(resp.Body), &doc); err != nil && resp.Body != "" {
			return "", fmt.Errorf("%s %s: %w", method, path, err)
		}
		for _, key := range []string{"project", "user"} {
			var v struct {
				ID string `json:"id"`
			}
			if json.Unmarshal(doc[key], &v) == nil && v.ID != "" {
				return v.ID, nil
			}
		}
		return "", nil
	}
	project, err := cl.ProjectID(ctx, base, token, "service")
	if err != nil {
		if project, err = call(http.MethodPost, "/v3/projects", `{"project":{"name":"service","domain_id":"default"}}`, http.StatusCreated); err != nil {
			return err
		}
	}
	role, err := cl.idOf(ctx, base, token, "roles", "admin")
	if err != nil {
		return err
	}
	user, err := call(http.MethodPost, "/v3/users", fmt.Sprintf(`{"user":{"name":%q,"domain_id":"default","password":%q,"default_project_id":%q}}`,
		name, password, project), http.StatusCreated)
	if err != nil {
		return err
	}
	_, err = call(http.MethodPut, fmt.Sprintf("/v3/projects/%s/users/%s/roles/%s", project, user, role), "", http.StatusNoContent)
	return err
}

// capped is s cut to n bytes.
func capped(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}

// QueueLeader is the node whose RabbitMQ holds the master (a mirrored
// queue) or the leader (a quorum queue) of queue name, asked from a node
// that is on: the node of the queue's pid (<rabbit@NODE.N.N.N>).
func (c *Cluster) QueueLeader(ctx context.Context, name string) (*Node, error) {
	pidRE := regexp.MustCompile(`^<rabbit@([A-Za-z0-9-]+)\.`)
	deadline := time.Now().Add(30 * time.Second)
	for {
		// asked where Pacemaker runs RabbitMQ: a node whose RabbitMQ is
		// still booting lists nothing
		st, err := c.Status(ctx)
		if err != nil {
			return nil, err
		}
		var out string
		for _, name := range st.Where(RabbitMQResource) {
			if n := c.Node(name); n != nil && c.IsOn(n) {
				out, err = n.Script(ctx, "rabbitmqctl -q list_queues name pid")
				break
			}
		}
		for _, l := range strings.Split(out, "\n") {
			f := strings.Fields(l)
			if err != nil || len(f) != 2 || f[0] != name {
				continue
			}
			m := pidRE.FindStringSubmatch(f[1])
			if m == nil || c.Node(m[1]) == nil {
				return nil, fmt.Errorf("queue %s: pid %q names no node of this cluster", name, f[1])
			}
			return c.Node(m[1]), nil
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("no queue %s after 30 s (%v): %q", name, err, out)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(time.Second):
		}
	}
}
