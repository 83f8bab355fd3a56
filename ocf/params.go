package ocf

import (
	"fmt"
	"github.com/stackha/stackha/instance"
	"strings"
	"time"

	"github.com/stackha/stackha/metadata"
)

// Params are an agent's parameters, parsed from OCF_RESKEY_* against its
// declaration. Asking for a parameter the agent did not declare is a bug in
// the agent and panics (the runtime turns that into exit 1).
type Params struct {
	agent string
	decl  map[string]metadata.Parameter
	vals  map[string]metadata.Value
	set   map[string]bool
}

// ParseParams reads every declared parameter from env. A value that does not
// parse as its type, lies outside its declared Range, a missing required
// parameter or a set unsupported one is a configuration error (exit 6)
// naming the parameter and the value (unless Secret) and the range.
// Warnings (ignored parameters) are returned for the caller to log.
func ParseParams(a *metadata.Agent, env Env) (Params, []string, error) {
	p := Params{agent: a.Name, decl: map[string]metadata.Parameter{}, vals: map[string]metadata.Value{}, set: map[string]bool{}}
	var warnings []string
	for _, d := range a.Parameters {
		p.decl[d.Name] = d
		raw, ok := env.Lookup("OCF_RESKEY_" + d.Name)
		shown := d.Name + "=" + instance.Quote(raw)
		if d.Secret {
			shown = d.Name + " (value not shown)"
		}
		if ok && raw != "" {
			p.set[d.Name] = true
			if d.Unsupported != "" && !sameAsDefault(d, raw) {
				return p, warnings, Configured("parameter %s is not supported: %s", shown, d.Unsupported)
			}
			if d.Ignored != "" {
				warnings = append(warnings, fmt.Sprintf("parameter %s is ignored: %s", shown, d.Ignored))
			}
		} else {
			if d.Required {
				return p, warnings, Configured("required parameter %s is not set", d.Name)
			}
			raw = d.Default
		}
		if raw == "" {
			p.vals[d.Name] = metadata.Value{}
			continue
		}
		// Parse checks the type, the declared range and the options.
		v, err := d.Parse(raw)
		if err != nil {
			if d.Secret {
				if r := d.FormatRange(); r != "" {
					return p, warnings, Configured("parameter %s: not a valid %s in the range %s", shown, d.Type, r)
				}
				return p, warnings, Configured("parameter %s: not a valid %s", shown, d.Type)
			}
			return p, warnings, Configured("parameter %s: %w", d.Name, err)
		}
		p.vals[d.Name] = v
	}
	return p, warnings, nil
}

func (p Params) value(name string, want metadata.Type) metadata.Value {
	d, ok := p.decl[name]
	if !ok {
		panic(fmt.Sprintf("agent %s: parameter %q is not declared", p.agent, name))
	}
	if want != "" && d.Type != want {
		panic(fmt.Sprintf("agent %s: parameter %q is %s, read as %s", p.agent, name, d.Type, want))
	}
	return p.vals[name]
}

// String is the raw value (or default); "" when neither.
func (p Params) String(name string) string { return p.value(name, "").Raw }

// Int is an integer parameter's value (0 when unset and without default).
func (p Params) Int(name string) int { return p.value(name, metadata.Integer).Int }

// Bool is a boolean parameter's value.
func (p Params) Bool(name string) bool { return p.value(name, metadata.Boolean).Bool }

// Duration is a time parameter's value.
func (p Params) Duration(name string) time.Duration { return p.value(name, metadata.Time).Dur }

// IsSet reports whether the operator set the parameter (a default does not
// count).
func (p Params) IsSet(name string) bool {
	p.value(name, "")
	return p.set[name]
}

// sameAsDefault reports whether raw spells out the declared default (a
// configuration that writes `unique_clone_address=false` asks for nothing
// unsupported).
func sameAsDefault(d metadata.Parameter, raw string) bool {
	if d.Default == "" {
		return false
	}
	v, err := metadata.ParseValue(d.Type, raw)
	if err != nil {
		return false
	}
	def, _ := metadata.ParseValue(d.Type, d.Default)
	switch d.Type {
	case metadata.Boolean:
		return v.Bool == def.Bool
	case metadata.Integer:
		return v.Int == def.Int
	case metadata.Time:
		return v.Dur == def.Dur
	}
	return strings.TrimSpace(raw) == strings.TrimSpace(d.Default)
}
