// Package openstacktest forwards to internal/testutil/openstacktest, where
// the real OpenStack services for tests are set up, for agents/openstack's
// own tests that still import it by this path (files other work is
// changing). Import internal/testutil/openstacktest; this package goes once
// those tests do.
package openstacktest

import (
	"context"

	to "github.com/stackha/stackha/internal/testutil/openstacktest"
)

// Service is internal/testutil/openstacktest.Service.
type Service = to.Service

// SetupKeystone is internal/testutil/openstacktest.SetupKeystone.
func SetupKeystone(ctx context.Context, dir string, shared bool) (*to.Keystone, error) {
	return to.SetupKeystone(ctx, dir, shared)
}

// SetupGlance is internal/testutil/openstacktest.SetupGlance.
func SetupGlance(ctx context.Context, dir string) (*Service, error) { return to.SetupGlance(ctx, dir) }

// SetupPlacement is internal/testutil/openstacktest.SetupPlacement.
func SetupPlacement(ctx context.Context, dir string, k *to.Keystone) (*Service, error) {
	return to.SetupPlacement(ctx, dir, k)
}

// SetupCinder is internal/testutil/openstacktest.SetupCinder.
func SetupCinder(ctx context.Context, dir string, k *to.Keystone) (*Service, error) {
	return to.SetupCinder(ctx, dir, k)
}

// SetupHeat is internal/testutil/openstacktest.SetupHeat.
func SetupHeat(ctx context.Context, dir string) (*Service, error) { return to.SetupHeat(ctx, dir) }

// RemoveTemplates is internal/testutil/openstacktest.RemoveTemplates.
func RemoveTemplates() { to.RemoveTemplates() }
