package pkg

// The sandboxes ocf-tester drives the installed agents in.
import (
	_ "github.com/stackha/stackha/internal/testutil/haproxytest"
	_ "github.com/stackha/stackha/internal/testutil/viptest"
)
