package haproxy

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"
)

func TestSplitLine(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
	}{
		{"", nil},
		{"   # only a comment", nil},
		{"bind 10.0.0.1:80 transparent # vip", []string{"bind", "10.0.0.1:80", "transparent"}},
		{"\tserver  s1\t10.0.0.6:5000 check", []string{"server", "s1", "10.0.0.6:5000", "check"}},
		{`stats socket "/run/my dir/admin.sock" level admin`, []string{"stats", "socket", "/run/my dir/admin.sock", "level", "admin"}},
		{`log-format '%ci # not a comment'`, []string{"log-format", "%ci # not a comment"}},
		{`errorfile 503 /a\ b.http`, []string{"errorfile", "503", "/a b.http"}},
		{`x "a\"b"`, []string{"x", `a"b`}},
		{`x "unterminated`, []string{"x", "unterminated"}},
		{"a\\", []string{"a\\"}},
	} {
		if got := splitLine(tc.in); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("splitLine(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// seedLike is the how-to's haproxy.cfg in shape (keystone behind its VIP)
// with more sockets and sections to parse; "seed.cfg" is its name below.
const seedLike = `global
    daemon
    stats socket /run/haproxy/user.sock mode 660
    stats socket ipv4@127.0.0.1:9999 level admin
    stats socket /run/haproxy/admin.sock mode 660 level admin expose-fd listeners
defaults
    mode http
    timeout connect 10s
frontend keystone-public-vip
    bind 10.10.102.45:5000
    default_backend keystone-public-api
frontend off
    disabled
    bind 10.10.102.45:1234,10.10.102.46:1234 ssl crt /x.pem
backend keystone-public-api
    balance roundrobin
    server mesa-virt-01 10.10.102.6:5000 check inter 10s
    server mesa-virt-02 10.10.102.7:5000 check inter 10s
backend empty
    http-request return status 200
listen stats
    bind :8404
    server-template web 3 _http._tcp.example:80
`

func TestParseConfig(t *testing.T) {
	c, err := ParseConfig("seed.cfg", strings.NewReader(seedLike))
	if err != nil {
		t.Fatal(err)
	}
	if got := c.AdminSocket(); got != "/run/haproxy/admin.sock" {
		t.Errorf("AdminSocket = %q", got)
	}
	if len(c.StatsSockets) != 3 || c.StatsSockets[0].Level != "operator" {
		t.Errorf("stats sockets = %+v", c.StatsSockets)
	}
	if got, want := c.BackendsWithServers(), []string{"keystone-public-api", "stats"}; !reflect.DeepEqual(got, want) {
		t.Errorf("BackendsWithServers = %q, want %q", got, want)
	}
	var names []string
	for _, p := range c.Proxies {
		names = append(names, p.Kind+":"+p.Name)
	}
	want := []string{"frontend:keystone-public-vip", "frontend:off", "backend:keystone-public-api", "backend:empty", "listen:stats"}
	if !reflect.DeepEqual(names, want) {
		t.Errorf("proxies = %q, want %q", names, want)
	}
	fe := c.Proxies[0]
	if len(fe.Binds) != 1 || fe.Binds[0].Pos.String() != "seed.cfg:10" || fe.Binds[0].Addrs[0] != "10.10.102.45:5000" {
		t.Errorf("bind = %+v", fe.Binds)
	}
	off := c.Proxies[1]
	if !off.Disabled || len(off.Binds[0].Addrs) != 2 || !off.Binds[0].HasOption("ssl") {
		t.Errorf("disabled frontend = %+v", off)
	}
	if v, ok := off.Binds[0].Option("crt"); !ok || v != "/x.pem" {
		t.Errorf("crt option = %q %v", v, ok)
	}
	if fe.LoadState != "none" {
		t.Errorf("LoadState = %q, want none (the operator's defaults reset it)", fe.LoadState)
	}
}

func TestLoadStateInheritance(t *testing.T) {
	for _, tc := range []struct {
		name, cfg string
		want      string
	}{
		{"no defaults", "backend b\n server s 1.2.3.4:80\n", "none"},
		{"generated then own defaults", "defaults\n load-server-state-from-file global\ndefaults\n mode http\nbackend b\n", "none"},
		{"generated only", "defaults\n load-server-state-from-file global\nbackend b\n", "global"},
		{"backend sets it", "defaults\nbackend b\n load-server-state-from-file local\n", "local"},
		{"named defaults with from", "defaults base\n load-server-state-from-file global\ndefaults other\nbackend b from base\n", "global"},
		{"defaults from defaults", "defaults base\n load-server-state-from-file global\ndefaults child from base\nbackend b\n", "global"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := ParseConfig("x", strings.NewReader(tc.cfg))
			if err != nil {
				t.Fatal(err)
			}
			if got := c.Proxies[len(c.Proxies)-1].LoadState; got != tc.want {
				t.Errorf("LoadState = %q, want %q", got, tc.want)
			}
		})
	}
}

// Finding 12: the server state file is where haproxy reads it
// (src/server_state.c, srv_state_get_filepath), and one haproxy would
// read from its working directory is refused, not written somewhere else.
func TestServerStatePath(t *testing.T) {
	for _, tc := range []struct{ file, base, want, err string }{
		{"", "", "", ""},
		{"/var/lib/haproxy/state", "", "/var/lib/haproxy/state", ""},
		{"state", "/var/lib/haproxy", "/var/lib/haproxy/state", ""},
		{"state", "/var/lib/haproxy/", "/var/lib/haproxy/state", ""},
		{"/abs", "/var/lib/haproxy", "/abs", ""},
		{"sub/state", "/var/lib/haproxy", "/var/lib/haproxy/sub/state", ""},
		{"state", "", "", "relative"},
		{"state", "var/lib", "", "relative"},
		{"../state", "/var/lib/haproxy", "", "clean path"},
		{"/var/lib//state", "", "", "clean path"},
		{"${STATE}", "/var/lib", "", "environment"},
	} {
		c := &Config{ServerStateFile: tc.file, ServerStateBase: tc.base}
		got, err := c.ServerStatePath()
		if got != tc.want || (err == nil) != (tc.err == "") || err != nil && !strings.Contains(err.Error(), tc.err) {
			t.Errorf("%q %q: %q %v, want %q %q", tc.file, tc.base, got, err, tc.want, tc.err)
		}
	}
}

func TestConfigFilesDirectory(t *testing.T) {
	dir := t.TempDir()
	for _, n := range []string{"20-b.cfg", "10-a.cfg", ".hidden.cfg", "notes.txt"} {
		os.WriteFile(filepath.Join(dir, n), []byte("global\n"), 0o644)
	}
	os.Mkdir(filepath.Join(dir, "sub.cfg"), 0o755)
	single := filepath.Join(t.TempDir(), "main.cfg")
	os.WriteFile(single, []byte("global\n"), 0o644)
	got, err := ConfigFiles([]string{single, dir})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{single, filepath.Join(dir, "10-a.cfg"), filepath.Join(dir, "20-b.cfg")}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ConfigFiles = %q, want %q", got, want)
	}
	if _, err := ConfigFiles([]string{filepath.Join(dir, "missing.cfg")}); !os.IsNotExist(err) {
		t.Errorf("missing file: %v", err)
	}
	empty := t.TempDir()
	if _, err := LoadConfig([]string{empty}); err == nil {
		t.Error("a directory without *.cfg loaded")
	}
}

func TestGeneratedConfig(t *testing.T) {
	own := &Config{}
	got := generatedConfig(own, "/run/shh-x/servers.state")
	for _, want := range []string{"server-state-file '/run/shh-x/servers.state'", "load-server-state-from-file global"} {
		if !strings.Contains(got, want) {
			t.Errorf("generated config lacks %q:\n%s", want, got)
		}
	}
	// What haproxy will read back from it.
	c, err := ParseConfig("gen", strings.NewReader(got))
	if err != nil || c.ServerStateFile != "/run/shh-x/servers.state" {
		t.Errorf("reparsed: %v %q", err, c.ServerStateFile)
	}
	theirs := &Config{ServerStateFile: "/var/lib/haproxy/state"}
	if g := generatedConfig(theirs, "/var/lib/haproxy/state"); strings.Contains(g, "server-state-file") {
		t.Errorf("declares a second server-state-file:\n%s", g)
	}
}

func FuzzParseConfig(f *testing.F) {
	f.Add(seedLike)
	f.Add("defaults base\n load-server-state-from-file global\nbackend b from base\n server s 1:2\n")
	f.Add("global\n stats socket 'a b' level admin\n")
	f.Fuzz(func(t *testing.T, s string) {
		c, err := ParseConfig("fuzz", strings.NewReader(s))
		if err != nil {
			return
		}
		c.AdminSocket()
		c.BackendsWithServers()
		c.ServerStatePath()
		for _, p := range c.Proxies {
			for _, b := range p.Binds {
				for _, a := range b.Addrs {
					BindAddr(a)
				}
			}
		}
	})
}

func FuzzSplitLine(f *testing.F) {
	for _, s := range []string{`a "b c" 'd' e\ f # g`, `"`, `\`, "x\t\ty"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, w := range splitLine(s) {
			if w == "" && !strings.ContainsAny(s, `"'`) {
				t.Fatalf("empty word from %q", s)
			}
		}
	})
}

// A configuration "file" that is a FIFO or is huge is refused at once, not
// waited on or read whole.
func TestLoadConfigRefusesWhatIsNotAFile(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo.cfg")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadConfig([]string{fifo}); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("FIFO: %v", err)
	}
	big := filepath.Join(dir, "big.cfg")
	f, err := os.Create(big)
	if err != nil {
		t.Fatal(err)
	}
	f.Truncate(maxConfigFile + 1)
	f.Close()
	if _, err := LoadConfig([]string{big}); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("huge file: %v", err)
	}
}
