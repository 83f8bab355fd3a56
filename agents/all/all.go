// Package all links every agent (and tool command) into a binary: each
// import registers itself with the ocf runtime.
package all

import (
	_ "github.com/stackha/stackha/agents/haproxy"
	_ "github.com/stackha/stackha/agents/openstack"
	_ "github.com/stackha/stackha/agents/vip"
	_ "github.com/stackha/stackha/crm/render" // stackha render
)
