package harness

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// The addresses of the harness's cluster. Service traffic is on TEST-NET-1
// only; the corosync ring on TEST-NET-2.
const (
	VIP        = "192.0.2.100"
	VIPPrefix  = 24
	ClientAddr = "192.0.2.50"
	// KeystonePort is keystone's public port, on each node's own address
	// and, through haproxy, on the VIP.
	KeystonePort = 5000
	// WhoamiPort is a haproxy frontend on the VIP that answers with the
	// node's name: what the failover benchmark polls.
	WhoamiPort = 80
	// VIPResource is the VIP's resource id (as `stackha render` names it).
	VIPResource = "api-vip"
)

// NodeSpec is one cluster node's name and addresses.
type NodeSpec struct {
	Name string
	Addr string // eth0, service network
	Ring string // eth1, corosync ring
}

// maxNodes is the most nodes the harness runs.
const maxNodes = 3

// nodeSpecs returns the harness's n cluster nodes (2 or 3): nodeI on
// 192.0.2.1I, its corosync ring address 198.51.100.1I.
func nodeSpecs(n int) []NodeSpec {
	var specs []NodeSpec
	for i := 1; i <= n; i++ {
		specs = append(specs, NodeSpec{Name: fmt.Sprintf("node%d", i), Addr: fmt.Sprintf("192.0.2.1%d", i),
			Ring: fmt.Sprintf("198.51.100.1%d", i)})
	}
	return specs
}

// AgentSet is the set of resource agents the cluster runs: it writes the
// crmsh primitives for the VIP, haproxy and keystone. Paths in the
// primitives are as seen inside a node.
type AgentSet struct {
	// Name labels results: "heartbeat" or "stackha".
	Name string
	// Binary, when set, is the stackha binary to install as
	// /usr/lib/ocf/resource.d/stackha/<agent> inside each node's mount
	// namespace (never on the host).
	Binary string
	// Agents lists what `stackha agents` offers (stackha set only).
	Agents map[string]bool
	// MonitorInterval is the interval of the VIP's and haproxy's monitors.
	MonitorInterval string
	// VIP, HAProxy and Keystone return crmsh primitive definitions named
	// api-vip, haproxy and keystone.
	VIP      func(cfg Paths) string
	HAProxy  func(cfg Paths) string
	Keystone func(cfg Paths) string
	// Note says which agents of the set are not yet stackha's own.
	Note string
	// SeedOrder writes the how-to's order (the VIP first, then haproxy)
	// instead of stackha render's (haproxy first, then the VIP): with a
	// haproxy clone it restarts haproxy on every move of the VIP. Only for
	// measuring what the how-to's cluster did.
	SeedOrder bool
	// Render: the binary has `stackha render`; with all three agents the
	// cluster loads the configuration it renders (see Cluster.render).
	Render bool
}

// Paths are the files the harness writes, as seen inside a node.
type Paths struct {
	HAProxyCfg  string
	KeystoneCfg string
	KeystoneRun string // per-node script (the heartbeat set): uwsgi with keystone's ini on the node's address (and keystoneExtraIni)
	RunDir      string // per-node private directory (on the node's /run)
	// Nodes are the cluster's nodes (the keystone primitive binds each
	// node's own address).
	Nodes []NodeSpec
}

// Heartbeat is the set stackha replaces: IPaddr2, and haproxy and keystone
// run by ocf:heartbeat:anything (the how-to's init-script way).
func Heartbeat() AgentSet {
	return AgentSet{
		Name:            "heartbeat",
		MonitorInterval: "5s",
		VIP: func(p Paths) string {
			return fmt.Sprintf("primitive "+VIPResource+" ocf:heartbeat:IPaddr2 params ip=%s cidr_netmask=%d nic=eth0 "+
				"op monitor interval=5s timeout=20s", VIP, VIPPrefix)
		},
		HAProxy: func(p Paths) string {
			return fmt.Sprintf("primitive haproxy ocf:heartbeat:anything params binfile=/usr/sbin/haproxy "+
				"cmdline_options=\"-db -f %s\" pidfile=%s/haproxy.pid "+
				"op monitor interval=5s timeout=20s op stop timeout=30s", p.HAProxyCfg, p.RunDir)
		},
		Keystone: anythingKeystone,
	}
}

// HeartbeatSeedOrder is the heartbeat set with the how-to's constraints.
func HeartbeatSeedOrder() AgentSet {
	s := Heartbeat()
	s.Name, s.SeedOrder = "heartbeat-seed-order", true
	return s
}

func anythingKeystone(p Paths) string {
	return fmt.Sprintf("primitive keystone ocf:heartbeat:anything params binfile=/bin/sh "+
		"cmdline_options=%s pidfile=%s/keystone.pid logfile=%s/keystone.out "+
		"op monitor interval=5s timeout=20s op start timeout=60s op stop timeout=30s",
		p.KeystoneRun, p.RunDir, p.RunDir)
}

// Stackha is stackha's own agents, from the binary at bin (built by the
// caller). Agents not yet in the binary fall back to the heartbeat set's,
// and Note says so; it fails when the binary offers neither vip nor haproxy.
func Stackha(ctx context.Context, bin string) (AgentSet, error) {
	abs, err := filepath.Abs(bin)
	if err != nil {
		return AgentSet{}, fmt.Errorf("stackha binary: %w", err)
	}
	out, err := Run(ctx, abs, "agents")
	if err != nil {
		return AgentSet{}, fmt.Errorf("listing stackha's agents: %w", err)
	}
	agents := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if name, _, _ := strings.Cut(line, "\t"); name != "" {
			agents[name] = true
		}
	}
	hb := Heartbeat()
	set := AgentSet{Name: "stackha", Binary: abs, Agents: agents, MonitorInterval: "1s"}
	var old []string
	if agents["vip"] {
		set.VIP = func(p Paths) string {
			return fmt.Sprintf("primitive "+VIPResource+" ocf:stackha:vip params ip=%s cidr_netmask=%d nic=eth0 "+
				"op monitor interval=1s timeout=10s", VIP, VIPPrefix)
		}
	} else {
		set.VIP, old = hb.VIP, append(old, "vip=IPaddr2")
	}
	if agents["haproxy"] {
		set.HAProxy = func(p Paths) string {
			return fmt.Sprintf("primitive haproxy ocf:stackha:haproxy params config=%s "+
				"op monitor interval=1s timeout=10s op start timeout=20s op stop timeout=20s", p.HAProxyCfg)
		}
	} else {
		set.HAProxy, old = hb.HAProxy, append(old, "haproxy=anything")
	}
	if agents["keystone"] {
		set.Keystone = func(p Paths) string {
			var rules string
			for _, n := range p.Nodes {
				rules += fmt.Sprintf("params rule 0: #uname eq %s bind_host=%s url=http://%s:%d/ ", n.Name, n.Addr, n.Addr, KeystonePort)
			}
			return fmt.Sprintf("primitive keystone ocf:stackha:keystone %sparams run_mode=process user=keystone port=%d config=%s "+
				"pidfile=%s/keystone.pid log_file=%s/keystone.out extra_ini=%s "+
				"op monitor interval=2s timeout=10s op start timeout=120s op stop timeout=60s",
				rules, KeystonePort, p.KeystoneCfg, p.RunDir, p.RunDir, keystoneExtraIni(p))
		}
	} else {
		set.Keystone, old = hb.Keystone, append(old, "keystone=anything")
	}
	if help, err := Run(ctx, abs, "--help"); err == nil {
		for _, l := range strings.Split(help, "\n") {
			if f := strings.Fields(l); len(f) > 0 && strings.TrimSuffix(f[0], ",") == "render" {
				set.Render = true
			}
		}
	}
	if !agents["vip"] && !agents["haproxy"] {
		return AgentSet{}, fmt.Errorf("%s offers neither the vip nor the haproxy agent (agents: %s)", abs, strings.Join(keys(agents), ", "))
	}
	if len(old) > 0 {
		set.Note = "not yet stackha's: " + strings.Join(old, ", ")
	}
	return set, nil
}

// Stackha reports whether the set runs stackha's own agent of that name.
func (s AgentSet) Stackha(agent string) bool { return s.Binary != "" && s.Agents[agent] }

func keys(m map[string]bool) []string {
	var k []string
	for n := range m {
		k = append(k, n)
	}
	sort.Strings(k)
	return k
}

// installAgents lays out dir as a replacement for /usr/lib/ocf/resource.d:
// an empty mount point per provider found on the host (bound inside the node)
// and, for a stackha set, a stackha directory of symlinks to the binary.
func installAgents(set AgentSet, dir string) ([]string, error) {
	entries, err := os.ReadDir("/usr/lib/ocf/resource.d")
	if err != nil {
		return nil, fmt.Errorf("reading the OCF agent directory: %w", err)
	}
	var providers []string
	for _, e := range entries {
		if !e.IsDir() || e.Name() == "stackha" {
			continue
		}
		if err := os.MkdirAll(filepath.Join(dir, e.Name()), 0o755); err != nil {
			return nil, err
		}
		providers = append(providers, e.Name())
	}
	if set.Binary == "" {
		return providers, nil
	}
	bindir := filepath.Join(filepath.Dir(dir), "bin")
	if err := os.MkdirAll(bindir, 0o755); err != nil {
		return nil, err
	}
	data, err := os.ReadFile(set.Binary)
	if err != nil {
		return nil, fmt.Errorf("reading the stackha binary: %w", err)
	}
	bin := filepath.Join(bindir, "stackha")
	if err := os.WriteFile(bin, data, 0o755); err != nil {
		return nil, fmt.Errorf("copying the stackha binary: %w", err)
	}
	sdir := filepath.Join(dir, "stackha")
	if err := os.MkdirAll(sdir, 0o755); err != nil {
		return nil, err
	}
	for _, a := range keys(set.Agents) {
		if err := os.Symlink(bin, filepath.Join(sdir, a)); err != nil {
			return nil, fmt.Errorf("linking agent %s: %w", a, err)
		}
	}
	return providers, nil
}
