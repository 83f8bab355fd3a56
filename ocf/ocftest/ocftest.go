// Package ocftest is test support for code built on the OCF runtime: an
// environment held in a map, and typed parameters made from a map, as
// Pacemaker would pass them. It is never linked into the binary.
package ocftest

import (
	"github.com/stackha/stackha/metadata"
	"github.com/stackha/stackha/ocf"
)

// Env is an ocf.Env backed by a map.
type Env map[string]string

// Lookup implements ocf.Env.
func (m Env) Lookup(name string) (string, bool) {
	v, ok := m[name]
	return v, ok
}

// Params parses values (parameter name to value, without the OCF_RESKEY_
// prefix) as the runtime parses the environment.
func Params(a *metadata.Agent, values map[string]string) (ocf.Params, error) {
	env := Env{}
	for k, v := range values {
		env["OCF_RESKEY_"+k] = v
	}
	p, _, err := ocf.ParseParams(a, env)
	return p, err
}
