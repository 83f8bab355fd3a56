package openstacktest

import (
	"context"

	"github.com/stackha/stackha/internal/testutil/sandbox"
)

// The services Debian's packages can run alone, on loopback, without a
// cloud around them (no keystone): the conformance walk drives these agents
// with ocf-tester.
func init() {
	register("keystone", func(ctx context.Context, dir string) (*Service, error) {
		k, err := SetupKeystone(ctx, dir, false)
		if err != nil {
			return nil, err
		}
		return &k.Service, nil
	})
	register("glance-api", SetupGlance)
	register("placement-api", func(ctx context.Context, dir string) (*Service, error) { return SetupPlacement(ctx, dir, nil) })
	register("cinder-api", func(ctx context.Context, dir string) (*Service, error) { return SetupCinder(ctx, dir, nil) })
	register("heat-api", SetupHeat)
}

func register(agent string, setup func(ctx context.Context, dir string) (*Service, error)) {
	sandbox.Register(agent, func(ctx context.Context, dir string) (*sandbox.Sandbox, error) {
		s, err := setup(ctx, dir)
		if err != nil {
			return nil, err
		}
		return &sandbox.Sandbox{Params: s.Params(), Cleanup: s.Stop}, nil
	})
}
