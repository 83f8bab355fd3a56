// Package metadata holds the declaration of an OCF resource agent — its
// parameters and actions — and renders it as OCF 1.0 meta-data XML (for
// ocf-tester and older tools), as OCF 1.1 meta-data XML (for Pacemaker 2.1
// and pcs 0.11, which announce 1.1) and as a roff man page. Everything an operator reads about an agent comes from this
// one declaration, so the docs cannot drift from the code.
package metadata

import (
	"time"
)

// Type is the OCF content type of a parameter.
type Type string

// The content types ra-api-1.dtd accepts.
const (
	String  Type = "string"
	Integer Type = "integer"
	Boolean Type = "boolean"
	Time    Type = "time"
)

// Parameter declares one OCF_RESKEY_<Name> parameter.
type Parameter struct {
	Name     string
	Type     Type
	Default  string // "" means no default
	Required bool
	Unique   bool
	Short    string // one line
	Long     string // paragraphs separated by blank lines
	// Unsupported, when not empty, says why the parameter is accepted in
	// meta-data (for drop-in compatibility) but refused when set.
	Unsupported string
	// Ignored, when not empty, says why a set value is accepted but has no
	// effect; the runtime logs a warning with it.
	Ignored string
	// Secret marks a value that must never be quoted in a message, an exit
	// reason or a log line (a password set by mistake in the CIB).
	Secret bool

	// Range bounds an Integer (Min..Max as plain numbers) or a Time (Min..Max
	// as time.Duration nanoseconds). Every numeric parameter has one; a value
	// outside it is a configuration error naming the range.
	Range *Range

	// The OCF 1.1 additions. The 1.0 meta-data leaves them out (ra-api-1.dtd
	// rejects them) except UniqueGroup, which 1.0 renders as unique="1".

	// Reloadable: reload-agent applies a change without a restart.
	Reloadable bool
	// Options: the fixed set of values a String takes (content type="select").
	Options []string
	// Deprecated, when not empty, says why the parameter is deprecated;
	// ReplacedWith names the parameter that replaces it.
	Deprecated   string
	ReplacedWith string
	// UniqueGroup: parameters sharing a group must be unique together.
	UniqueGroup string
}

// Range is the inclusive range of an Integer or Time parameter.
type Range struct{ Min, Max int64 }

// Action declares one action with Pacemaker's advisory timeout.
type Action struct {
	Name     string
	Timeout  time.Duration
	Interval time.Duration // 0: not shown
	Depth    int           // OCF_CHECK_LEVEL this monitor entry runs at
	Role     string
}

// Agent is the whole declaration of one resource agent.
type Agent struct {
	Name       string // e.g. "vip"
	Version    string // of the agent, e.g. "1.0"
	Short      string
	Long       string
	Parameters []Parameter
	Actions    []Action
	// ReplacedWith, when not empty, marks this agent name as deprecated in
	// favour of the named agent (an alias such as quantum-server); 1.1 only.
	ReplacedWith string
}

// Parameter returns the declaration of the named parameter.
func (a *Agent) Parameter(name string) (Parameter, bool) {
	for _, p := range a.Parameters {
		if p.Name == name {
			return p, true
		}
	}
	return Parameter{}, false
}

// Action returns the first declaration of the named action.
func (a *Agent) Action(name string) (Action, bool) {
	for _, act := range a.Actions {
		if act.Name == name {
			return act, true
		}
	}
	return Action{}, false
}
