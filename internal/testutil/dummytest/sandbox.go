// Package dummytest holds the dummy agent's test-side fixture: the sandbox
// the conformance walk runs ocf-tester in. Only tests import it; nothing
// here is linked into the shipped binary.
package dummytest

import (
	"context"

	"github.com/stackha/stackha/internal/testutil/sandbox"
)

func init() { sandbox.Register("dummy", Sandbox) }

// Sandbox needs no setup: dummy runs nothing and keeps its record in the
// instance's state directory, which its stop removes. The parameters are
// set only to be recorded.
func Sandbox(ctx context.Context, dir string) (*sandbox.Sandbox, error) {
	return &sandbox.Sandbox{Params: map[string]string{"state": "conformance", "fake": "ocf-tester"}, Cleanup: func() {}}, nil
}
