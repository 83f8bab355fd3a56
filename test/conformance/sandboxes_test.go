package conformance

// The agents' sandboxes register themselves in internal/sandbox from the
// init of their test-support packages; the walk finds them with
// sandbox.Lookup. A new agent's <x>test package is imported here.
import (
	_ "github.com/stackha/stackha/agents/haproxy/haproxytest"
	_ "github.com/stackha/stackha/agents/openstack/openstacktest"
	_ "github.com/stackha/stackha/agents/vip/viptest"
)
