package cluster

import (
	"context"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/stackha/stackha/instance"
	"github.com/stackha/stackha/test/cluster/harness"
)

// setWatchers sets watch on stackha's vip and haproxy (issue 27; on by
// default since 2026-12-07): SHC_WATCH=1 sets it true, SHC_WATCH=0 false
// (make bench-watch's rows without them), each a reload-agent after which
// the next monitor starts or ends each watcher. It returns once every
// watcher runs (on) or none does (off), so that the faults measure that.
func setWatchers(t *testing.T, ctx context.Context, c *harness.Cluster, set harness.AgentSet, on bool) {
	t.Helper()
	var helpers []string
	for _, r := range []struct{ agent, rsc, helper string }{
		{"vip", harness.VIPResource, "vip-watch"}, {"haproxy", "haproxy", "haproxy-watch"}} {
		if !set.Stackha(r.agent) {
			continue
		}
		out, err := c.Node("node1").Run(ctx, "crm_resource", "--resource", r.rsc, "--set-parameter", "watch", "--parameter-value", strconv.FormatBool(on))
		if err != nil {
			t.Fatalf("watch=%t on %s: %v: %s", on, r.rsc, err, out)
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
		if on && len(running) == len(helpers) || !on && len(running) == 0 {
			t.Logf("watch=%t: watchers running: %v", on, running)
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("watch=%t on %v: after 60 s the watchers running are %v", on, helpers, running)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
