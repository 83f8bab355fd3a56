package keepalived

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stackha/stackha/internal/testutil/require"
)

var (
	vip   = netip.MustParsePrefix("192.0.2.100/24")
	peers = []Peer{
		{"node1", netip.MustParseAddr("192.0.2.11")},
		{"node2", netip.MustParseAddr("192.0.2.12")},
		{"node3", netip.MustParseAddr("192.0.2.13")},
	}
)

func TestRender(t *testing.T) {
	base := Config{RouterID: 51, VIP: vip, Interface: "eth0", AuthPass: "secret", Check: []string{"/etc/keepalived/check_alive.sh"}}
	uni := base
	uni.Unicast = true
	for _, tc := range []struct {
		name   string
		c      Config
		self   string
		want   []string
		absent []string
	}{
		{"kolla defaults, node2", base, "node2", []string{
			"state BACKUP\n", "nopreempt\n", "priority 2\n", "advert_int 1\n", "virtual_router_id 51\n",
			"192.0.2.100/24 dev eth0\n", "auth_type PASS\n", "auth_pass secret\n",
			"script \"/etc/keepalived/check_alive.sh\"\n", "interval 2\n", "fall 2\n", "rise 10\n", "check_alive\n    }",
		}, []string{"unicast", "MASTER"}},
		{"unicast, node1", uni, "node1", []string{
			"priority 1\n", "unicast_src_ip 192.0.2.11\n", "unicast_peer {\n        192.0.2.12\n        192.0.2.13\n    }",
		}, []string{"        192.0.2.11\n"}},
		{"no check, no auth", Config{RouterID: 7, VIP: vip, Interface: "br0", AdvertInt: 3}, "node3", []string{
			"priority 3\n", "advert_int 3\n", "dev br0\n",
		}, []string{"vrrp_script", "track_script", "authentication"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Render(tc.c, peers, tc.self)
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range tc.want {
				if !strings.Contains(got, w) {
					t.Errorf("missing %q in\n%s", w, got)
				}
			}
			for _, a := range tc.absent {
				if strings.Contains(got, a) {
					t.Errorf("unexpected %q in\n%s", a, got)
				}
			}
		})
	}
}

func TestRenderRejects(t *testing.T) {
	good := Config{RouterID: 51, VIP: vip, Interface: "eth0"}
	for _, tc := range []struct {
		name  string
		edit  func(*Config)
		peers []Peer
		self  string
		err   string
	}{
		{"router id", func(c *Config) { c.RouterID = 256 }, peers, "node1", "router id"},
		{"v6 vip", func(c *Config) { c.VIP = netip.MustParsePrefix("2001:db8::1/64") }, peers, "node1", "IPv4"},
		{"interface", func(c *Config) { c.Interface = "eth 0" }, peers, "node1", "interface"},
		{"advert", func(c *Config) { c.AdvertInt = 256 }, peers, "node1", "advert_int"},
		{"auth too long", func(c *Config) { c.AuthPass = "123456789" }, peers, "node1", "auth_pass"},
		{"check quote", func(c *Config) { c.Check = []string{"/bin/sh", "-c", "'x'"} }, peers, "node1", "check word"},
		{"check brace", func(c *Config) { c.Check = []string{"}"} }, peers, "node1", "check word"},
		{"fall", func(c *Config) { c.Fall = 101 }, peers, "node1", "fall"},
		{"no peers", func(*Config) {}, nil, "node1", "peers"},
		{"repeated name", func(*Config) {}, []Peer{peers[0], peers[0]}, "node1", "repeated peer name"},
		{"repeated addr", func(*Config) {}, []Peer{peers[0], {"x", peers[0].Addr}}, "node1", "repeated address"},
		{"not a peer", func(*Config) {}, peers, "node9", "not a peer"},
	} {
		c := good
		tc.edit(&c)
		if _, err := Render(c, tc.peers, tc.self); err == nil || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.err)
		}
	}
}

func TestCheckScript(t *testing.T) {
	s, err := CheckScript("/run/shc/haproxy-stats.sock")
	if err != nil || !strings.Contains(s, "socat unix-connect:/run/shc/haproxy-stats.sock stdio") {
		t.Fatalf("%q %v", s, err)
	}
	if _, err := CheckScript("rel.sock"); err == nil {
		t.Error("relative path accepted")
	}
	if _, err := CheckScript("/a b"); err == nil {
		t.Error("space accepted")
	}
}

func TestArgv(t *testing.T) {
	a := strings.Join(Argv("/d"), " ")
	for _, w := range []string{"--dont-fork", "--vrrp", "--use-file=/d/keepalived.conf", "--pid=/d/keepalived.pid", "--vrrp_pid=/d/vrrp.pid"} {
		if !strings.Contains(a, w) {
			t.Errorf("%q lacks %q", a, w)
		}
	}
}

func ipCmd(t *testing.T, args ...string) {
	t.Helper()
	if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
		t.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, out)
	}
}

// holds reports whether the namespace has the VIP on eth0.
func holds(t *testing.T, ns string) bool {
	t.Helper()
	out, err := exec.Command("ip", "-n", ns, "-4", "-o", "addr", "show", "dev", "eth0").CombinedOutput()
	if err != nil {
		t.Fatalf("ip addr in %s: %v: %s", ns, err, out)
	}
	return strings.Contains(string(out), " "+vip.String()+" ")
}

// waitHolder waits (bounded, not a timing assertion) until exactly the
// namespace want holds the VIP among nss, or, with want empty, exactly one.
func waitHolder(t *testing.T, nss []string, want string, logs ...string) string {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		var h []string
		for _, ns := range nss {
			if holds(t, ns) {
				h = append(h, ns)
			}
		}
		if len(h) == 1 && (want == "" || h[0] == want) {
			return h[0]
		}
		time.Sleep(100 * time.Millisecond)
	}
	for _, l := range logs {
		data, _ := os.ReadFile(l)
		t.Logf("%s:\n%s", l, data)
	}
	t.Fatalf("the VIP is not on exactly %q of %v", want, nss)
	return ""
}

// haproxyCfg is a minimal haproxy on the VIP with a stats socket (what
// Kolla's check script asks).
func haproxyCfg(stats string) string {
	return "global\n  stats socket " + stats + " mode 600 level admin\n" +
		"defaults\n  mode http\n  timeout connect 1s\n  timeout client 5s\n  timeout server 5s\n" +
		"frontend whoami\n  bind " + vip.Addr().String() + ":8080\n  http-request return status 200\n"
}

// TestFailover runs keepalived + haproxy in two namespaces on a private
// bridge (the third namespace is the bridge's), configured as Kolla does
// with Kolla's check script: the VIP is on exactly one; stopping its
// keepalived moves it, killing its haproxy moves it (the track script), and
// a killed keepalived (SIGKILL) is replaced while its VIP stays behind: the
// split brain a crash without fencing leaves when the kernel lives on.
func TestFailover(t *testing.T) {
	require.Root(t)
	require.Command(t, "ip", "keepalived", "haproxy", "socat", "timeout")
	b := make([]byte, 3)
	rand.Read(b)
	id := hex.EncodeToString(b)
	sw := "kas-" + id
	names := []string{"kaa-" + id, "kab-" + id}
	for _, ns := range append([]string{sw}, names...) {
		ipCmd(t, "netns", "add", ns)
		t.Cleanup(func() { exec.Command("ip", "netns", "del", ns).Run() })
	}
	ipCmd(t, "-n", sw, "link", "add", "br0", "type", "bridge")
	ipCmd(t, "-n", sw, "link", "set", "br0", "up")
	for i, ns := range names {
		port := []string{"pa", "pb"}[i]
		ipCmd(t, "-n", sw, "link", "add", port, "type", "veth", "peer", "name", "eth0", "netns", ns)
		ipCmd(t, "-n", sw, "link", "set", port, "master", "br0", "up")
		ipCmd(t, "-n", ns, "link", "set", "lo", "up")
		ipCmd(t, "-n", ns, "addr", "add", peers[i].Addr.String()+"/24", "dev", "eth0")
		ipCmd(t, "-n", ns, "link", "set", "eth0", "up")
		if out, err := exec.Command("ip", "netns", "exec", ns, "sysctl", "-q", "-w", "net.ipv4.ip_nonlocal_bind=1").CombinedOutput(); err != nil {
			t.Fatalf("sysctl: %v: %s", err, out)
		}
	}
	dir := t.TempDir()
	ctx := context.Background()
	insts := make([]*Instance, 2)
	haproxys := make([]Proc, 2)
	logs := make([]string, 4)
	startHAProxy := func(i int) {
		t.Helper()
		d := filepath.Join(dir, peers[i].Name)
		os.MkdirAll(d, 0o700)
		cfg := filepath.Join(d, "haproxy.cfg")
		if err := os.WriteFile(cfg, []byte(haproxyCfg(filepath.Join(d, "stats.sock"))), 0o600); err != nil {
			t.Fatal(err)
		}
		logs[2+i] = filepath.Join(d, "haproxy.log")
		p, err := NetNS(names[i]).Start(ctx, "haproxy", logs[2+i], []string{"haproxy", "-db", "-f", cfg})
		if err != nil {
			t.Fatal(err)
		}
		haproxys[i] = p
	}
	start := func(i int) {
		t.Helper()
		d := filepath.Join(dir, peers[i].Name)
		script, err := CheckScript(filepath.Join(d, "stats.sock"))
		if err != nil {
			t.Fatal(err)
		}
		check := filepath.Join(d, "check_alive.sh")
		if err := os.WriteFile(check, []byte(script), 0o700); err != nil {
			t.Fatal(err)
		}
		c := Config{RouterID: 51, VIP: vip, Interface: "eth0", AuthPass: "shc",
			Check: []string{check}, CheckInterval: 1, Fall: 1, Rise: 1}
		conf, err := Render(c, peers[:2], peers[i].Name)
		if err != nil {
			t.Fatal(err)
		}
		inst, err := Start(ctx, NetNS(names[i]), d, conf)
		if err != nil {
			t.Fatal(err)
		}
		insts[i] = inst
		logs[i] = filepath.Join(inst.Dir, "keepalived.log")
	}
	t.Cleanup(func() {
		for _, in := range insts {
			if in != nil {
				in.Kill()
			}
		}
		for _, p := range haproxys {
			if p != nil {
				p.Signal(syscall.SIGKILL)
				<-p.Done()
			}
		}
	})
	for i := range names {
		startHAProxy(i)
		start(i)
	}
	idx := func(ns string) int {
		if ns == names[0] {
			return 0
		}
		return 1
	}

	h := waitHolder(t, names, "", logs...)
	t.Logf("first holder: %s", h)

	// Graceful stop: the other takes the VIP, the stopped one drops it.
	if err := insts[idx(h)].Stop(ctx); err != nil {
		t.Fatal(err)
	}
	other := names[1-idx(h)]
	waitHolder(t, names, other, logs...)
	t.Logf("after stopping %s's keepalived: %s holds the VIP", h, other)

	// Back as BACKUP (nopreempt): the VIP stays; then the holder's haproxy
	// dies, its track script fails and the VIP moves back.
	start(idx(h))
	if err := haproxys[idx(other)].Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-haproxys[idx(other)].Done()
	waitHolder(t, names, h, logs...)
	t.Logf("after %s's haproxy died: %s holds the VIP", other, h)
	startHAProxy(idx(other))

	// Crash: SIGKILL leaves the VIP on the dead keepalived's interface
	// while the other node takes it too.
	if err := insts[idx(h)].Kill(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for !holds(t, other) && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	if !holds(t, other) {
		t.Fatalf("%s did not take the VIP after %s's keepalived was killed", other, h)
	}
	t.Logf("after killing %s's keepalived: %s took the VIP; %s still has it: %v", h, other, h, holds(t, h))
}
