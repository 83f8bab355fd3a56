package cluster

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/stackha/stackha/instance"
	"github.com/stackha/stackha/test/cluster/harness"
)

// enableWatchers (SHC_WATCH=1) sets watch=true on stackha's vip and
// haproxy (issue 27): a reload-agent, then the next monitor starts each
// watcher. It returns once every watcher runs, so that the faults measure
// them.
func enableWatchers(t *testing.T, ctx context.Context, c *harness.Cluster, set harness.AgentSet) {
	t.Helper()
	var helpers []string
	for _, r := range []struct{ agent, rsc, helper string }{
		{"vip", harness.VIPResource, "vip-watch"}, {"haproxy", "haproxy", "haproxy-watch"}} {
		if !set.Stackha(r.agent) {
			continue
		}
		out, err := c.Node("node1").Run(ctx, "crm_resource", "--resource", r.rsc, "--set-parameter", "watch", "--parameter-value", "true")
		if err != nil {
			t.Fatalf("watch=true on %s: %v: %s", r.rsc, err, out)
		}
		helpers = append(helpers, r.helper)
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		ps, _ := instance.Processes(func(instance.Proc) bool { return true }, func(instance.Proc) bool { return true })
		running := map[string]bool{}
		for _, p := range ps {
			if argv, err := instance.Cmdline(p.PID); err == nil && len(argv) > 1 && slices.Contains(helpers, argv[1]) {
				running[argv[1]] = true
			}
		}
		if len(running) == len(helpers) {
			t.Logf("watchers running: %v", helpers)
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("watchers %v not all running after watch=true (running: %v)", helpers, running)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
