package openstacktest

import (
	"context"

	"github.com/stackha/stackha/internal/sandbox"
)

// The services Debian's packages can run alone, on loopback, without a
// cloud around them: the conformance walk drives these agents with
// ocf-tester.
func init() {
	sandbox.Register("keystone", func(ctx context.Context, dir string) (*sandbox.Sandbox, error) {
		k, err := SetupKeystone(ctx, dir, false)
		if err != nil {
			return nil, err
		}
		return k.sandbox(), nil
	})
	sandbox.Register("glance-api", func(ctx context.Context, dir string) (*sandbox.Sandbox, error) {
		g, err := SetupGlance(ctx, dir)
		if err != nil {
			return nil, err
		}
		return g.sandbox(), nil
	})
	sandbox.Register("placement-api", func(ctx context.Context, dir string) (*sandbox.Sandbox, error) {
		pl, err := SetupPlacement(ctx, dir, nil)
		if err != nil {
			return nil, err
		}
		return pl.sandbox(), nil
	})
	sandbox.Register("cinder-api", func(ctx context.Context, dir string) (*sandbox.Sandbox, error) {
		s, err := SetupCinder(ctx, dir, nil)
		if err != nil {
			return nil, err
		}
		return s.sandbox(), nil
	})
	sandbox.Register("heat-api", func(ctx context.Context, dir string) (*sandbox.Sandbox, error) {
		s, err := SetupHeat(ctx, dir)
		if err != nil {
			return nil, err
		}
		return s.sandbox(), nil
	})
}
