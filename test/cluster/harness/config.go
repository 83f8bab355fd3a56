package harness

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/stackha/stackha/test/cluster/fence"
	"github.com/stackha/stackha/test/sysnode"
)

// KeystonePassword is the throwaway admin password of the harness's
// keystone (a test cluster on TEST-NET addresses only).
const KeystonePassword = "shc-demo-secret"

// corosyncConf is every node's corosync.conf: knet on the ring network,
// the token timeout given, and two_node only for two nodes (three have a
// real majority).
func corosyncConf(nodes []NodeSpec, token time.Duration, exact bool) string {
	var b strings.Builder
	fmt.Fprintf(&b, `totem {
  version: 2
  cluster_name: shc
  transport: knet
  crypto_cipher: none
  crypto_hash: none
  token: %d
`, token.Milliseconds())
	if exact {
		b.WriteString("  token_coefficient: 0\n")
	}
	b.WriteString(`}
nodelist {
`)
	for i, s := range nodes {
		fmt.Fprintf(&b, "  node {\n    ring0_addr: %s\n    name: %s\n    nodeid: %d\n  }\n", s.Ring, s.Name, i+1)
	}
	b.WriteString(`}
quorum {
  provider: corosync_votequorum
`)
	if len(nodes) == 2 {
		b.WriteString("  two_node: 1\n")
	}
	b.WriteString(`}
logging {
  to_stderr: yes
  to_syslog: no
  to_logfile: no
  timestamp: on
}
`)
	return b.String()
}

// HAProxyConfig is the haproxy.cfg every node runs: a "whoami" frontend
// on the VIP that answers with the node's host name (what the failover
// benchmark polls), and keystone on the VIP balanced over both nodes.
func HAProxyConfig(keystone bool, nodes []NodeSpec) string {
	var b strings.Builder
	fmt.Fprintf(&b, `global
  maxconn 2000
  stats socket /run/shc/haproxy-stats.sock mode 600 level admin

defaults
  mode http
  timeout connect 1s
  timeout client 30s
  timeout server 30s
  timeout http-request 5s
  retries 2
  option redispatch

frontend whoami
  bind %s:%d
  http-request return status 200 content-type text/plain lf-string "%%H\n" hdr X-Served-By "%%H"
`, VIP, WhoamiPort)
	b.WriteString(slowFrontend("  "))
	if keystone {
		fmt.Fprintf(&b, `
frontend keystone
  bind %s:%d
  http-response set-header X-Served-By "%%H"
  default_backend keystone

backend keystone
  option httpchk GET /v3
  http-check expect status 200
  default-server inter 1s fall 2 rise 1
`, VIP, KeystonePort)
		for _, s := range nodes {
			fmt.Fprintf(&b, "  server %s %s:%d check\n", s.Name, s.Addr, KeystonePort)
		}
	}
	return b.String()
}

// crmConfig is the cluster's crmsh configuration for an agent set, built
// like `stackha render`'s (crm/README.md): the how-to's properties and
// defaults, the VIP, the haproxy clone on every node with the VIP colocated
// with it and stopped before it (a failover moves only the address), and,
// with keystone, the keystone clone. Every agent set gets the same
// constraints: only the agents differ.
func crmConfig(set AgentSet, p Paths, keystone bool) string {
	var b strings.Builder
	b.WriteString("property cib-bootstrap-options: stonith-enabled=false no-quorum-policy=ignore\n")
	b.WriteString("rsc_defaults rsc-options: resource-stickiness=100 failure-timeout=0 migration-threshold=10\n")
	b.WriteString(set.VIP(p) + "\n")
	b.WriteString(set.HAProxy(p) + "\n")
	b.WriteString("clone haproxy-clone haproxy meta interleave=true\n")
	if keystone {
		b.WriteString(set.Keystone(p) + "\n")
		b.WriteString("clone keystone-clone keystone meta interleave=true\n")
	}
	b.WriteString("colocation vip-with-haproxy inf: " + VIPResource + " haproxy-clone\n")
	if set.SeedOrder {
		b.WriteString("order haproxy-after-vip Mandatory: " + VIPResource + " haproxy-clone\n")
	} else {
		// render's: the VIP's stop before haproxy's, no start order (a
		// moving VIP never waits for haproxy's drain: crm/render).
		b.WriteString("order vip-stops-before-haproxy Optional: " + VIPResource + ":stop haproxy-clone:stop symmetrical=false\n")
	}
	return b.String()
}

func (c *Cluster) writeConfig(ctx context.Context) error {
	for _, n := range c.Nodes {
		if c.systemd() {
			break // render's corosync.conf, in each node's /etc (nodeFiles)
		}
		if err := os.WriteFile(filepath.Join(n.dir, "etc-corosync", "corosync.conf"), []byte(corosyncConf(c.specs, c.opts.Token, c.opts.ExactToken)), 0o644); err != nil {
			return err
		}
	}
	hcfg, crm := HAProxyConfig(c.opts.Keystone, c.specs), crmConfig(c.opts.Agents, c.paths, c.opts.Keystone)
	if c.rendered() {
		var err error
		if hcfg, crm, err = c.render(ctx); err != nil {
			return err
		}
		c.log.Printf("  configuration rendered by `stackha render` from %s", filepath.Join(BaseDir, "topology.yaml"))
	}
	if c.opts.Fencing && !c.rendered() {
		crm += fencingCRM(c.specs, powerSocket())
	}
	if err := os.WriteFile(c.paths.HAProxyCfg, []byte(hcfg), 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(BaseDir, "cluster.crm"), []byte(crm), 0o644); err != nil {
		return err
	}
	for _, line := range strings.Split(strings.TrimSpace(crm), "\n") {
		if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
			c.log.Printf("  crm: %s", line)
		}
	}
	if c.opts.Agents.Note != "" {
		c.log.Printf("  agents: %s", c.opts.Agents.Note)
	}
	return nil
}

// setupKeystone makes the one keystone database and key repositories both
// nodes share (the how-to's "MySQL is already HA", in miniature) and each
// node's start script (keystone on the node's own address).
func (c *Cluster) setupKeystone(ctx context.Context) error {
	dir := filepath.Join(BaseDir, "keystone")
	for _, d := range []string{"fernet-keys", "credential-keys"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o700); err != nil {
			return err
		}
	}
	db := filepath.Join(dir, "keystone.db")
	if err := os.WriteFile(c.paths.KeystoneCfg, []byte(keystoneConf(dir, "use_stderr = true")), 0o644); err != nil {
		return err
	}
	// keystone runs as keystone on both kinds of nodes, as Debian's unit
	// does: the shared files are keystone's. On systemd nodes they are
	// made by it; on lab nodes keystone-manage runs as root and the files
	// are chowned to keystone once bootstrapped (below). Either way the
	// key directories are keystone's first: keystone-manage writes the
	// keys with keystone's effective uid (fernet_utils), and does not
	// chown a directory it did not create.
	owner, as := "keystone", []string{}
	if _, err := Run(ctx, "chown", "-R", "keystone:keystone", dir); err != nil {
		return err
	}
	if c.systemd() {
		as = []string{"runuser", "-u", "keystone", "--"}
	}
	run := func(args ...string) error {
		argv := append(append([]string{}, as...), args...)
		_, err := Run(ctx, argv[0], argv[1:]...)
		return err
	}
	km := func(args ...string) error {
		return run(append([]string{"keystone-manage", "--config-file", c.paths.KeystoneCfg}, args...)...)
	}
	if err := km("db_sync"); err != nil {
		return err
	}
	if err := run("sqlite3", db, "PRAGMA journal_mode=WAL;"); err != nil {
		return err
	}
	if err := km("fernet_setup", "--keystone-user", owner, "--keystone-group", owner); err != nil {
		return err
	}
	if err := km("credential_setup", "--keystone-user", owner, "--keystone-group", owner); err != nil {
		return err
	}
	url, internal := c.KeystoneURL()+"/v3/", c.KeystoneURL()+"/v3/"
	if c.TLS() {
		internal = fmt.Sprintf("http://%s:%d/v3/", InternalVIP, KeystonePort)
	}
	if err := km("bootstrap", "--bootstrap-password", KeystonePassword, "--bootstrap-username", "admin",
		"--bootstrap-project-name", "admin", "--bootstrap-role-name", "admin", "--bootstrap-service-name", "keystone",
		"--bootstrap-region-id", "RegionOne", "--bootstrap-public-url", url, "--bootstrap-internal-url", internal,
		"--bootstrap-admin-url", internal); err != nil {
		return err
	}
	if c.systemd() {
		return nil // keystone.service, with the node's own keystone.conf (nodeFiles)
	}
	// lab nodes: keystone-manage ran as root, keystone runs as keystone
	// (as its unit does): the database, its WAL and the keys are keystone's
	if _, err := Run(ctx, "chown", "-R", "keystone:keystone", dir); err != nil {
		return err
	}
	for _, n := range c.Nodes {
		if err := c.keystoneNodeFiles(ctx, n); err != nil {
			return err
		}
	}
	return nil
}

// keystoneNodeFiles writes lab node n's own keystone files in its /run
// (a tmpfs of its own, made anew at each power-on: PowerOn writes them
// again, as a host's boot would find them in /etc): the heartbeat set's
// start script, the node's uwsgi ini (root's: the agent refuses an
// extra_ini anyone else could write) and its log directory.
func (c *Cluster) keystoneNodeFiles(ctx context.Context, n *Node) error {
	ini := keystoneExtraIni(c.paths)
	// the heartbeat set's start script: the unit's uwsgi command as the
	// keystone user (uwsgi as root stops at the ini's AppArmor profile on
	// a kernel without AppArmor), with the harness's ini after Debian's as
	// stackha's agent runs it (extra_ini)
	script := keystoneRunScript(c.paths, n.Addr)
	_, err := n.Script(ctx, fmt.Sprintf("cat > %s <<'EOF'\n%sEOF\nchmod 0755 %s\ncat > %s <<'EOF'\n%sEOF\nchown root:root %s\nchmod 0644 %s\n"+
		"install -d -o keystone -g keystone -m 0750 %s\n",
		c.paths.KeystoneRun, script, c.paths.KeystoneRun, ini, keystoneExtraIniData(c.paths), ini, ini, keystoneLogDir(c.paths)))
	return err
}

// keystoneRunScript is the heartbeat set's start script for the node at
// addr: the unit's uwsgi command as the keystone user, Debian's ini then
// the node's (keystoneExtraIni).
func keystoneRunScript(p Paths, addr string) string {
	return fmt.Sprintf("#!/bin/sh\nexec setpriv --reuid keystone --regid keystone --init-groups env OS_KEYSTONE_CONFIG_DIR=%s "+
		"/usr/bin/uwsgi_python3 --http-socket %s:%d --ini %s --ini %s\n",
		filepath.Dir(p.KeystoneCfg), addr, KeystonePort, keystoneIni, keystoneExtraIni(p))
}

// keystoneConf is keystone's configuration on the shared database and key
// repositories in dir; extra goes in [DEFAULT] (where it logs).
func keystoneConf(dir, extra string) string {
	return fmt.Sprintf(`[DEFAULT]
%s
[database]
connection = sqlite:///%s/keystone.db
[token]
provider = fernet
[fernet_tokens]
key_repository = %s/fernet-keys
[fernet_receipts]
key_repository = %s/fernet-keys
[credential]
key_repository = %s/credential-keys
[identity]
password_hash_rounds = 4
[oslo_middleware]
enable_proxy_headers_parsing = true
`, extra, dir, dir, dir, dir)
}

// keystoneIni is the uwsgi ini of Debian's keystone package: the harness
// runs keystone as its unit does, never pbr's test server.
const keystoneIni = "/etc/keystone/keystone-uwsgi.ini"

// keystoneLogDir is each node's directory for uwsgi's log (the
// keystone user's, on the node's own /run): the package's
// /var/log/keystone is shared by the nodes.
func keystoneLogDir(p Paths) string { return filepath.Join(p.RunDir, "keystone") }

// keystoneThreads is how many threads each of the lab nodes' keystone
// workers runs: Debian's ini says 32.
const keystoneThreads = 4

// keystoneExtraIni is each lab node's own uwsgi ini for keystone, read
// after Debian's (keystoneIni) as a second --ini, as the systemd nodes'
// units read theirs (workersIni): the agent's extra_ini, and the heartbeat
// set's start script's. Render takes no parameter value with spaces, so
// the options go in this file rather than in extra_args.
func keystoneExtraIni(p Paths) string { return filepath.Join(p.RunDir, "shc-keystone.ini") }

// keystoneExtraIniData follows the package ini's options: two workers of
// four threads instead of its eight workers of 32 (each worker loads
// keystone: about 130 MiB and seconds of CPU), and the node's own log.
func keystoneExtraIniData(p Paths) string {
	return fmt.Sprintf("# cluster harness: %d uwsgi processes of %d threads, not Debian's 8 of 32, and this node's log (read after Debian's ini)\n"+
		"[uwsgi]\nprocesses = %d\nthreads = %d\nlogto = %s\n",
		uwsgiWorkers, keystoneThreads, uwsgiWorkers, keystoneThreads, filepath.Join(keystoneLogDir(p), "uwsgi.log"))
}

// seedCIB writes each node's initial CIB: a short DC dead time, no
// fencing, and the whole resource configuration, so that the cluster forms
// in seconds and starts everything at once.
func (c *Cluster) seedCIB(ctx context.Context) error {
	cib := filepath.Join(BaseDir, "cib.xml")
	out, err := Run(ctx, "cibadmin", "--empty")
	if err != nil {
		return err
	}
	if err := os.WriteFile(cib, []byte(out), 0o600); err != nil {
		return err
	}
	// crmsh reads the agents' meta-data: load inside node1, where the
	// agent set is installed.
	n := c.Nodes[0]
	if _, err := n.Script(ctx, fmt.Sprintf("export CIB_file=%s\ncrm -F configure load update %s\n",
		cib, filepath.Join(BaseDir, "cluster.crm"))); err != nil {
		return fmt.Errorf("loading the cluster configuration: %w", err)
	}
	if _, err := runEnv(ctx, []string{"CIB_file=" + cib}, "crm_attribute", "-t", "crm_config", "-n", "dc-deadtime", "-v", "2s"); err != nil {
		return err
	}
	if c.opts.Fencing {
		if err := fencingProperties(ctx, cib, len(c.specs), c.rendered()); err != nil {
			return err
		}
	}
	switch d := c.opts.TransitionDelay; {
	case d < 0:
		if _, err := runEnv(ctx, []string{"CIB_file=" + cib}, "crm_attribute", "-t", "crm_config", "-n", "transition-delay", "-D"); err != nil {
			return err
		}
	case d > 0:
		if _, err := runEnv(ctx, []string{"CIB_file=" + cib}, "crm_attribute", "-t", "crm_config", "-n", "transition-delay", "-v", fmt.Sprintf("%dms", d.Milliseconds())); err != nil {
			return err
		}
	}
	if l := c.opts.BatchLimit; l > 0 {
		if _, err := runEnv(ctx, []string{"CIB_file=" + cib}, "crm_attribute", "-t", "crm_config", "-n", "batch-limit", "-v", strconv.Itoa(l)); err != nil {
			return err
		}
	}
	if _, err := runEnv(ctx, []string{"CIB_file=" + cib}, "crm_verify", "-L"); err != nil {
		return fmt.Errorf("the cluster configuration does not verify: %w", err)
	}
	data, err := os.ReadFile(cib)
	if err != nil {
		return err
	}
	for _, n := range c.Nodes {
		if n.sys != nil {
			// On the node's disk, as pacemaker's own CIB.
			f := sysnode.File{Data: data, Mode: 0o600, Owner: "hacluster:haclient"}
			if err := n.sys.WriteFile(ctx, "/var/lib/pacemaker/cib/cib.xml", f); err != nil {
				return err
			}
			continue
		}
		dst := filepath.Join(n.dir, "lib-pacemaker", "cib", "cib.xml")
		if err := os.WriteFile(dst, data, 0o600); err != nil {
			return err
		}
		if _, err := Run(ctx, "chown", "hacluster:haclient", dst); err != nil {
			return err
		}
	}
	return nil
}

// rendered reports whether the cluster loads what `stackha render` makes:
// a stackha binary with render and all three agents, and keystone on.
func (c *Cluster) rendered() bool {
	s := c.opts.Agents
	return s.Render && c.opts.Keystone && s.Stackha("vip") && s.Stackha("haproxy") && s.Stackha("keystone")
}

// Topology is the harness's cluster as a `stackha render` topology: the
// addresses above, keystone run by the agent as a process (no systemd in
// the nodes: under uwsgi with the package's ini, as keystone), short
// intervals, render's own haproxy check and timeout defaults (the ones an
// operator gets), and haproxy's maxconn at 2000 (the how-to's 10000 needs 20042
// open files, more than some machines' hard limit, which a container's
// root may not raise). With fencing, each node gets a fence_shc device on
// the harness's power switch: render writes the devices, keeps each off its
// node and sets the fencing properties, as for an operator's BMCs.
func Topology(p Paths, fencing bool) string {
	var b strings.Builder
	fmt.Fprintf(&b, "vip:\n  address: %s\n  prefix: %d\n  nic: eth0\n  monitor_interval: 1s\nnodes:\n", VIP, VIPPrefix)
	for _, n := range p.Nodes {
		fmt.Fprintf(&b, "  - {name: %s, address: %s}\n", n.Name, n.Addr)
	}
	fmt.Fprintf(&b, `services:
  - name: keystone
    port: %d
    run_mode: process
    monitor_interval: 2s
    # Lab nodes share the machine's /etc, so one disable file would take
    # every node's keystone out: the drain runs on systemd nodes.
    drain_timeout: 0
    params: {user: keystone, config: %s, pidfile: %s/keystone.pid, log_file: %s/keystone.out, extra_ini: %s}
haproxy:
  config: %s
  maxconn: 2000
  monitor_interval: 1s
`, KeystonePort, p.KeystoneCfg, p.RunDir, p.RunDir, keystoneExtraIni(p), p.HAProxyCfg)
	if fencing {
		b.WriteString("fencing:\n  devices:\n")
		for _, n := range p.Nodes {
			fmt.Fprintf(&b, "    - {node: %s, agent: %s, params: {socket: %s, power_timeout: \"20\"}}\n", n.Name, fence.AgentName, powerSocket())
		}
	}
	return b.String()
}

// SystemdTopology is the harness's cluster for systemd nodes as a
// `stackha render` topology, the production shape: keystone run by its
// Debian unit (run_mode systemd, the agent's default), corosync's ring on
// each node's eth1 only (ring0_addr: a fault on the service network is
// not also a node loss), render's corosync.conf with its authkey, and
// corosync's token as the harness's lab nodes run it (token; exact sets
// token_coefficient 0) so that both kinds of nodes compare; services are
// the API services besides keystone (Options.Services), each on its
// Debian unit too. Every service drains before it stops (render's
// default) unless noDrain.
func SystemdTopology(p Paths, fencing bool, token time.Duration, exact bool, services []string, noDrain bool) string {
	var b strings.Builder
	fmt.Fprintf(&b, "vip:\n  address: %s\n  prefix: %d\n  nic: eth0\n  monitor_interval: 1s\nnodes:\n", VIP, VIPPrefix)
	for _, n := range p.Nodes {
		fmt.Fprintf(&b, "  - {name: %s, address: %s, ring0_addr: %s}\n", n.Name, n.Addr, n.Ring)
	}
	fmt.Fprintf(&b, "corosync:\n  cluster_name: shc\n  token: %dms\n", token.Milliseconds())
	if exact {
		b.WriteString("  token_coefficient: 0\n")
	}
	fmt.Fprintf(&b, `services:
  - name: keystone
    port: %d
    run_mode: systemd
    monitor_interval: 2s
`, KeystonePort)
	drain := ""
	if noDrain {
		b.WriteString("    drain_timeout: 0\n")
		drain = ", drain_timeout: 0"
	}
	for _, s := range services {
		fmt.Fprintf(&b, "  - {name: %s, run_mode: systemd, monitor_interval: 2s%s}\n", s, drain)
	}
	fmt.Fprintf(&b, `haproxy:
  config: %s
  maxconn: 2000
  monitor_interval: 1s
`, p.HAProxyCfg)
	if fencing {
		b.WriteString("fencing:\n  devices:\n")
		for _, n := range p.Nodes {
			fmt.Fprintf(&b, "    - {node: %s, agent: %s, params: {socket: %s, power_timeout: \"20\"}}\n", n.Name, fence.AgentName, powerSocket())
		}
	}
	return b.String()
}

// render runs `stackha render` on Topology and returns its haproxy.cfg and
// cluster.crm. The harness adds to haproxy.cfg only what its client needs
// to tell the nodes apart: an X-Served-By header in each frontend and the
// whoami frontend.
func (c *Cluster) render(ctx context.Context) (haproxyCfg, crm string, err error) {
	topo := filepath.Join(BaseDir, "topology.yaml")
	t := Topology(c.paths, c.opts.Fencing)
	if c.systemd() {
		t = SystemdTopology(c.paths, c.opts.Fencing, c.opts.Token, c.opts.ExactToken, c.opts.Services, c.opts.NoDrain)
		if c.opts.Stateful {
			t += statefulTopology()
		}
	}
	if c.TLS() {
		if t, err = frontDoor(t, c.specs); err != nil {
			return "", "", err
		}
	}
	if err := os.WriteFile(topo, []byte(t), 0o644); err != nil {
		return "", "", err
	}
	out := filepath.Join(BaseDir, "render")
	if _, err := Run(ctx, c.opts.Agents.Binary, "render", "--topology", topo, "--out", out); err != nil {
		return "", "", err
	}
	h, err := os.ReadFile(filepath.Join(out, "haproxy.cfg"))
	if err != nil {
		return "", "", err
	}
	cr, err := os.ReadFile(filepath.Join(out, "cluster.crm"))
	if err != nil {
		return "", "", err
	}
	return addWhoami(string(h)), string(cr), nil
}

// slowFrontend is the harness's frontend on the VIP whose backend is the
// slow server in the client namespace (slowPort): a request there is held
// open by haproxy on the VIP's node. No health check: the server listens
// only while a fault holds a request.
func slowFrontend(indent string) string {
	return fmt.Sprintf("\n# Added by the cluster harness: a request held open through the VIP.\n"+
		"frontend shc-slow\n%[1]sbind %[2]s:%[3]d\n%[1]shttp-response set-header X-Served-By \"%%H\"\n%[1]sdefault_backend shc-slow\n"+
		"\nbackend shc-slow\n%[1]sserver client %[4]s:%[3]d no-check\n", indent, VIP, slowPort, ClientAddr)
}

// addWhoami adds the harness's node identification to a haproxy.cfg.
func addWhoami(cfg string) string {
	var b strings.Builder
	for _, l := range strings.SplitAfter(cfg, "\n") {
		b.WriteString(l)
		if strings.HasPrefix(l, "frontend ") {
			b.WriteString("    http-response set-header X-Served-By \"%H\"\n")
		}
	}
	fmt.Fprintf(&b, "\n# Added by the cluster harness: who answers.\nfrontend whoami\n    bind %s:%d\n"+
		"    http-request return status 200 content-type text/plain lf-string \"%%H\\n\" hdr X-Served-By \"%%H\"\n", VIP, WhoamiPort)
	b.WriteString(slowFrontend("    "))
	return b.String()
}
