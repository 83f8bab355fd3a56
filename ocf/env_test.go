package ocf

// MapEnv is an Env backed by a map, for the runtime's own tests (other
// packages use ocftest.Env).
type MapEnv map[string]string

func (m MapEnv) Lookup(name string) (string, bool) {
	v, ok := m[name]
	return v, ok
}
