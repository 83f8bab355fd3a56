// Package haproxytest forwards to internal/testutil/haproxytest, where the
// haproxy agent's sandbox lives, for agents/haproxy's own tests that still
// import it by this path (files other work is changing). Import
// internal/testutil/haproxytest; this package goes once those tests do.
package haproxytest

import (
	"context"

	to "github.com/stackha/stackha/internal/testutil/haproxytest"
	"github.com/stackha/stackha/internal/testutil/sandbox"
)

// Sandbox is internal/testutil/haproxytest.Sandbox.
func Sandbox(ctx context.Context, dir string) (*sandbox.Sandbox, error) { return to.Sandbox(ctx, dir) }

// BySocket is internal/testutil/haproxytest.BySocket.
func BySocket(socket string) []int { return to.BySocket(socket) }

// KillBySocket is internal/testutil/haproxytest.KillBySocket.
func KillBySocket(socket string) { to.KillBySocket(socket) }
