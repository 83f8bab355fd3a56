package conformance

// The agents' sandboxes register themselves in internal/sandbox from the
// init of their test-support packages; the walk finds them with
// sandbox.Lookup. Those packages come with the agents' branches: the lead
// enables these imports when merging them.
import (
	// _ "github.com/stackha/stackha/agents/haproxy/haproxytest"
	// _ "github.com/stackha/stackha/agents/openstack/openstacktest"
	_ "github.com/stackha/stackha/agents/vip/viptest"
)
