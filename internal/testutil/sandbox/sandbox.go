// Package sandbox is the test side's registry of agent sandboxes: a
// throwaway setup on this machine (a namespace, a config file, a local
// service) in which an agent can be driven for real by ocf-tester in the
// conformance walk, by the benchmarks and by the cluster harness. Each
// agent's test-support package (internal/testutil/<x>test) registers its
// sandbox here from init; nothing of this is linked into the shipped binary.
package sandbox

import (
	"context"
	"sync"
)

// Sandbox is what a Func prepared: the parameters to pass to the agent and
// how to undo the setup.
type Sandbox struct {
	Params  map[string]string
	Cleanup func()
}

// Func prepares a sandbox under dir (root only, as a rule).
type Func func(ctx context.Context, dir string) (*Sandbox, error)

var (
	mu  sync.RWMutex
	reg = map[string]Func{}
)

// Register records agent's sandbox; a second registration of one agent panics.
func Register(agent string, f Func) {
	mu.Lock()
	defer mu.Unlock()
	if _, dup := reg[agent]; dup {
		panic("sandbox registered twice: " + agent)
	}
	reg[agent] = f
}

// Lookup finds the sandbox of an agent.
func Lookup(agent string) (Func, bool) {
	mu.RLock()
	defer mu.RUnlock()
	f, ok := reg[agent]
	return f, ok
}
