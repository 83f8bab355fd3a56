package nodesvc

import (
	"errors"
	"io/fs"
	"net/netip"
	"strings"
	"testing"
)

// Every Debian 12 row of the catalog has a spec, and render writes each
// uwsgi row's /etc/default file on the node's address with the harness's
// ini after Debian's.
func TestSpecsCoverCatalog(t *testing.T) {
	addr := netip.MustParseAddr("192.0.2.11")
	rows := Rows()
	if rows[0].Name != "keystone" {
		t.Fatalf("first row %s, want keystone", rows[0].Name)
	}
	d, err := Defaults(addr, rows)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows[1:] {
		s, err := For(r)
		if err != nil {
			t.Error(err)
			continue
		}
		f, err := s.Files(Env{Addr: addr, Keystone: "http://192.0.2.11:5000"}, d)
		if errors.Is(err, fs.ErrNotExist) {
			t.Logf("%s: a packaged file is not installed here: %v", r.Name, err)
			continue
		}
		if err != nil {
			t.Error(err)
			continue
		}
		if r.UWSGIIni != "" {
			got := string(f[r.DefaultsFile()].Data)
			want := `DAEMON_ARGS="--http-socket 192.0.2.11:` + r.Port + " --ini " + r.UWSGIIni + " --ini /etc/" + s.Project + "/" + ownIni + `"`
			if !strings.Contains(got, want) {
				t.Errorf("%s: %s has no %s:\n%s", r.Name, r.DefaultsFile(), want, got)
			}
		}
		if !strings.Contains(string(f[r.Config].Data), "\n[keystone_authtoken]\npassword = "+ServicePassword+"\n") {
			t.Errorf("%s: %s has no keystone_authtoken password:\n%s", r.Name, r.Config, f[r.Config].Data)
		}
	}
	t.Log(Changes(Env{Addr: addr, Keystone: "http://192.0.2.11:5000"}))
}

func TestSetIni(t *testing.T) {
	const text = "[DEFAULT]\n#bind_host = x\nport = 1\n[database]\nconnection = a\n[x]\n"
	cases := []struct{ section, key, value, want string }{
		{"DEFAULT", "bind_host", "192.0.2.11", "[DEFAULT]\nbind_host = 192.0.2.11\n#bind_host = x\nport = 1\n[database]\nconnection = a\n[x]\n"},
		{"DEFAULT", "port", "2", "[DEFAULT]\n#bind_host = x\nport = 2\n[database]\nconnection = a\n[x]\n"},
		{"database", "connection", "b", "[DEFAULT]\n#bind_host = x\nport = 1\n[database]\nconnection = b\n[x]\n"},
		{"x", "port", "3", "[DEFAULT]\n#bind_host = x\nport = 1\n[database]\nconnection = a\n[x]\nport = 3\n"},
		{"new", "k", "v", "[DEFAULT]\n#bind_host = x\nport = 1\n[database]\nconnection = a\n[x]\n[new]\nk = v\n"},
	}
	for _, c := range cases {
		if got := SetIni(text, c.section, c.key, c.value); got != c.want {
			t.Errorf("SetIni [%s] %s = %s:\n%q\nwant\n%q", c.section, c.key, c.value, got, c.want)
		}
	}
}
