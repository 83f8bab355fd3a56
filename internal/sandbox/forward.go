// Package sandbox forwards to internal/testutil/sandbox, where the registry
// of agent sandboxes lives, for the agents' own tests that still import it
// by this path (agents/vip, agents/openstack: files other work is
// changing). Import internal/testutil/sandbox; this package goes once those
// tests do.
package sandbox

import (
	"context"

	to "github.com/stackha/stackha/internal/testutil/sandbox"
)

// Lookup is internal/testutil/sandbox.Lookup.
func Lookup(agent string) (to.Func, bool) { return to.Lookup(agent) }

// RunOCFTester is internal/testutil/sandbox.RunOCFTester.
func RunOCFTester(ctx context.Context, instance, agentPath string, params map[string]string) ([]byte, error) {
	return to.RunOCFTester(ctx, instance, agentPath, params)
}
