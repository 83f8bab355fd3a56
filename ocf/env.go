package ocf

import (
	"os"
	"strings"
)

// Env is where the runtime reads the environment Pacemaker set. The process
// environment in production, a map in tests.
type Env interface {
	Lookup(name string) (string, bool)
}

type osEnv struct{}

func (osEnv) Lookup(name string) (string, bool) { return os.LookupEnv(name) }

// ProcessEnv is the real process environment.
var ProcessEnv Env = osEnv{}

func get(e Env, name string) string {
	v, _ := e.Lookup(name)
	return strings.TrimSpace(v)
}

// first returns the first non-empty value of the names.
func first(e Env, names ...string) string {
	for _, n := range names {
		if v := get(e, n); v != "" {
			return v
		}
	}
	return ""
}
