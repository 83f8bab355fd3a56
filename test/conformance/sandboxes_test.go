package conformance

// The agents' sandboxes register themselves in internal/testutil/sandbox
// from the init of their test-support packages (internal/testutil/<x>test);
// the walk finds them with sandbox.Lookup. A new agent's <x>test package is
// imported here.
import (
	_ "github.com/stackha/stackha/internal/testutil/dummytest"
	_ "github.com/stackha/stackha/internal/testutil/haproxytest"
	_ "github.com/stackha/stackha/internal/testutil/openstacktest"
	_ "github.com/stackha/stackha/internal/testutil/viptest"
)
