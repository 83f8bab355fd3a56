package haproxy

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/stackha/stackha/internal/testutil/certtest"
	"github.com/stackha/stackha/internal/testutil/require"
	"github.com/stackha/stackha/ocf"
)

// trustDir is a directory for one case, root's alone (in /tmp, whose
// sticky bit lets it be an ancestor), with a directory of nobody's in it.
type trustDir struct {
	t      *testing.T
	dir    string
	nobody string
}

func (d *trustDir) path(name string) string { return filepath.Join(d.dir, name) }

// file writes name with mode; owner "nobody" chowns it to nobody.
func (d *trustDir) file(name, content string, mode os.FileMode, owner string) string {
	d.t.Helper()
	p := d.path(name)
	os.MkdirAll(filepath.Dir(p), 0o755)
	if err := os.WriteFile(p, []byte(content), mode); err != nil {
		d.t.Fatal(err)
	}
	os.Chmod(p, mode)
	if owner == "nobody" {
		if err := os.Chown(p, 65534, 65534); err != nil {
			d.t.Fatal(err)
		}
	}
	return p
}

func (d *trustDir) link(name, target string) string {
	d.t.Helper()
	p := d.path(name)
	if err := os.Symlink(target, p); err != nil {
		d.t.Fatal(err)
	}
	return p
}

// TestCheckRefs: what the configuration makes haproxy read as root must be
// root's alone along its whole path (links resolved, each in a directory
// root's alone), a private key unreadable by others; else 6 naming the
// directive and the file (5 when it is missing).
func TestCheckRefs(t *testing.T) {
	require.Root(t) // files of nobody's
	cert, key := certtest.SelfSigned(t)
	both := string(cert) + string(key)
	for _, tc := range []struct {
		name  string
		setup func(d *trustDir) string // the configuration
		code  ocf.Code
		want  []string // in the reason
	}{
		{"lua root's", func(d *trustDir) string {
			return "global\n lua-load " + d.file("a.lua", "core.Info('x')\n", 0o644, "") + "\n"
		}, ocf.Success, nil},
		{"lua others can write", func(d *trustDir) string {
			return "global\n lua-load " + d.file("a.lua", "", 0o666, "") + "\n"
		}, ocf.ErrConfigured, []string{"lua-load", "a.lua", "others can write", "runs it as root"}},
		{"lua nobody's", func(d *trustDir) string {
			return "global\n lua-load " + d.file("a.lua", "", 0o644, "nobody") + "\n"
		}, ocf.ErrConfigured, []string{"lua-load", "a.lua", "owned by uid 65534"}},
		{"lua in nobody's directory", func(d *trustDir) string {
			return "global\n lua-load-per-thread " + d.file("nobody/a.lua", "", 0o644, "") + "\n"
		}, ocf.ErrConfigured, []string{"lua-load-per-thread", "nobody"}},
		{"lua behind a link in nobody's directory", func(d *trustDir) string {
			good := d.file("good.lua", "", 0o644, "")
			return "global\n lua-load " + d.link("nobody/a.lua", good) + "\n"
		}, ocf.ErrConfigured, []string{"nobody/a.lua", "symbolic link in a directory someone but root can change"}},
		{"lua behind a link in a root directory", func(d *trustDir) string {
			good := d.file("lib/good.lua", "", 0o644, "")
			return "global\n lua-load " + d.link("a.lua", "lib/../lib/good.lua") + "\n" + " lua-load " + good + "\n"
		}, ocf.Success, nil},
		{"lua behind a link to nobody's file", func(d *trustDir) string {
			bad := d.file("bad.lua", "", 0o644, "nobody")
			return "global\n lua-load " + d.link("a.lua", bad) + "\n"
		}, ocf.ErrConfigured, []string{"bad.lua", "owned by uid 65534"}},
		{"lua missing", func(d *trustDir) string {
			return "global\n lua-load " + d.path("none.lua") + "\n"
		}, ocf.ErrInstalled, []string{"none.lua"}},
		{"lua through nobody's directory and ..", func(d *trustDir) string {
			d.file("x.lua", "", 0o644, "")
			return "global\n lua-load " + d.nobody + "/../x.lua\n"
		}, ocf.ErrConfigured, []string{"nobody"}},
		{"program bare name", func(d *trustDir) string {
			return "program p\n command sleep 1\n"
		}, ocf.ErrConfigured, []string{"program command", "absolute path"}},
		{"program nobody's", func(d *trustDir) string {
			return "program p\n command " + d.file("prog", "", 0o755, "nobody") + "\n"
		}, ocf.ErrConfigured, []string{"program command", "prog"}},
		{"a path from the environment", func(d *trustDir) string {
			return "global\n lua-load \"$HOME/x.lua\"\n"
		}, ocf.ErrConfigured, []string{"environment variable"}},
		{"cert and key 0644", func(d *trustDir) string {
			return "frontend f\n bind :443 ssl crt " + d.file("site.pem", both, 0o644, "") + "\n"
		}, ocf.ErrConfigured, []string{"bind crt", "site.pem", "private key", "others can read it (mode 0644)"}},
		{"cert and key 0600", func(d *trustDir) string {
			return "frontend f\n bind :443 ssl crt " + d.file("site.pem", both, 0o600, "") + "\n"
		}, ocf.Success, nil},
		{"cert and key 0640", func(d *trustDir) string {
			return "frontend f\n bind :443 ssl crt " + d.file("site.pem", both, 0o640, "") + "\n"
		}, ocf.Success, nil},
		{"cert 0644, its .key 0644", func(d *trustDir) string {
			d.file("site.pem.key", string(key), 0o644, "")
			return "frontend f\n bind :443 ssl crt " + d.file("site.pem", string(cert), 0o644, "") + "\n"
		}, ocf.ErrConfigured, []string{"site.pem.key", "private key"}},
		{"cert.crt 0644, its .key without .crt 0600, its .ocsp nobody's", func(d *trustDir) string {
			d.file("site.key", string(key), 0o600, "")
			d.file("site.ocsp", "", 0o644, "nobody")
			return "frontend f\n bind :443 ssl crt " + d.file("site.crt", string(cert), 0o644, "") + "\n"
		}, ocf.ErrConfigured, []string{"site.ocsp", "owned by uid 65534"}},
		{"crt-base and a directory with a key 0644", func(d *trustDir) string {
			d.file("certs/a.pem", string(cert), 0o644, "")
			d.file("certs/b.pem", both, 0o644, "")
			d.file("certs/.hidden", "", 0o666, "")
			return "global\n crt-base " + d.dir + "\nfrontend f\n bind :443 ssl crt certs\n"
		}, ocf.ErrConfigured, []string{"b.pem", "private key"}},
		{"a bundle", func(d *trustDir) string {
			d.file("site.pem.ecdsa", both, 0o644, "")
			return "frontend f\n bind :443 ssl crt " + d.path("site.pem") + "\n"
		}, ocf.ErrConfigured, []string{"site.pem.ecdsa", "private key"}},
		{"server client cert", func(d *trustDir) string {
			return "backend b\n server s 10.0.0.1:443 ssl crt " + d.file("client.pem", both, 0o604, "") + "\n"
		}, ocf.ErrConfigured, []string{"server crt", "client.pem", "private key"}},
		{"crt-list with a key 0644", func(d *trustDir) string {
			d.file("ok.pem", both, 0o600, "")
			d.file("bad.pem", both, 0o644, "")
			list := d.file("list", "ok.pem [alpn h2]\nbad.pem\n", 0o644, "")
			return "global\n crt-base " + d.dir + "\nfrontend f\n bind :443 ssl crt-list " + list + "\n"
		}, ocf.ErrConfigured, []string{"crt-list", "line 2", "bad.pem", "private key"}},
		{"crt-list naming nobody's CA file", func(d *trustDir) string {
			d.file("ok.pem", both, 0o600, "")
			ca := d.file("ca.pem", string(cert), 0o644, "nobody")
			list := d.file("list", d.path("ok.pem")+" [ca-file "+ca+" verify required]\n", 0o644, "")
			return "frontend f\n bind :443 ssl crt-list " + list + "\n"
		}, ocf.ErrConfigured, []string{"line 1", "ca-file", "ca.pem"}},
		{"crt-list nobody's", func(d *trustDir) string {
			return "frontend f\n bind :443 ssl crt-list " + d.file("list", "", 0o644, "nobody") + "\n"
		}, ocf.ErrConfigured, []string{"crt-list", "list", "owned by uid 65534"}},
		{"tls-ticket-keys 0644", func(d *trustDir) string {
			return "frontend f\n bind :443 ssl crt " + d.file("s.pem", both, 0o600, "") + " tls-ticket-keys " + d.file("tk", "x\n", 0o644, "") + "\n"
		}, ocf.ErrConfigured, []string{"tls-ticket-keys", "TLS session ticket keys", "others can read"}},
		{"map nobody's", func(d *trustDir) string {
			return "frontend f\n use_backend %[req.hdr(host),map_dom(" + d.file("hosts.map", "", 0o644, "nobody") + ",x)]\n"
		}, ocf.ErrConfigured, []string{"map_dom", "hosts.map"}},
		{"acl file nobody's group can write", func(d *trustDir) string {
			p := d.file("deny.lst", "", 0o664, "")
			os.Chown(p, 0, 65534)
			return "frontend f\n http-request deny if { src -f " + p + " }\n"
		}, ocf.ErrConfigured, []string{"acl -f", "deny.lst", "group 65534 can write"}},
		{"errorfile others can write", func(d *trustDir) string {
			return "defaults\n errorfile 503 " + d.file("503.http", "", 0o646, "") + "\n"
		}, ocf.ErrConfigured, []string{"errorfile", "503.http"}},
		{"dh params, CA, CRL root's", func(d *trustDir) string {
			return "global\n ssl-dh-param-file " + d.file("dh.pem", "", 0o644, "") + "\nbackend b\n server s 10.0.0.1:443 ssl ca-file " +
				d.file("ca.pem", "", 0o644, "") + " crl-file " + d.file("crl.pem", "", 0o644, "") + "\n"
		}, ocf.Success, nil},
		{"lua path, a tree root's", func(d *trustDir) string {
			d.file("lua/a.lua", "", 0o644, "")
			d.file("lua/sub/b.lua", "", 0o644, "")
			d.link("lua/c.lua", "a.lua")
			return "global\n lua-prepend-path " + d.path("lua") + "/?.lua\n"
		}, ocf.Success, nil},
		{"lua path, a module nobody's deep in the tree", func(d *trustDir) string {
			d.file("lua/a.lua", "", 0o644, "")
			d.file("lua/sub/b.lua", "", 0o644, "nobody")
			return "global\n lua-prepend-path " + d.path("lua") + "/?.lua\n"
		}, ocf.ErrConfigured, []string{"lua-prepend-path", "b.lua", "owned by uid 65534", "runs it as root"}},
		{"lua path, a link out to nobody's directory", func(d *trustDir) string {
			d.file("lua/a.lua", "", 0o644, "")
			d.link("lua/ext", d.nobody)
			return "global\n lua-prepend-path " + d.path("lua") + "/?.lua\n"
		}, ocf.ErrConfigured, []string{"lua-prepend-path", "nobody"}},
		{"lua path missing, in a root directory", func(d *trustDir) string {
			return "global\n lua-prepend-path " + d.path("none") + "/?.lua\n"
		}, ocf.Success, nil},
		{"lua path missing, in nobody's directory", func(d *trustDir) string {
			return "global\n lua-prepend-path " + d.nobody + "/lua/?.lua\n"
		}, ocf.ErrConfigured, []string{"someone but root could create it"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir, err := os.MkdirTemp("/tmp", "shh-refs-")
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { os.RemoveAll(dir) })
			d := &trustDir{t: t, dir: dir, nobody: filepath.Join(dir, "nobody")}
			os.Mkdir(d.nobody, 0o755)
			os.Chown(d.nobody, 65534, 65534)
			cfg := tc.setup(d)
			c, err := ParseConfig(d.path("haproxy.cfg"), strings.NewReader(cfg))
			if err != nil {
				t.Fatal(err)
			}
			err = checkRefs(c)
			if code := ocf.CodeOf(err); code != tc.code {
				t.Fatalf("exit %d (%v), want %d\nconfiguration:\n%s", code, err, tc.code, cfg)
			}
			t.Logf("%v", err)
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("reason %q lacks %q", err, w)
				}
			}
		})
	}
}

func TestResolveTrusted(t *testing.T) {
	dir, err := os.MkdirTemp("/tmp", "shh-resolve-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	os.MkdirAll(filepath.Join(dir, "a/b"), 0o755)
	os.WriteFile(filepath.Join(dir, "a/b/f"), nil, 0o644)
	os.Symlink("b", filepath.Join(dir, "a/lb"))
	os.Symlink(filepath.Join(dir, "a/lb/f"), filepath.Join(dir, "abs"))
	os.Symlink("loop", filepath.Join(dir, "loop"))
	for in, want := range map[string]string{
		dir + "/a/lb/f":        dir + "/a/b/f",
		dir + "/abs":           dir + "/a/b/f",
		dir + "/a/lb/../b/./f": dir + "/a/b/f",
		dir + "//a/b/f":        dir + "/a/b/f",
	} {
		if got, err := resolveTrusted(in); err != nil || got != want {
			t.Errorf("resolveTrusted(%s) = %s, %v; want %s", in, got, err, want)
		}
	}
	if _, err := resolveTrusted(dir + "/loop"); err == nil || !strings.Contains(err.Error(), "too many levels") {
		t.Errorf("a loop: %v", err)
	}
}

func TestParseCrtList(t *testing.T) {
	list := "# comment\n\n/a.pem\nb.pem [ca-file ca.pem alpn h2 crl-file crl.pem verify required] www.example.org !*.x\n" +
		"c.pem [ alpn ca-file ] ca-file d.pem\n  e.pem[crl-file f.pem]\n"
	var got []string
	for _, e := range parseCrtList([]byte(list)) {
		got = append(got, fmt.Sprintf("%d %s %v", e.line, e.crt, e.files))
	}
	want := []string{"3 /a.pem []", "4 b.pem [[ca-file ca.pem] [crl-file crl.pem]]", "5 c.pem []", "6 e.pem [[crl-file f.pem]]"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %q\nwant %q", got, want)
	}
}
