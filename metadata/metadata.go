// Package metadata holds the declaration of an OCF resource agent — its
// parameters and actions — and renders it as OCF 1.0 meta-data XML and as a
// roff man page. Everything an operator reads about an agent comes from this
// one declaration, so the docs cannot drift from the code.
package metadata

import (
	"fmt"
	"regexp"
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

var (
	namePattern  = regexp.MustCompile(`^[a-z][a-z0-9_-]*$`)
	paramPattern = regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9_]*$`)
)

var validActions = map[string]bool{
	"start": true, "stop": true, "recover": true, "monitor": true, "restart": true,
	"migrate_to": true, "migrate_from": true, "promote": true, "demote": true,
	"notify": true, "status": true, "reload": true, "meta-data": true, "usage": true,
	"methods": true, "validate-all": true, "reload-agent": true,
}

// Check reports the first inconsistency in a declaration: names that are not
// valid, duplicates, defaults that do not parse as their type, actions the
// OCF 1.0 DTD does not know. Agents call it from tests; the registry calls it
// when an agent registers.
func (a *Agent) Check() error {
	if !namePattern.MatchString(a.Name) {
		return fmt.Errorf("agent name %q: want lower case letters, digits, '-' or '_'", a.Name)
	}
	if a.Short == "" || a.Long == "" {
		return fmt.Errorf("agent %s: short and long descriptions are required", a.Name)
	}
	seen := map[string]bool{}
	for _, p := range a.Parameters {
		if !paramPattern.MatchString(p.Name) {
			return fmt.Errorf("agent %s: parameter name %q is not a valid OCF_RESKEY_ suffix", a.Name, p.Name)
		}
		if seen[p.Name] {
			return fmt.Errorf("agent %s: parameter %s declared twice", a.Name, p.Name)
		}
		seen[p.Name] = true
		switch p.Type {
		case String, Integer, Boolean, Time:
		default:
			return fmt.Errorf("agent %s: parameter %s: unknown type %q", a.Name, p.Name, p.Type)
		}
		if p.Short == "" || p.Long == "" {
			return fmt.Errorf("agent %s: parameter %s: short and long descriptions are required", a.Name, p.Name)
		}
		if p.Default != "" {
			if _, err := ParseValue(p.Type, p.Default); err != nil {
				return fmt.Errorf("agent %s: parameter %s: default: %w", a.Name, p.Name, err)
			}
		}
		if p.Required && p.Default != "" {
			return fmt.Errorf("agent %s: parameter %s is required and has a default", a.Name, p.Name)
		}
	}
	acts := map[string]bool{}
	for _, act := range a.Actions {
		if !validActions[act.Name] {
			return fmt.Errorf("agent %s: action %q is not an OCF action", a.Name, act.Name)
		}
		if act.Timeout <= 0 {
			return fmt.Errorf("agent %s: action %s needs a timeout", a.Name, act.Name)
		}
		key := fmt.Sprintf("%s/%d/%s", act.Name, act.Depth, act.Role)
		if acts[key] {
			return fmt.Errorf("agent %s: action %s (depth %d) declared twice", a.Name, act.Name, act.Depth)
		}
		acts[key] = true
	}
	for _, must := range []string{"start", "stop", "monitor", "meta-data"} {
		if !acts[must+"/0/"] {
			return fmt.Errorf("agent %s: required action %s is not declared", a.Name, must)
		}
	}
	return nil
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
