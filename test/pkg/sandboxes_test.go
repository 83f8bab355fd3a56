package pkg

// The sandboxes ocf-tester drives the installed agents in.
import (
	_ "github.com/stackha/stackha/agents/haproxy/haproxytest"
	_ "github.com/stackha/stackha/agents/vip/viptest"
)
