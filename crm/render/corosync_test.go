package render_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stackha/stackha/internal/testutil/require"
	"github.com/vishvananda/netlink"
)

// ringAddrs lists the ring addresses of a corosync.conf's first node.
func ringAddrs(t *testing.T, conf string) []string {
	t.Helper()
	node := regexp.MustCompile(`(?s)node \{(.*?)\}`).FindStringSubmatch(conf)
	if node == nil {
		t.Fatal("corosync.conf has no node")
	}
	var a []string
	for _, m := range regexp.MustCompile(`ring\d_addr: (\S+)`).FindAllStringSubmatch(node[1], -1) {
		a = append(a, m[1])
	}
	return a
}

// corosyncCheck runs `corosync -t` on conf inside a fresh network namespace
// holding the first node's ring addresses on its loopback (corosync finds
// which node it is by its local addresses), with keyfile pointed at a key
// made by corosync-keygen.
func corosyncCheck(t *testing.T, conf string) (string, error) {
	t.Helper()
	dir := t.TempDir()
	key := filepath.Join(dir, "authkey")
	if out, err := exec.Command("corosync-keygen", "-k", key).CombinedOutput(); err != nil {
		t.Fatalf("corosync-keygen: %v\n%s", err, out)
	}
	conf = regexp.MustCompile(`(?m)^(\s*keyfile:) \S+$`).ReplaceAllString(conf, "$1 "+key)
	file := filepath.Join(dir, "corosync.conf")
	if err := os.WriteFile(file, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	var out []byte
	var err error
	inNetns(t, func() {
		lo, lerr := netlink.LinkByName("lo")
		if lerr == nil {
			lerr = netlink.LinkSetUp(lo)
		}
		for _, a := range ringAddrs(t, conf) {
			bits := "/32"
			if strings.Contains(a, ":") {
				bits = "/128"
			}
			if lerr == nil {
				addr, perr := netlink.ParseAddr(a + bits)
				if lerr = perr; lerr == nil {
					lerr = netlink.AddrAdd(lo, addr)
				}
			}
		}
		if lerr != nil {
			t.Errorf("namespace: %v", lerr)
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		out, err = exec.CommandContext(ctx, "corosync", "-c", file, "-t").CombinedOutput()
	})
	return string(out), err
}

// TestCorosyncCheck: corosync's own configuration check (`corosync -t`,
// corosync 3.1: it parses the file, reads the key and finds the local node)
// accepts every example's corosync.conf; and it does fail on a file that is
// wrong, so its pass means something.
func TestCorosyncCheck(t *testing.T) {
	require.Root(t)
	require.Command(t, "corosync", "corosync-keygen")
	for name := range examples(t) {
		t.Run(name, func(t *testing.T) {
			_, files := renderExample(t, name)
			conf := string(files["corosync.conf"])
			out, err := corosyncCheck(t, conf)
			if err != nil || strings.Contains(out, "error") {
				t.Fatalf("corosync -t: %v\n%s\n%s", err, out, conf)
			}
		})
	}
	t.Run("a wrong file fails", func(t *testing.T) {
		_, files := renderExample(t, "three-node-fenced")
		conf := strings.Replace(string(files["corosync.conf"]), "ring1_addr: 198.51.100.13", "ring1_addr: 2001:db8::13", 1)
		out, err := corosyncCheck(t, conf)
		if err == nil || !strings.Contains(out, "different IP families") {
			t.Fatalf("corosync -t passed a link of two families: %v\n%s", err, out)
		}
	})
}

// TestCorosyncConf: the nodelist, quorum and crypto corosync.conf holds.
func TestCorosyncConf(t *testing.T) {
	for _, tc := range []struct {
		example string
		want    []string
		not     []string
	}{
		{"seed", []string{"cluster_name: stackha", "transport: knet", "token: 3000\n", "crypto_cipher: aes256", "crypto_hash: sha256",
			"keyfile: /etc/corosync/authkey", "corosync-keygen -k /etc/corosync/authkey", "name: mesa-virt-01\n        nodeid: 1\n        ring0_addr: 10.10.102.6\n",
			"nodeid: 2", "two_node: 1", "LAB MODE: without fencing"}, []string{"ring1_addr", "\n    consensus: ", "nodeid: 3"}},
		{"three-node-fenced", []string{"ring0_addr: 203.0.113.13\n        ring1_addr: 198.51.100.13\n", "nodeid: 3", "3650 ms in all"},
			[]string{"two_node", "LAB MODE"}},
		{"five-node-sbd", []string{"cluster_name: api", "token: 1000\n", "2950 ms in all", "nodeid: 5"}, []string{"two_node"}},
		{"all-services", []string{"cluster_name: openstack-ctl", "token: 1000\n", "consensus: 1500\n", "two_node: 1", "fence race"}, []string{"LAB MODE"}},
		{"testnet-two-node", []string{"LAB MODE: crypto off", "crypto_cipher: none", "crypto_hash: none"}, []string{"keyfile", "aes256"}},
		{"ipv6", []string{"ring0_addr: 2001:db8:0:1::11\n"}, nil},
	} {
		t.Run(tc.example, func(t *testing.T) {
			_, files := renderExample(t, tc.example)
			conf := string(files["corosync.conf"])
			for _, w := range tc.want {
				if !strings.Contains(conf, w) {
					t.Errorf("corosync.conf lacks %q", w)
				}
			}
			for _, w := range tc.not {
				if strings.Contains(conf, w) {
					t.Errorf("corosync.conf has %q", w)
				}
			}
		})
	}
}

// TestTokenCoefficient: corosync.token_coefficient is written as given
// (0: the token is the same on any number of nodes), the comment adds it
// up, corosync -t accepts the file where it can run, and a value out of
// range is refused with its field.
func TestTokenCoefficient(t *testing.T) {
	const nodes = "vip: {address: 192.0.2.10, prefix: 24}\nnodes:\n  - {name: a, address: 192.0.2.11}\n  - {name: b, address: 192.0.2.12}\n  - {name: c, address: 192.0.2.13}\n"
	for _, tc := range []struct{ corosync, want, err string }{
		{"{token: 500ms, token_coefficient: 0}", "token: 500\n    token_coefficient: 0\n", ""},
		{"{token: 500ms, token_coefficient: 0}", "with 3 nodes: 500 ms in all", ""},
		{"{token: 1s, token_coefficient: 200ms}", "with 3 nodes: 1200 ms in all", ""},
		{"{token: 1s}", "3 nodes corosync adds token_coefficient (650 ms)", ""},
		{"{token: 1s, token_coefficient: 2m}", "", "corosync.token_coefficient: 2m is out of range 0-1m"},
	} {
		files, err := renderTopology(t, nodes+"corosync: "+tc.corosync+"\n")
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%s: error %v, want %q", tc.corosync, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", tc.corosync, err)
		}
		conf := string(files["corosync.conf"])
		if !strings.Contains(conf, tc.want) {
			t.Errorf("%s: corosync.conf lacks %q:\n%s", tc.corosync, tc.want, conf)
		}
	}
}
