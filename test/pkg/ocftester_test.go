package pkg

import (
	"context"
	"testing"
	"time"

	"github.com/stackha/stackha/internal/testutil/sandbox"
)

func ocfTester(t *testing.T, agent, path string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if out, err := sandbox.OCFTester(ctx, agent, "pkg-"+agent, path, t.TempDir()); err != nil {
		t.Errorf("installed %s: %v\n%s", agent, err, out)
	}
}
