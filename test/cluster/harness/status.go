package harness

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"
)

// Status is what crm_mon reports.
type Status struct {
	Nodes     []NodeStatus
	Resources []ResourceStatus
	Failures  []Failure
	// Quorum: the partition of the node that answered has quorum.
	Quorum bool
}

// NodeStatus is one node in crm_mon's output.
type NodeStatus struct {
	Name    string `xml:"name,attr"`
	Online  bool   `xml:"online,attr"`
	Standby bool   `xml:"standby,attr"`
	DC      bool   `xml:"is_dc,attr"`
	// Pending: the node's Pacemaker is up but its join to the DC is not
	// finished (no resource runs there yet).
	Pending bool `xml:"pending,attr"`
}

// ResourceStatus is one primitive (clone instances have Clone set).
type ResourceStatus struct {
	ID     string
	Clone  string
	Agent  string
	Role   string
	Active bool
	Failed bool
	Nodes  []string
}

// Failure is a failed operation crm_mon lists.
type Failure struct {
	OpKey      string `xml:"op_key,attr"`
	Node       string `xml:"node,attr"`
	ExitStatus string `xml:"exitstatus,attr"`
	ExitReason string `xml:"exitreason,attr"`
	ExitCode   int    `xml:"exitcode,attr"`
	Status     string `xml:"status,attr"`
	Task       string `xml:"task,attr"`
}

type xmlResource struct {
	ID     string `xml:"id,attr"`
	Agent  string `xml:"resource_agent,attr"`
	Role   string `xml:"role,attr"`
	Active bool   `xml:"active,attr"`
	Failed bool   `xml:"failed,attr"`
	Nodes  []struct {
		Name string `xml:"name,attr"`
	} `xml:"node"`
}

type xmlMon struct {
	Nodes     []NodeStatus `xml:"nodes>node"`
	Resources struct {
		Resources []xmlResource `xml:"resource"`
		Clones    []struct {
			ID        string        `xml:"id,attr"`
			Resources []xmlResource `xml:"resource"`
		} `xml:"clone"`
	} `xml:"resources"`
	Failures []Failure `xml:"failures>failure"`
	DC       struct {
		WithQuorum bool `xml:"with_quorum,attr"`
	} `xml:"summary>current_dc"`
}

// parseStatus parses `crm_mon --output-as=xml`.
func parseStatus(data []byte) (Status, error) {
	var m xmlMon
	if err := xml.Unmarshal(data, &m); err != nil {
		return Status{}, fmt.Errorf("parsing crm_mon XML: %w", err)
	}
	s := Status{Nodes: m.Nodes, Failures: m.Failures, Quorum: m.DC.WithQuorum}
	conv := func(r xmlResource, clone string) ResourceStatus {
		rs := ResourceStatus{ID: r.ID, Clone: clone, Agent: r.Agent, Role: r.Role, Active: r.Active, Failed: r.Failed}
		for _, n := range r.Nodes {
			rs.Nodes = append(rs.Nodes, n.Name)
		}
		return rs
	}
	for _, r := range m.Resources.Resources {
		s.Resources = append(s.Resources, conv(r, ""))
	}
	for _, cl := range m.Resources.Clones {
		for _, r := range cl.Resources {
			s.Resources = append(s.Resources, conv(r, cl.ID))
		}
	}
	return s, nil
}

// Where lists the nodes on which the primitive id (or its clone instances)
// is started, sorted.
func (s Status) Where(id string) []string {
	var nodes []string
	for _, r := range s.Resources {
		if r.ID == id && r.Active && r.Role == "Started" && !r.Failed {
			nodes = append(nodes, r.Nodes...)
		}
	}
	sort.Strings(nodes)
	return nodes
}

// WhereRole lists the nodes on which the primitive id (or its clone
// instances) is active in role (Promoted, Unpromoted), sorted.
func (s Status) WhereRole(id, role string) []string {
	var nodes []string
	for _, r := range s.Resources {
		if r.ID == id && r.Active && r.Role == role && !r.Failed {
			nodes = append(nodes, r.Nodes...)
		}
	}
	sort.Strings(nodes)
	return nodes
}

// ActiveOn lists the resources (clone instances by their primitive's id)
// active on node.
func (s Status) ActiveOn(node string) []string {
	var ids []string
	for _, r := range s.Resources {
		if r.Active && slices.Contains(r.Nodes, node) {
			ids = append(ids, r.ID)
		}
	}
	return ids
}

// Node returns a node's status.
func (s Status) Node(name string) (NodeStatus, bool) {
	for _, n := range s.Nodes {
		if n.Name == name {
			return n, true
		}
	}
	return NodeStatus{}, false
}

// Ctl returns a node through which to query and command the cluster: one
// whose corosync and pacemakerd the harness started and that still run,
// preferring the first.
func (c *Cluster) Ctl() *Node {
	for _, n := range c.Nodes {
		if c.Pid(n, "corosync") != 0 && c.Pid(n, "pacemakerd") != 0 {
			return n
		}
	}
	return c.Nodes[0]
}

// Status runs crm_mon on a live node.
func (c *Cluster) Status(ctx context.Context) (Status, error) {
	return c.StatusOn(ctx, c.Ctl())
}

// StatusOn runs crm_mon on node n.
func (c *Cluster) StatusOn(ctx context.Context, n *Node) (Status, error) {
	out, err := n.Run(ctx, "crm_mon", "-1", "--output-as=xml")
	if err != nil {
		return Status{}, err
	}
	return parseStatus([]byte(out))
}

// CrmMon returns crm_mon's text output (what an operator looks at).
func (c *Cluster) CrmMon(ctx context.Context) (string, error) {
	return c.Ctl().Run(ctx, "crm_mon", "-1", "-r")
}

// VIPNode returns the node the VIP is started on according to Pacemaker.
func (c *Cluster) VIPNode(ctx context.Context) (*Node, error) {
	st, err := c.Status(ctx)
	if err != nil {
		return nil, err
	}
	w := st.Where(c.VIPResource())
	if len(w) != 1 {
		return nil, fmt.Errorf("the VIP is started on %d nodes (%v)", len(w), w)
	}
	return c.Node(w[0]), nil
}

// WaitOnline waits until every node whose corosync runs is online.
func (c *Cluster) WaitOnline(ctx context.Context, limit time.Duration) error {
	return c.poll(ctx, limit, "both nodes online", func(st Status) error {
		for _, n := range c.Nodes {
			ns, ok := st.Node(n.Name)
			if !ok || !ns.Online || ns.Pending {
				return fmt.Errorf("%s not online", n.Name)
			}
		}
		return nil
	})
}

// Settled reports why the cluster is not in its steady state: no node
// half-joined, the VIP started on exactly one node, and every clone started
// on every online node not in standby.
func (c *Cluster) Settled(st Status) error {
	var up []string
	for _, n := range st.Nodes {
		if n.Pending {
			return fmt.Errorf("%s is joining", n.Name)
		}
		if n.Online && !n.Standby {
			up = append(up, n.Name)
		}
	}
	sort.Strings(up)
	if len(up) == 0 {
		return errors.New("no node online")
	}
	for _, id := range c.vipResources() {
		if w := st.Where(id); len(w) != 1 {
			return fmt.Errorf("%s started on %v", id, w)
		}
	}
	for _, id := range c.clones() {
		if w := st.Where(id); strings.Join(w, ",") != strings.Join(up, ",") {
			return fmt.Errorf("%s started on %v, want %v", id, w, up)
		}
	}
	if c.opts.Stateful {
		return statefulSettled(st, up)
	}
	return nil
}

// clones are the cloned primitives every serving node runs.
func (c *Cluster) clones() []string {
	if c.opts.Keystone {
		return []string{"haproxy", "keystone"}
	}
	return []string{"haproxy"}
}

// serving reports why node is not yet serving: it must be online, joined,
// out of standby, and run every clone (haproxy listening for the VIP).
func (c *Cluster) serving(st Status, node string) error {
	ns, ok := st.Node(node)
	switch {
	case !ok || !ns.Online:
		return fmt.Errorf("%s not online", node)
	case ns.Pending:
		return fmt.Errorf("%s is joining", node)
	case ns.Standby:
		return fmt.Errorf("%s in standby", node)
	}
	for _, id := range c.clones() {
		if !slices.Contains(st.Where(id), node) {
			return fmt.Errorf("%s not started on %s", id, node)
		}
	}
	return nil
}

// WaitServing waits until node n is back as a member that serves (online,
// joined, out of standby, its clones started) and the cluster has settled:
// what an operator waits for before taking the next node of a rolling
// restart out. Online alone is not enough: a node whose Pacemaker has just
// started shows online while its join is still under way, and the next
// node's standby then moves the VIP to a node whose haproxy has not
// started (fault 14 lost 97 requests that way, docs/faults.md).
func (c *Cluster) WaitServing(ctx context.Context, n *Node, limit time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	ok := func(st Status) error {
		if err := c.serving(st, n.Name); err != nil {
			return err
		}
		return c.Settled(st)
	}
	if err := c.poll(ctx, limit, n.Name+" serving", ok); err != nil {
		return err
	}
	if _, err := c.Ctl().Run(ctx, "crm_resource", "--wait", "--timeout", fmt.Sprintf("%ds", int(limit.Seconds()))); err != nil {
		return err
	}
	return c.poll(ctx, limit, n.Name+" serving", ok)
}

// StartLimit is how long the harness waits for a node that came back to
// have started its resources: the API agents' start timeout (render's),
// as keystone under uwsgi on a busy machine (other test packages beside
// the cluster) has taken over 35 s to start on a rebooted node.
const StartLimit = 120 * time.Second

// WaitSettled waits until the cluster is in its steady state (Settled) and
// has no pending action.
func (c *Cluster) WaitSettled(ctx context.Context, limit time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	err := c.poll(ctx, limit, "resources started", c.Settled)
	if err != nil {
		return err
	}
	if _, err := c.Ctl().Run(ctx, "crm_resource", "--wait", "--timeout", fmt.Sprintf("%ds", int(limit.Seconds()))); err != nil {
		return err
	}
	return c.poll(ctx, limit, "resources started", c.Settled)
}

func (c *Cluster) poll(ctx context.Context, limit time.Duration, what string, ok func(Status) error) error {
	deadline := time.Now().Add(limit)
	var last error
	for {
		st, err := c.Status(ctx)
		if err == nil {
			if err = ok(st); err == nil {
				return nil
			}
		}
		last = err
		if time.Now().After(deadline) {
			out, _ := c.CrmMon(context.Background())
			return fmt.Errorf("waiting %s for %s: %w\n%s", limit, what, last, out)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for %s: %w (last: %v)", what, ctx.Err(), last)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// Standby puts node n in standby (on) or back online (off), as
// `crm node standby|online` does, with the C tool (no interpreter start-up
// in measured paths).
func (c *Cluster) Standby(ctx context.Context, n *Node, on bool) error {
	v := "off"
	if on {
		v = "on"
	}
	_, err := c.Ctl().Run(ctx, "crm_attribute", "--node", n.Name, "--name", "standby", "--update", v, "--lifetime", "forever")
	return err
}

// Cleanup clears every resource's failure history and, with fencing, the
// fencing history. A node that was just powered on may still be starting
// its controller: the cleanup is tried again for up to 30 s.
func (c *Cluster) Cleanup(ctx context.Context) error {
	var err error
	for deadline := time.Now().Add(30 * time.Second); ; {
		n := c.Ctl()
		if _, err = n.Run(ctx, "crm_resource", "--cleanup"); err == nil && c.opts.Fencing {
			_, err = n.Run(ctx, "stonith_admin", "--cleanup", "--history", "*")
		}
		if err == nil || time.Now().After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w (last: %v)", ctx.Err(), err)
		case <-time.After(500 * time.Millisecond):
		}
	}
}
