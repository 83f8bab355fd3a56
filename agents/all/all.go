// Package all links every agent into a binary: each import registers
// itself with the ocf runtime. (`stackha render` is a command of
// cmd/stackha/cli, not an agent.)
package all

import (
	_ "github.com/stackha/stackha/agents/dummy"
	_ "github.com/stackha/stackha/agents/haproxy"
	_ "github.com/stackha/stackha/agents/openstack"
	_ "github.com/stackha/stackha/agents/vip"
)
