package metadata

import (
	"fmt"
	"regexp"
	"slices"
	"sync"
)

var patterns = sync.OnceValues(func() (name, param *regexp.Regexp) {
	return regexp.MustCompile(`^[a-z][a-z0-9_-]*$`), regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9_]*$`)
})

// The tables below are slices and switches, not maps: a map literal is
// built by code at init, which every agent run would pay for.

var validActions = []string{
	"start", "stop", "recover", "monitor", "restart",
	"migrate_to", "migrate_from", "promote", "demote",
	"notify", "status", "reload", "meta-data", "usage",
	"methods", "validate-all", "reload-agent",
}

// validDepths are the OCF_CHECK_LEVELs an action may declare: the spec's
// three for monitor; for validate-all 0 (the parameters only) and 10 (also
// this node's environment), the two levels the runtime implements.
func validDepths(action string) []int {
	switch action {
	case "monitor":
		return []int{0, 10, 20}
	case "validate-all":
		return []int{0, 10}
	}
	return nil
}

// validRoles are the roles an action may name: Pacemaker's 1.1 names and
// their 1.0 spellings (Master, Slave), which XML11 translates.
var validRoles = []string{"", "Started", "Stopped", "Promoted", "Unpromoted", "Master", "Slave"}

// Check reports the first inconsistency in a declaration: names that are not
// valid, duplicates, defaults that do not parse as their type or lie outside
// their range or options, numeric parameters without a range, OCF 1.1
// attributes that contradict each other, actions OCF does not know. The
// conformance walk runs it on every registered agent; rendering runs it too.
func (a *Agent) Check() error {
	namePat, _ := patterns()
	if !namePat.MatchString(a.Name) {
		return fmt.Errorf("agent name %q: want lower case letters, digits, '-' or '_'", a.Name)
	}
	if a.Short == "" || a.Long == "" {
		return fmt.Errorf("agent %s: short and long descriptions are required", a.Name)
	}
	if a.ReplacedWith != "" && (!namePat.MatchString(a.ReplacedWith) || a.ReplacedWith == a.Name) {
		return fmt.Errorf("agent %s: replaced with %q: want another agent's name", a.Name, a.ReplacedWith)
	}
	seen := map[string]bool{}
	for _, p := range a.Parameters {
		if seen[p.Name] {
			return fmt.Errorf("agent %s: parameter %s declared twice", a.Name, p.Name)
		}
		seen[p.Name] = true
		if err := p.check(); err != nil {
			return fmt.Errorf("agent %s: %w", a.Name, err)
		}
	}
	if err := a.checkRelations(); err != nil {
		return fmt.Errorf("agent %s: %w", a.Name, err)
	}
	return a.checkActions()
}

// check is what one parameter's declaration must satisfy on its own.
func (p Parameter) check() error {
	_, paramPat := patterns()
	if !paramPat.MatchString(p.Name) {
		return fmt.Errorf("parameter name %q is not a valid OCF_RESKEY_ suffix", p.Name)
	}
	switch p.Type {
	case String, Integer, Boolean, Time:
	default:
		return fmt.Errorf("parameter %s: unknown type %q", p.Name, p.Type)
	}
	if p.Short == "" || p.Long == "" {
		return fmt.Errorf("parameter %s: short and long descriptions are required", p.Name)
	}
	if p.Required && p.Default != "" {
		return fmt.Errorf("parameter %s is required and has a default", p.Name)
	}
	switch {
	case (p.Type == Integer || p.Type == Time) && p.Range == nil:
		return fmt.Errorf("parameter %s: %s parameters need a Range", p.Name, p.Type)
	case p.Type != Integer && p.Type != Time && p.Range != nil:
		return fmt.Errorf("parameter %s: a Range is only for integer and time parameters", p.Name)
	case p.Range != nil && p.Range.Min > p.Range.Max:
		return fmt.Errorf("parameter %s: range %s is empty", p.Name, p.FormatRange())
	case p.Type == Time && p.Range != nil && p.Range.Min < 0:
		return fmt.Errorf("parameter %s: a time range cannot start below 0", p.Name)
	}
	if len(p.Options) > 0 {
		if p.Type != String {
			return fmt.Errorf("parameter %s: Options are only for string parameters (a %s is not a select)", p.Name, p.Type)
		}
		for i, o := range p.Options {
			if o == "" || slices.Contains(p.Options[:i], o) {
				return fmt.Errorf("parameter %s: option %q is empty or listed twice", p.Name, o)
			}
		}
	}
	if p.Default != "" {
		if _, err := p.Parse(p.Default); err != nil {
			return fmt.Errorf("parameter %s: default: %w", p.Name, err)
		}
	}
	if p.ReplacedWith != "" && p.Deprecated == "" {
		return fmt.Errorf("parameter %s: ReplacedWith needs Deprecated (the reason)", p.Name)
	}
	if p.Deprecated != "" && p.Required {
		return fmt.Errorf("parameter %s is deprecated and required", p.Name)
	}
	if p.Reloadable && p.Unsupported != "" {
		return fmt.Errorf("parameter %s is unsupported and reloadable", p.Name)
	}
	if p.UniqueGroup != "" {
		if !paramPat.MatchString(p.UniqueGroup) {
			return fmt.Errorf("parameter %s: unique group %q is not a valid name", p.Name, p.UniqueGroup)
		}
		if p.Unique {
			return fmt.Errorf("parameter %s: Unique and UniqueGroup both set (Unique is a group of one)", p.Name)
		}
	}
	return nil
}

// checkRelations checks what ties parameters to each other and to the
// actions: replacements, unique groups, reloadable parameters.
func (a *Agent) checkRelations() error {
	groups := map[string]int{}
	reloadable := false
	for _, p := range a.Parameters {
		if p.ReplacedWith != "" {
			r, ok := a.Parameter(p.ReplacedWith)
			switch {
			case !ok:
				return fmt.Errorf("parameter %s: replaced with %s, which is not declared", p.Name, p.ReplacedWith)
			case r.Name == p.Name:
				return fmt.Errorf("parameter %s is replaced with itself", p.Name)
			case r.Deprecated != "":
				return fmt.Errorf("parameter %s: replaced with %s, which is deprecated too", p.Name, r.Name)
			}
		}
		if p.UniqueGroup != "" {
			groups[p.UniqueGroup]++
		}
		reloadable = reloadable || p.Reloadable
	}
	for g, n := range groups {
		if n < 2 {
			return fmt.Errorf("unique group %s has one parameter: use Unique", g)
		}
		// OCF 1.1 renders a Unique parameter as a group named after it.
		if p, ok := a.Parameter(g); ok && p.Unique {
			return fmt.Errorf("unique group %s has the name of the unique parameter %s", g, p.Name)
		}
	}
	_, hasReload := a.Action("reload-agent")
	switch {
	case reloadable && !hasReload:
		return fmt.Errorf("a parameter is reloadable but the reload-agent action is not declared")
	case hasReload && !reloadable:
		return fmt.Errorf("reload-agent is declared but no parameter is reloadable")
	}
	return nil
}

func (a *Agent) checkActions() error {
	acts := map[string]bool{}
	for _, act := range a.Actions {
		if !slices.Contains(validActions, act.Name) {
			return fmt.Errorf("agent %s: action %q is not an OCF action", a.Name, act.Name)
		}
		if act.Timeout <= 0 {
			return fmt.Errorf("agent %s: action %s needs a timeout", a.Name, act.Name)
		}
		if act.Depth != 0 && !slices.Contains(validDepths(act.Name), act.Depth) {
			return fmt.Errorf("agent %s: action %s cannot run at depth %d", a.Name, act.Name, act.Depth)
		}
		if !slices.Contains(validRoles, act.Role) {
			return fmt.Errorf("agent %s: action %s: unknown role %q", a.Name, act.Name, act.Role)
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
