package harness

import (
	"context"
	"encoding/xml"
	"fmt"
	"sort"
	"strings"
	"time"
)

// Op is one resource operation as Pacemaker recorded it in the CIB status.
type Op struct {
	Node      string
	Resource  string
	Operation string
	CallID    int
	RC        int
	Exec      time.Duration // exec-time: how long the agent ran
	Queue     time.Duration
}

func (o Op) String() string {
	return fmt.Sprintf("%s %s on %s: %s (rc %d)", o.Resource, o.Operation, o.Node, o.Exec, o.RC)
}

type xmlStatus struct {
	Nodes []struct {
		Uname     string `xml:"uname,attr"`
		Resources []struct {
			ID  string `xml:"id,attr"`
			Ops []struct {
				ID        string `xml:"id,attr"`
				Operation string `xml:"operation,attr"`
				CallID    int    `xml:"call-id,attr"`
				RC        int    `xml:"rc-code,attr"`
				Exec      int    `xml:"exec-time,attr"`
				Queue     int    `xml:"queue-time,attr"`
			} `xml:"lrm_rsc_op"`
		} `xml:"lrm>lrm_resources>lrm_resource"`
	} `xml:"node_state"`
}

// parseOps reads the operations recorded in a CIB status section.
func parseOps(data []byte) ([]Op, error) {
	var s xmlStatus
	if err := xml.Unmarshal(data, &s); err != nil {
		return nil, fmt.Errorf("parsing the CIB status: %w", err)
	}
	var ops []Op
	for _, n := range s.Nodes {
		for _, r := range n.Resources {
			for _, o := range r.Ops {
				ops = append(ops, Op{Node: n.Uname, Resource: r.ID, Operation: o.Operation, CallID: o.CallID, RC: o.RC,
					Exec: time.Duration(o.Exec) * time.Millisecond, Queue: time.Duration(o.Queue) * time.Millisecond})
			}
		}
	}
	return ops, nil
}

// Ops returns the operations recorded in the CIB status.
func (c *Cluster) Ops(ctx context.Context) ([]Op, error) {
	out, err := c.Ctl().Run(ctx, "cibadmin", "--query", "--scope", "status")
	if err != nil {
		return nil, err
	}
	return parseOps([]byte(out))
}

// NewOps returns the start/stop/monitor operations in after that are not
// in before (a different call), in call order per node.
func NewOps(before, after []Op) []Op {
	seen := map[string]bool{}
	for _, o := range before {
		seen[fmt.Sprintf("%s/%s/%s/%d", o.Node, o.Resource, o.Operation, o.CallID)] = true
	}
	var out []Op
	for _, o := range after {
		if !seen[fmt.Sprintf("%s/%s/%s/%d", o.Node, o.Resource, o.Operation, o.CallID)] && o.Operation != "monitor" {
			out = append(out, o)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Node != out[j].Node {
			return out[i].Node < out[j].Node
		}
		return out[i].CallID < out[j].CallID
	})
	return out
}

// FormatOps is one line: each action and its duration.
func FormatOps(ops []Op) string {
	var parts []string
	for _, o := range ops {
		parts = append(parts, fmt.Sprintf("%s %s@%s %dms", o.Resource, o.Operation, o.Node, o.Exec.Milliseconds()))
	}
	return strings.Join(parts, ", ")
}

// FailoverResult is one timed failover.
type FailoverResult struct {
	From, To string
	// Failover runs from the standby command's start to the end of the
	// first successful request through the VIP answered by To.
	Failover time.Duration
	Command  time.Duration // how long the standby command took
	Failed   int           // failed client requests meanwhile
	Ops      []Op          // the agents' actions of that transition
}

// Failover puts the node holding the VIP in standby with standby (nil:
// crm_attribute, as `crm node standby` does) and times the move, polling
// through the VIP with p (whose answers name their node). It waits for the
// cluster to settle before returning.
func (c *Cluster) Failover(ctx context.Context, p *Prober, standby func(context.Context, *Node) error) (FailoverResult, error) {
	from, err := c.VIPNode(ctx)
	if err != nil {
		return FailoverResult{}, err
	}
	to := c.Other(from)
	before, err := c.Ops(ctx)
	if err != nil {
		return FailoverResult{}, err
	}
	if standby == nil {
		standby = func(ctx context.Context, n *Node) error { return c.Standby(ctx, n, true) }
	}
	r := FailoverResult{From: from.Name, To: to.Name}
	t0 := time.Now()
	if err := standby(ctx, from); err != nil {
		return r, err
	}
	r.Command = time.Since(t0)
	wctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	a, err := p.WaitFor(wctx, t0, func(a Attempt) bool { return a.OK && a.Node == to.Name })
	cancel()
	if err != nil {
		return r, fmt.Errorf("no answer from %s through the VIP after %s in standby: %w", to.Name, from.Name, err)
	}
	r.Failover = a.End.Sub(t0)
	if err := c.WaitSettled(ctx, 60*time.Second); err != nil {
		return r, err
	}
	for _, at := range p.Attempts(t0) {
		if !at.OK && at.Start.Before(a.End) {
			r.Failed++
		}
	}
	after, err := c.Ops(ctx)
	if err != nil {
		return r, err
	}
	r.Ops = NewOps(before, after)
	return r, nil
}
