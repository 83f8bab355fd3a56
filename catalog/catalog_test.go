package catalog

import (
	"strconv"
	"testing"
)

// TestRows: every row is whole and no two rows share a name, an alias, a
// port, a proxy or an /etc/default file.
func TestRows(t *testing.T) {
	seen := map[string]string{}
	claim := func(kind, v, by string) {
		if v == "" {
			return
		}
		if other, dup := seen[kind+" "+v]; dup {
			t.Errorf("%s %s of %s is also %s's", kind, v, by, other)
		}
		seen[kind+" "+v] = by
	}
	for _, s := range Services {
		for _, v := range []string{s.Name, s.Title, s.Port, s.Unit, s.Binary, s.Config, s.User, s.VersionPath, s.Proxy} {
			if v == "" {
				t.Errorf("%s: a required field is empty: %+v", s.Name, *s)
			}
		}
		if p, err := strconv.Atoi(s.Port); err != nil || p < 1 || p > 65535 {
			t.Errorf("%s: port %q", s.Name, s.Port)
		}
		if (s.Entry == nil) == (s.NoEntryWhy == "") {
			t.Errorf("%s: want a catalog entry or the reason it has none, not both", s.Name)
		}
		if (s.Package == "") != (s.Deprecated != "") {
			t.Errorf("%s: a service without a Debian package must be deprecated, and only it", s.Name)
		}
		if (s.SlowServer == 0) != (s.SlowWhy == "") {
			t.Errorf("%s: SlowServer and SlowWhy go together", s.Name)
		}
		if s.LegacyAdmin && s.Legacy == nil {
			t.Errorf("%s: LegacyAdmin without Legacy", s.Name)
		}
		claim("name", s.Name, s.Name)
		for _, a := range s.Aliases {
			claim("name", a, s.Name)
		}
		claim("port", s.Port, s.Name)
		claim("proxy", s.Proxy, s.Name)
		claim("defaults", s.DefaultsFile(), s.Name)
		if l := s.Legacy; l != nil {
			claim("port", strconv.Itoa(l.Port), s.Name)
			claim("proxy", l.Proxy, s.Name)
		}
		if Lookup(s.Name) != s {
			t.Errorf("Lookup(%s) is not its row", s.Name)
		}
		for _, a := range s.Aliases {
			if Lookup(a) != s {
				t.Errorf("Lookup(%s) is not %s's row", a, s.Name)
			}
		}
	}
	if Lookup("nova-compute") != nil {
		t.Error("Lookup of an unknown name is not nil")
	}
}
