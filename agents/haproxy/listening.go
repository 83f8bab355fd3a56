package haproxy

import (
	"bytes"
	"context"
	"time"

	"github.com/stackha/stackha/agents/internal/pcmktool"
	"github.com/stackha/stackha/instance"
)

// The node attribute node_attribute names says where haproxy serves: 1
// from the moment start (or a probe, or a reload) has found it serving, 0
// from the moment stop begins. render's location rule on it sends the VIP
// only where haproxy already listens (docs/faults.md, fault 15). Updating
// it never fails an action: with no node at 1 the VIP's colocation with
// haproxy still places it.

// Bounds of one update: a stop must not wait on attrd (a node that lost
// quorum stops everything at once).
const (
	listenAttrTimeout     = 5 * time.Second
	listenAttrStopTimeout = 2 * time.Second
)

// setNodeAttr runs attrd_updater (tests replace it).
var setNodeAttr = func(ctx context.Context, node, name, value string) ([]byte, error) {
	return pcmktool.Run(ctx, pcmktool.AttrCommand(node, name, value))
}

// publishListening sets the attribute to 1 (serving) or 0, when the
// parameter names one and the node is known (an agent run by hand sets
// nothing).
func (o *op) publishListening(ctx context.Context, serving bool) {
	if o.listenAttr == "" || o.req == nil {
		return
	}
	node := o.req.CRMMeta["on_node"]
	if node == "" {
		return
	}
	value, limit := "0", listenAttrStopTimeout
	if serving {
		value, limit = "1", listenAttrTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	if out, err := setNodeAttr(ctx, node, o.listenAttr, value); err != nil {
		o.log.Warnf("node attribute %s=%s on %s not set (%v): %s", o.listenAttr, value, node, err, instance.Quote(string(bytes.TrimSpace(out))))
		return
	}
	o.log.Debugf("node attribute %s=%s on %s", o.listenAttr, value, node)
}
