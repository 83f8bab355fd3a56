package harness

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stackha/stackha/internal/testutil/require"
)

// TestNodesUpDown brings the nodes' namespaces and inits up and tears them
// down, again and again (SHC_CYCLES, 200 by default), and checks each time
// that every node's init is really its node's (its hostname, its own pid 1,
// its own /run) and that teardown leaves nothing. the recorded init (once unshare's short-lived helper): the recorded
// init could be a helper process of unshare, gone a moment later, about
// once in a few hundred starts. No Pacemaker needed.
func TestNodesUpDown(t *testing.T) {
	require.Root(t)
	require.Command(t, "ip", "nsenter", "mount", "umount", "bash", "sleep")
	require.File(t, "/usr/lib/ocf/resource.d")
	cycles := 200
	if v, err := strconv.Atoi(os.Getenv("SHC_CYCLES")); err == nil && v > 0 {
		cycles = v
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	t0 := time.Now()
	for i := 1; i <= cycles; i++ {
		if err := nodesCycle(ctx, 2+i%2); err != nil {
			t.Fatalf("cycle %d of %d: %v", i, cycles, err)
		}
	}
	t.Logf("%d cycles of 2 or 3 nodes up and down in %s", cycles, time.Since(t0).Round(time.Millisecond))
}

func nodesCycle(ctx context.Context, nodes int) (err error) {
	c, err := begin(ctx, Options{Agents: Heartbeat(), Nodes: nodes})
	if err != nil {
		return err
	}
	defer func() {
		if cerr := c.Close(); cerr != nil && err == nil {
			err = cerr
		}
	}()
	if err := c.buildNetwork(ctx); err != nil {
		return err
	}
	if err := c.buildMounts(ctx); err != nil {
		return err
	}
	for _, n := range c.Nodes {
		out, err := n.Script(ctx, `hostname; cat /proc/1/comm; awk '$5 == "/run" && / - tmpfs shc-run /' /proc/self/mountinfo | wc -l`)
		if err != nil {
			return err
		}
		if got, want := strings.Fields(out), []string{n.Name, "bash", "1"}; strings.Join(got, " ") != strings.Join(want, " ") {
			return fmt.Errorf("inside %s: hostname, pid 1 and /run mounts are %q, want %q", n.Name, got, want)
		}
	}
	if host, _ := os.ReadFile("/proc/self/mountinfo"); strings.Contains(string(host), " - tmpfs shc-run ") {
		return fmt.Errorf("a node's /run leaked into the host's mounts")
	}
	return nil
}
