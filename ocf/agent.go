package ocf

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/stackha/stackha/instance"
	"github.com/stackha/stackha/metadata"
)

// Handler runs one action. ctx ends at the operation's deadline (Pacemaker's
// timeout less a safety margin). The returned error carries the exit code
// (see Error); nil is success.
type Handler func(ctx context.Context, r *Request) error

// Agent is a registered resource agent: its declaration and its handlers.
// meta-data, usage and help are provided by the runtime; validate-all runs
// the declared parameters' parsing and then Handlers["validate-all"] if set.
type Agent struct {
	Meta     metadata.Agent
	Handlers map[string]Handler
	// Aliases are further names the agent answers to (e.g. quantum-server),
	// as registered. An alias's meta-data says it is replaced by the
	// agent's own name.
	Aliases []string
	// Configure, when set, turns the parsed parameters into the agent's
	// configuration (kept in r.Config) before every action but meta-data
	// and usage. Its error is an invalid configuration, handled as one
	// parameter that does not parse (see StopFromState).
	Configure func(r *Request) (any, error)
	// StopFromState and ProbeFromState are stop and probe when the
	// configuration is invalid (a parameter does not parse, or Configure
	// fails): they work from what start recorded in the instance's state
	// (r.Params and r.Config are empty). StopFromState undoes what start
	// did; a record that exists but cannot be read is a failed stop, never
	// "nothing ran". ProbeFromState returns nil when the recorded instance
	// runs (the runtime then reports it running but misconfigured, never
	// "not running"), ocf.Stopped when nothing of it runs. An agent that
	// keeps no state sets neither: such a stop succeeds and such a probe
	// answers "not running", as nothing can have started.
	StopFromState  Handler
	ProbeFromState Handler
}

// Request is one invocation of an action.
type Request struct {
	Agent    string // the agent's name
	Action   string
	Instance string // OCF_RESOURCE_INSTANCE, "" outside a cluster
	Params   Params
	Log      *Logger

	Interval   time.Duration // CRM_meta_interval; 0 for a probe or a one-off action
	Timeout    time.Duration // the operation's timeout, before the margin
	CheckLevel int           // OCF_CHECK_LEVEL (0, 10, 20); validate-all: 10 when unset
	// OCF11 is true when the caller announced OCF 1.1
	// (OCF_RA_VERSION_MAJOR=1, OCF_RA_VERSION_MINOR>=1) or STACKHA_OCF=1.1
	// overrides; STACKHA_OCF=1.0 forces 1.0. It selects the meta-data
	// flavour and whether Degraded reaches Pacemaker as 190.
	OCF11 bool
	Clone Clone

	// Self is the path of the running binary, for an agent that must start
	// a helper copy of itself (vip's background announcer).
	Self string
	// CRMMeta holds every CRM_meta_* attribute Pacemaker passed (lower-case
	// name without the prefix). Not to be confused with Agent.Meta, the
	// agent's declaration.
	CRMMeta map[string]string
	// Config is what the agent's Configure made of Params (nil without one).
	Config any
}

// Clone is what Pacemaker tells an instance of a clone.
type Clone struct {
	IsClone        bool   // clone_max is set
	Instance       string // CRM_meta_clone: this instance's number
	Max, NodeMax   int
	GloballyUnique bool
	Notify         bool
}

// Probe reports whether this is a probe: a monitor with no interval.
func (r *Request) Probe() bool { return r.Action == "monitor" && r.Interval == 0 }

// Name is the name the instance's state and lock go by (instance.Name):
// the resource instance, or the agent's name for an agent run by hand. Run
// refuses an instance that is not a valid id, so the error is only for a
// Request built by hand.
func (r *Request) Name() (string, error) { return instance.Name(r.Agent, r.Instance) }

// The registries are filled by the agents' init functions; the maps are made
// on first use so that the runtime does no work of its own at init.
var (
	regMu    sync.RWMutex
	registry map[string]*registered
	helpers  map[string]HelperFunc
)

// HelperFunc is a helper process an agent starts as a copy of the binary
// (`stackha <name> args...`, e.g. vip's background announcer). It parses its
// own args (the standard library's flag package is enough) and returns an
// error carrying its exit code (see Error), or nil.
type HelperFunc func(ctx context.Context, args []string) error

// RegisterHelper records a helper under name; call it from the agent
// package's init. Dispatch runs it for `stackha <name> args...` before any
// command line is built; the command line's help does not list helpers.
func RegisterHelper(name string, run HelperFunc) {
	regMu.Lock()
	defer regMu.Unlock()
	if helpers == nil {
		helpers = map[string]HelperFunc{}
	}
	if _, dup := helpers[name]; dup {
		panic("helper registered twice: " + name)
	}
	helpers[name] = run
}

// Helper finds a registered helper.
func Helper(name string) (HelperFunc, bool) {
	regMu.RLock()
	defer regMu.RUnlock()
	h, ok := helpers[name]
	return h, ok
}

// registered is one agent of the registry: its name, its further names
// and what builds it.
type registered struct {
	name    string
	aliases []string
	build   func() *Agent
}

// Register adds the agent build makes, under name and its aliases; call it
// from the agent package's init. build runs when the agent is looked up, not
// at init: every process start pays for each package's init, and a run of
// one agent never builds another's declaration. The agent build returns
// must be named name. The consistency check (Check) runs in the tests
// (test/conformance), the declaration's own (metadata.Agent.Check) when
// meta-data is rendered. A duplicate name panics at start-up.
func Register(name string, build func() *Agent, aliases ...string) {
	regMu.Lock()
	defer regMu.Unlock()
	if registry == nil {
		registry = map[string]*registered{}
	}
	e := &registered{name: name, aliases: aliases, build: build}
	for _, n := range append([]string{name}, aliases...) {
		if _, dup := registry[n]; dup {
			panic("agent registered twice: " + n)
		}
		registry[n] = e
	}
}

// Lookup builds the agent of a name or alias.
func Lookup(name string) (*Agent, bool) {
	regMu.RLock()
	e, ok := registry[name]
	regMu.RUnlock()
	if !ok {
		return nil, false
	}
	return e.agent(), true
}

func (e *registered) agent() *Agent {
	a := e.build()
	if a.Meta.Name != e.name {
		panic("agent registered as " + e.name + " builds " + a.Meta.Name)
	}
	a.Aliases = e.aliases
	return a
}

// Names lists every name agents answer to (aliases included), sorted.
func Names() []string {
	regMu.RLock()
	defer regMu.RUnlock()
	var out []string
	for n := range registry {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Check reports the first inconsistency of a registered agent: its
// declaration (metadata.Agent.Check), a handler without a declared action, a
// declared action without a handler.
func (a *Agent) Check() error {
	if err := a.Meta.Check(); err != nil {
		return err
	}
	for name := range a.Handlers {
		if _, ok := a.Meta.Action(name); !ok {
			return fmt.Errorf("agent %s: handler %s has no declared action", a.Meta.Name, name)
		}
	}
	for _, act := range a.Meta.Actions {
		if _, ok := a.Handlers[act.Name]; !ok && !builtin(act.Name) {
			return fmt.Errorf("agent %s: declared action %s has no handler", a.Meta.Name, act.Name)
		}
	}
	return nil
}

// Agents builds every registered agent once, sorted by name.
func Agents() []*Agent {
	regMu.RLock()
	defer regMu.RUnlock()
	var out []*Agent
	for n, e := range registry {
		if n == e.name {
			out = append(out, e.agent())
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Meta.Name < out[j].Meta.Name })
	return out
}

// builtin reports the actions the runtime answers without a handler.
func builtin(action string) bool {
	return action == "meta-data" || action == "usage" || action == "validate-all"
}
