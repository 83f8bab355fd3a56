package harness

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/stackha/stackha/test/cluster/fence"
)

// PriorityFencingDelay is the two-node cluster's priority-fencing-delay:
// fencing aimed at the node holding the VIP (the resource with a priority)
// waits this long, so in a fence race the VIP holder shoots first.
const PriorityFencingDelay = "5s"

// fencedTransitionDelay is the transition-delay render writes with
// fencing (crm/render: a lost node is fenced about 1 s sooner).
const fencedTransitionDelay = "100ms"

// vipPriority is the VIP's priority meta attribute (what
// priority-fencing-delay weighs).
const vipPriority = "10"

// powerSocket is the power switch's unix socket. It is under BaseDir,
// which every node's mount namespace sees, so fence_shc reaches it from any
// node (a unix socket is reached by path, across network namespaces).
func powerSocket() string { return filepath.Join(BaseDir, "power.sock") }

// fencingCRM is the harness's fencing configuration in crmsh syntax for a
// cluster that does not load `stackha render`'s (an agent set other than
// stackha's three, as the heartbeat agents in the fault matrix): one
// stonith:fence_shc device per node, monitored, and kept off the node it
// fences, as render writes it. A rendered cluster takes render's devices
// (Topology's fencing section).
func fencingCRM(nodes []NodeSpec, sock string) string {
	var b strings.Builder
	for _, n := range nodes {
		fmt.Fprintf(&b, "primitive fence-%s stonith:%s params pcmk_host_list=%s socket=%s power_timeout=20 "+
			"op monitor interval=60s timeout=20s\n", n.Name, fence.AgentName, n.Name, sock)
		fmt.Fprintf(&b, "location fence-%s-not-on-%s fence-%s -inf: %s\n", n.Name, n.Name, n.Name, n.Name)
	}
	return b.String()
}

// fencingProperties switches the CIB file at cib from the how-to's lab mode
// to fencing: stonith-enabled=true, no-quorum-policy=stop, transition-delay
// and, on two nodes, priority-fencing-delay with the VIP's priority (what
// render writes with fencing: a rendered configuration has them already,
// and they are checked instead of set), plus the harness's own: fencing
// retried while the device fails (stonith-max-attempts, fault 13) and a
// bounded stonith-timeout.
func fencingProperties(ctx context.Context, cib string, nodes int, rendered bool) error {
	env := []string{"CIB_file=" + cib}
	props := [][2]string{{"stonith-enabled", "true"}, {"no-quorum-policy", "stop"}, {"transition-delay", fencedTransitionDelay}}
	if nodes == 2 {
		props = append(props, [2]string{"priority-fencing-delay", PriorityFencingDelay})
	}
	if rendered {
		for _, p := range props {
			out, err := runEnv(ctx, env, "crm_attribute", "-t", "crm_config", "-n", p[0], "-G", "-q")
			if err != nil || strings.TrimSpace(out) != p[1] {
				return fmt.Errorf("render's configuration has %s=%q, want %q (%v)", p[0], strings.TrimSpace(out), p[1], err)
			}
		}
		props = nil
	}
	props = append(props, [2]string{"stonith-max-attempts", "1000"}, [2]string{"stonith-timeout", "30s"})
	for _, p := range props {
		if _, err := runEnv(ctx, env, "crm_attribute", "-t", "crm_config", "-n", p[0], "-v", p[1]); err != nil {
			return err
		}
	}
	if nodes == 2 && !rendered {
		if _, err := runEnv(ctx, env, "crm_resource", "-r", VIPResource, "--meta", "-p", "priority", "-v", vipPriority); err != nil {
			return err
		}
	}
	return nil
}

// FenceHistory returns `stonith_admin --history` for node, as seen from
// node from (a survivor).
func (c *Cluster) FenceHistory(ctx context.Context, from *Node, node string) (string, error) {
	return from.Run(ctx, "stonith_admin", "--history", node, "--verbose")
}
