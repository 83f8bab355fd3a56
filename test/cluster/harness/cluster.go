package harness

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/stackha/stackha/internal/testutil/nodelock"
	"github.com/stackha/stackha/test/cluster/fence"
	"github.com/stackha/stackha/test/sysnode"
)

// BaseDir holds everything a run writes; it is removed at teardown.
// It is under /var/tmp (not /run: each node mounts its own tmpfs on /run,
// and every node must see the shared files). World-readable so that
// Pacemaker can run agents' meta-data as an unprivileged user.
const BaseDir = "/var/tmp/shc"

// Prefix names every network namespace the harness creates.
const Prefix = "shc-"

const (
	swNS     = Prefix + "sw"
	clientNS = Prefix + "client"
)

// Options configure a cluster.
type Options struct {
	Agents AgentSet
	// Keystone adds real keystone on each node (one shared sqlite database in
	// WAL mode and one fernet key repository) behind haproxy on the VIP.
	Keystone bool
	// Log receives one line per step (nil: quiet).
	Log io.Writer
	// Nodes is the number of nodes, 2 (the default) or 3.
	Nodes int
	// Fencing turns fencing on: the harness's power switch, one
	// stonith:fence_shc device per node, stonith-enabled=true,
	// no-quorum-policy=stop and, on two nodes, priority-fencing-delay (the
	// VIP holder wins a fence race). Off: the how-to's lab mode
	// (stonith-enabled=false, no-quorum-policy=ignore).
	Fencing bool
	// Keepalived runs the comparison instead of Pacemaker: haproxy and
	// keepalived (VRRP, as Kolla-Ansible configures it) on every node, no
	// corosync, no Pacemaker, no fencing (see keepalived.go).
	Keepalived bool
	// Token is corosync's token timeout (1 s when zero).
	Token time.Duration
	// ExactToken sets token_coefficient to 0: the token timeout is Token
	// whatever the number of nodes (by default corosync adds 650 ms per
	// node beyond two; consensus is 1.2 times the result).
	ExactToken bool
	// TransitionDelay overrides Pacemaker's transition-delay: 0 keeps what
	// render writes (100 ms with fencing, none without), below 0 removes
	// it (Pacemaker's own 0s, for comparison). After a node loss the DC
	// queues its own CIB updates of the lost node and asks the CIB for the
	// scheduler's input at once; when that answer comes back before its
	// updates are done, pacemaker-controld (2.1) sleeps 1 s and asks again.
	// A short delay lets the updates finish first (docs/benchmarks.md).
	TransitionDelay time.Duration
	// BatchLimit, when over 0, sets Pacemaker's batch-limit: 1 is what
	// the controller's throttling runs a busy cluster of two or three
	// nodes at (SHC_BATCH_LIMIT), whatever the machine's load.
	BatchLimit int
	// LogDir, when set, receives the nodes' Pacemaker, Corosync and service
	// logs at teardown (kept after the run for a failed test).
	LogDir string
	// Load, when set, keeps CPU and I/O pressure inside every node (see
	// Load): Pacemaker then throttles, as on a busy controller.
	Load *Load
	// Kind is what the nodes are: the harness's lab nodes (the default)
	// or nodes that boot systemd (SystemdNodes, systemd.go), which run
	// what `stackha render` writes, corosync, Pacemaker and keystone from
	// Debian's units.
	Kind NodeKind
	// Services are API services besides keystone that systemd nodes run
	// from their Debian units behind haproxy (ServiceNames: cinder-api, glance-api,
	// placement-api; services.go).
	Services []string
	// NoDrain: on systemd nodes the API services stop without a drain
	// (render's drain_timeout 0), the other side of the drain's
	// comparison ($SHC_DRAIN=0 in the cluster tests).
	NoDrain bool
	// TLS gives a rendered cluster (stackha's agents, keystone on) the
	// front door of a production control plane (tls.go): a public VIP
	// with TLS, a CA made with openssl, and an internal VIP on the nodes'
	// own network; each haproxy serves its metrics on its node's address.
	TLS bool
	// Stateful runs the stateful tier on systemd nodes (three, fenced):
	// Galera and RabbitMQ by resource-agents' agents as render configures
	// them, keystone on Galera, its keys copied from the first node
	// (stateful.go). No shared sqlite, no shared key directory.
	Stateful bool
}

// Cluster is a running two-node cluster and its client.
type Cluster struct {
	opts  Options
	log   *Logger
	lock  *os.File
	Nodes []*Node
	paths Paths
	nsIno map[string]uint64 // namespace handle -> inode (net and mnt), for the leak check
	specs []NodeSpec
	// providers are the OCF providers bound into every node.
	providers []string
	// power is the fence device's switch (fencing on only).
	power   *fence.Switch
	mu      sync.Mutex
	powerMu sync.Mutex // one power action at a time
	procs   []*proc
	closed  bool
	// lab holds the systemd nodes (SystemdNodes only).
	lab *sysnode.Lab
	// secrets are the stateful tier's passwords (Stateful only).
	secrets secrets
	// certSerial is the serial of the public VIP's newest certificate
	// (TLS only).
	certSerial int
}

// Node is one cluster node.
type Node struct {
	NodeSpec
	c   *Cluster
	dir string
	// init is the node's pid 1: each node has its own PID namespace (an
	// agent that looks through /proc sees only its node's processes, as on
	// a real machine). initPid is its pid as the host sees it.
	init    *proc
	initPid int
	// sys is the node when it boots systemd (SystemdNodes): its pid 1 is
	// initPid while it is on.
	sys *sysnode.Node
	on  bool            // powered on (under c.mu)
	cut map[string]bool // switch ports a fault took down (under c.mu)
}

// proc is a process the harness started: cmd is nsenter, pid
// the program it runs (its child when it forked into a PID namespace).
type proc struct {
	name string
	cmd  *exec.Cmd
	pid  int
	done chan struct{}
}

func (c *Cluster) nodeDir(n string) string { return filepath.Join(BaseDir, n) }

func nsDir() string { return filepath.Join(BaseDir, "ns") }

func (c *Cluster) names() []string {
	var names []string
	for _, n := range c.Nodes {
		names = append(names, n.Name)
	}
	return names
}

// Up builds the namespaces, writes the configuration, starts Corosync and
// Pacemaker on every node and waits until all are online and every
// resource has started. On error everything built so far is torn down.
func Up(ctx context.Context, opts Options) (_ *Cluster, err error) {
	if os.Geteuid() != 0 {
		return nil, errors.New("the cluster harness needs root")
	}
	c, err := begin(ctx, opts)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			if cerr := c.Close(); cerr != nil {
				err = fmt.Errorf("%w (and tearing down: %v)", err, cerr)
			}
		}
	}()
	type step struct {
		what string
		f    func(context.Context) error
		skip bool
	}
	fence := step{"fencing: power switch on " + powerSocket() + ", fence_shc in each node's /usr/sbin", c.startSwitch, !opts.Fencing}
	steps := []step{
		{"network namespaces " + strings.Join(c.nsNames(), ", ") + " (service bridge 192.0.2.0/24, ring bridge 198.51.100.0/24)", c.buildNetwork, false},
		{"mount, UTS and PID namespaces for " + strings.Join(c.names(), ", ") + " (own /proc, /run, /sys, /dev/shm, Pacemaker and Corosync state)", c.buildMounts, false},
		{"configuration: corosync.conf, haproxy.cfg, agents (" + opts.Agents.Name + ")", c.writeConfig, false},
		{"TLS: a CA and the public VIP's certificate, made with openssl in " + TLSDir(), c.makeCA, !c.TLS()},
		{"keystone: one sqlite database (WAL) and one fernet key repository for both nodes", c.setupKeystone, !opts.Keystone},
		{"cluster configuration pre-seeded in each node's CIB", c.seedCIB, false},
		fence,
		{"starting corosync and pacemakerd on every node", c.startStack, false},
	}
	if opts.Keepalived && !c.systemd() {
		steps = append(steps[:2], step{"haproxy and keepalived (VRRP adverts on the ring network, the VIP on eth0) on every node", c.startKeepaliveds, false})
	}
	if c.systemd() {
		if opts.Keepalived && (opts.Stateful || opts.Fencing) {
			return nil, errors.New("the keepalived comparison runs without fencing and without the stateful tier")
		}
		if opts.Stateful && (opts.Nodes != 3 || !opts.Fencing) {
			return nil, errors.New("the stateful tier runs on three fenced nodes (Galera keeps a primary component only with a majority)")
		}
		for _, name := range opts.Services {
			s, err := lookupService(name)
			if err != nil {
				return nil, err
			}
			if s.stateful != opts.Stateful {
				return nil, fmt.Errorf("service %s: the stateful tier runs heat-api besides keystone, the shared-sqlite nodes the others", name)
			}
		}
		steps = []step{
			steps[0],
			{"the stateful tier's passwords and Erlang cookie, made for this cluster", c.makeSecrets, !opts.Stateful},
			{"stackha's agents and the fence agent laid out in " + BaseDir + " (shared with every node)", c.prepareSystemd, false},
			{"TLS: a CA and the public VIP's certificate, made with openssl in " + TLSDir(), c.makeCA, !c.TLS()},
			{"configuration rendered by `stackha render`: corosync.conf, haproxy.cfg, per-node /etc/default files", c.writeConfig, false},
			{"keystone: one sqlite database (WAL) and one fernet key repository for every node, owned by keystone", c.setupKeystone, opts.Stateful},
			{"systemd nodes " + strings.Join(c.names(), ", ") + " booted, each with its own files in /etc and the agents installed", c.bootSystemd, false},
			{"cluster configuration pre-seeded in each node's CIB", c.seedCIB, false},
			fence,
			{"corosync and pacemaker started from their units in every node", c.startStack, false},
		}
		if opts.Keepalived {
			steps = append(steps[:7], step{"keystone, the services, haproxy and keepalived from their units on every node (no Pacemaker)", c.startKeepalivedUnits, false})
		}
	}
	for _, s := range steps {
		if s.skip {
			continue
		}
		t0 := time.Now()
		if err := s.f(ctx); err != nil {
			return nil, err
		}
		c.log.Printf("%s (%s)", s.what, time.Since(t0).Round(time.Millisecond))
	}
	if opts.Keepalived {
		t0 := time.Now()
		if err := c.WaitKeepalivedSteady(ctx, 90*time.Second); err != nil {
			return nil, err
		}
		c.log.Printf("keepalived steady: one MASTER with the VIP, every other node BACKUP (%s)", time.Since(t0).Round(time.Millisecond))
		for _, n := range c.Nodes {
			if err := c.WaitNodeServes(ctx, n, StartLimit); err != nil {
				return nil, err
			}
		}
		if err := c.placementUser(ctx); err != nil {
			return nil, err
		}
		return c, nil
	}
	t0 := time.Now()
	if err := c.WaitOnline(ctx, 90*time.Second); err != nil {
		return nil, err
	}
	c.log.Printf("both nodes online (%s)", time.Since(t0).Round(time.Millisecond))
	t0 = time.Now()
	limit := 120 * time.Second
	if opts.Stateful {
		limit = StatefulLimit
	}
	if err := c.WaitSettled(ctx, limit); err != nil {
		return nil, err
	}
	c.log.Printf("all resources started (%s)", time.Since(t0).Round(time.Millisecond))
	if opts.Stateful {
		t0 = time.Now()
		if err := c.setupDatabases(ctx); err != nil {
			return nil, err
		}
		c.log.Printf("Galera: the check's user, keystone's database, schema and bootstrap through the VIP; RabbitMQ's user (%s)", time.Since(t0).Round(time.Millisecond))
	}
	if c.systemd() {
		if err := c.checkUnits(ctx); err != nil {
			return nil, err
		}
	}
	if err := c.placementUser(ctx); err != nil {
		return nil, err
	}
	return c, nil
}

// begin takes the node lock (nodelock), removes what a crashed run left and
// returns the cluster with its nodes, nothing built yet.
func begin(ctx context.Context, opts Options) (*Cluster, error) {
	c := &Cluster{opts: opts, log: &Logger{w: opts.Log, start: time.Now()}, nsIno: map[string]uint64{}}
	c.paths = Paths{
		HAProxyCfg:  filepath.Join(BaseDir, "haproxy.cfg"),
		KeystoneCfg: filepath.Join(BaseDir, "keystone", "keystone.conf"),
		KeystoneRun: "/run/shc/keystone-run",
		RunDir:      "/run/shc",
	}
	if err := c.acquire(ctx); err != nil {
		return nil, err
	}
	if err := cleanStale(ctx, c.log); err != nil {
		c.lock.Close()
		return nil, err
	}
	if c.opts.Nodes == 0 {
		c.opts.Nodes = 2
	}
	if c.opts.Nodes < 2 || c.opts.Nodes > maxNodes {
		c.lock.Close()
		return nil, fmt.Errorf("the harness runs 2 to %d nodes, not %d", maxNodes, c.opts.Nodes)
	}
	if c.opts.TLS && (c.opts.Stateful || c.opts.Keepalived || !c.rendered()) {
		c.lock.Close()
		return nil, errors.New("TLS and the internal VIP run with what `stackha render` writes (stackha's agents, keystone on), not on the stateful tier or with keepalived")
	}
	if c.opts.Token == 0 {
		c.opts.Token = time.Second
	}
	c.specs = nodeSpecs(c.opts.Nodes)
	c.paths.Nodes = c.specs
	for _, s := range c.specs {
		c.Nodes = append(c.Nodes, &Node{NodeSpec: s, c: c, dir: c.nodeDir(s.Name), on: true})
	}
	return c, nil
}

func (c *Cluster) nsNames() []string {
	names := []string{swNS, clientNS}
	for _, n := range c.Nodes {
		names = append(names, Prefix+n.Name)
	}
	return names
}

// Paths returns the files of the cluster's configuration.
func (c *Cluster) Paths() Paths { return c.paths }

// Node returns the node of that name.
func (c *Cluster) Node(name string) *Node {
	for _, n := range c.Nodes {
		if n.Name == name {
			return n
		}
	}
	return nil
}

// Others returns the nodes that are not n.
func (c *Cluster) Others(n *Node) []*Node {
	var o []*Node
	for _, m := range c.Nodes {
		if m != n {
			o = append(o, m)
		}
	}
	return o
}

// Specs returns the cluster's nodes' names and addresses.
func (c *Cluster) Specs() []NodeSpec { return c.specs }

// Other returns the first node that is not n (the other node of two).
func (c *Cluster) Other(n *Node) *Node {
	for _, o := range c.Nodes {
		if o != n {
			return o
		}
	}
	return nil
}

// acquire takes the node lock (nodelock): one cluster, or sysnode lab, at
// a time on a machine (make demo, the tests, the benchmark), and the
// stale-state cleanup only runs under it.
func (c *Cluster) acquire(ctx context.Context) error {
	f, err := nodelock.Take(ctx, nodelock.Path, c.log)
	if err != nil {
		return err
	}
	c.lock = f
	return nil
}

// nsenter is the prefix of a command run inside node n: the network,
// mount, UTS and PID namespaces of the node's init.
func (n *Node) nsenter() []string {
	n.c.mu.Lock()
	defer n.c.mu.Unlock()
	if n.sys != nil {
		// Every namespace of the node's systemd, its cgroup one included.
		return []string{"nsenter", "--target", strconv.Itoa(n.initPid), "--all", "--"}
	}
	return []string{"nsenter", "--target", strconv.Itoa(n.initPid), "--net", "--mount", "--uts", "--pid", "--"}
}

// Run runs a command inside the node and returns its combined output.
func (n *Node) Run(ctx context.Context, name string, args ...string) (string, error) {
	argv := append(n.nsenter(), name)
	argv = append(argv, args...)
	return Run(ctx, argv[0], argv[1:]...)
}

// Script runs a shell script inside the node.
func (n *Node) Script(ctx context.Context, script string) (string, error) {
	return runScript(ctx, n.nsenter(), script)
}

// NetNS is the path of the node's network namespace handle.
func (n *Node) NetNS() string { return "/run/netns/" + Prefix + n.Name }

// ClientNetNS is the path of the client's network namespace handle.
func ClientNetNS() string { return "/run/netns/" + clientNS }

// Opts are the options the cluster was brought up with.
func (c *Cluster) Opts() Options { return c.opts }

// Dir is the node's directory under BaseDir: its logs and state.
func (n *Node) Dir() string { return n.dir }
