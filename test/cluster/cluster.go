package cluster

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
	"syscall"
	"time"
)

// BaseDir holds everything a run writes; it is removed at teardown.
// It is under /var/tmp (not /run: each node mounts its own tmpfs on /run,
// and every node must see the shared files). World-readable so that
// Pacemaker can run agents' meta-data as an unprivileged user.
const BaseDir = "/var/tmp/shc"

// lockPath serialises runs of the harness on a machine (make demo, the
// tests, the benchmark): one cluster at a time, and the stale-state cleanup
// only runs under it.
const lockPath = "/var/tmp/shc.lock"

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
	// LogDir, when set, receives the nodes' Pacemaker, Corosync and service
	// logs at teardown (kept after the run for a failed test).
	LogDir string
}

// Cluster is a running two-node cluster and its client.
type Cluster struct {
	opts   Options
	log    *logger
	lock   *os.File
	Nodes  []*Node
	paths  Paths
	nsIno  map[string]uint64 // namespace handle -> inode (net and mnt), for the leak check
	mu     sync.Mutex
	procs  []*proc
	closed bool
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
func nsDir() string                        { return filepath.Join(BaseDir, "ns") }

// Up builds the namespaces, writes the configuration, starts Corosync and
// Pacemaker on both nodes and waits until both are online and every
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
	steps := []struct {
		what string
		f    func(context.Context) error
		skip bool
	}{
		{"network namespaces " + strings.Join(c.nsNames(), ", ") + " (service bridge 192.0.2.0/24, ring bridge 198.51.100.0/24)", c.buildNetwork, false},
		{"mount, UTS and PID namespaces for node1, node2 (own /proc, /run, /sys, /dev/shm, Pacemaker and Corosync state)", c.buildMounts, false},
		{"configuration: corosync.conf, haproxy.cfg, agents (" + opts.Agents.Name + ")", c.writeConfig, false},
		{"keystone: one sqlite database (WAL) and one fernet key repository for both nodes", c.setupKeystone, !opts.Keystone},
		{"cluster configuration pre-seeded in each node's CIB", c.seedCIB, false},
		{"starting corosync and pacemakerd on both nodes", c.startStack, false},
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
	t0 := time.Now()
	if err := c.WaitOnline(ctx, 90*time.Second); err != nil {
		return nil, err
	}
	c.log.Printf("both nodes online (%s)", time.Since(t0).Round(time.Millisecond))
	t0 = time.Now()
	if err := c.WaitSettled(ctx, 120*time.Second); err != nil {
		return nil, err
	}
	c.log.Printf("all resources started (%s)", time.Since(t0).Round(time.Millisecond))
	return c, nil
}

// begin takes the harness lock, removes what a crashed run left and
// returns the cluster with its nodes, nothing built yet.
func begin(ctx context.Context, opts Options) (*Cluster, error) {
	c := &Cluster{opts: opts, log: &logger{w: opts.Log, start: time.Now()}, nsIno: map[string]uint64{}}
	c.paths = Paths{
		HAProxyCfg:  filepath.Join(BaseDir, "haproxy.cfg"),
		KeystoneCfg: filepath.Join(BaseDir, "keystone", "keystone.conf"),
		KeystoneRun: "/run/shc/keystone-run",
		RunDir:      "/run/shc",
	}
	if err := c.acquire(ctx); err != nil {
		return nil, err
	}
	if err := CleanStale(ctx, c.log); err != nil {
		c.lock.Close()
		return nil, err
	}
	for _, s := range Nodes {
		c.Nodes = append(c.Nodes, &Node{NodeSpec: s, c: c, dir: c.nodeDir(s.Name)})
	}
	return c, nil
}

func (c *Cluster) nsNames() []string {
	names := []string{swNS, clientNS}
	for _, s := range Nodes {
		names = append(names, Prefix+s.Name)
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

// Other returns the node that is not n.
func (c *Cluster) Other(n *Node) *Node {
	for _, o := range c.Nodes {
		if o != n {
			return o
		}
	}
	return nil
}

func (c *Cluster) acquire(ctx context.Context) error {
	f, err := os.OpenFile(lockPath, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return fmt.Errorf("opening the harness lock: %w", err)
	}
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			c.lock = f
			return nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			f.Close()
			return fmt.Errorf("locking %s: %w", lockPath, err)
		}
		c.log.Printf("waiting for another run of the cluster harness (lock %s)", lockPath)
		select {
		case <-ctx.Done():
			f.Close()
			return fmt.Errorf("waiting for the harness lock %s: %w", lockPath, ctx.Err())
		case <-time.After(2 * time.Second):
		}
	}
}

// nsenter is the prefix of a command run inside node n: the network,
// mount, UTS and PID namespaces of the node's init.
func (n *Node) nsenter() []string {
	return []string{"nsenter", "--target", strconv.Itoa(n.initPid), "--net", "--mount", "--uts", "--pid", "--"}
}

// Run runs a command inside the node and returns its combined output.
func (n *Node) Run(ctx context.Context, name string, args ...string) (string, error) {
	argv := append(n.nsenter(), name)
	argv = append(argv, args...)
	return run(ctx, argv[0], argv[1:]...)
}

// Script runs a shell script inside the node.
func (n *Node) Script(ctx context.Context, script string) (string, error) {
	return runScript(ctx, n.nsenter(), script)
}

// NetNS is the path of the node's network namespace handle.
func (n *Node) NetNS() string { return "/run/netns/" + Prefix + n.Name }

// ClientNetNS is the path of the client's network namespace handle.
func ClientNetNS() string { return "/run/netns/" + clientNS }

func (c *Cluster) buildNetwork(ctx context.Context) error {
	for _, ns := range c.nsNames() {
		if _, err := run(ctx, "ip", "netns", "add", ns); err != nil {
			return err
		}
		var st syscall.Stat_t
		if err := syscall.Stat("/run/netns/"+ns, &st); err != nil {
			return fmt.Errorf("namespace %s: %w", ns, err)
		}
		c.nsIno["net:"+ns] = st.Ino
	}
	// Both ends of each veth are created inside namespaces: the host's
	// network is never touched.
	sw := []string{
		"link set lo up",
		"link add br0 type bridge",
		"link add br1 type bridge",
		"link set br0 up",
		"link set br1 up",
	}
	for _, n := range c.Nodes {
		sw = append(sw,
			fmt.Sprintf("link add s-%s type veth peer name eth0 netns %s%s", n.Name, Prefix, n.Name),
			fmt.Sprintf("link add r-%s type veth peer name eth1 netns %s%s", n.Name, Prefix, n.Name),
			fmt.Sprintf("link set s-%s master br0 up", n.Name),
			fmt.Sprintf("link set r-%s master br1 up", n.Name))
	}
	sw = append(sw, "link add s-client type veth peer name eth0 netns "+clientNS, "link set s-client master br0 up")
	if err := ipBatch(ctx, swNS, sw); err != nil {
		return err
	}
	for _, n := range c.Nodes {
		if err := ipBatch(ctx, Prefix+n.Name, []string{
			"link set lo up",
			fmt.Sprintf("addr add %s/24 dev eth0", n.Addr),
			fmt.Sprintf("addr add %s/24 dev eth1", n.Ring),
			"link set eth0 up",
			"link set eth1 up",
		}); err != nil {
			return err
		}
		// haproxy binds the VIP on every node, before the VIP is there.
		if _, err := run(ctx, "ip", "netns", "exec", Prefix+n.Name, "sysctl", "-q", "-w", "net.ipv4.ip_nonlocal_bind=1"); err != nil {
			return err
		}
	}
	return ipBatch(ctx, clientNS, []string{
		"link set lo up",
		"addr add " + ClientAddr + "/24 dev eth0",
		"link set eth0 up",
	})
}

func ipBatch(ctx context.Context, ns string, cmds []string) error {
	f, err := os.CreateTemp("", "shc-ip-")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if _, err := f.WriteString(strings.Join(cmds, "\n") + "\n"); err != nil {
		f.Close()
		return err
	}
	f.Close()
	_, err = run(ctx, "ip", "-n", ns, "-batch", f.Name())
	return err
}

// buildMounts makes each node's persistent mount and UTS namespaces and its
// private filesystem view.
func (c *Cluster) buildMounts(ctx context.Context) error {
	if err := os.MkdirAll(nsDir(), 0o755); err != nil {
		return err
	}
	// The namespace handles are bind mounts; their directory must be a
	// private mount so that they neither propagate nor pin the host's.
	if _, err := run(ctx, "mount", "--bind", nsDir(), nsDir()); err != nil {
		return err
	}
	if _, err := run(ctx, "mount", "--make-private", nsDir()); err != nil {
		return err
	}
	ocf := filepath.Join(BaseDir, "ocf")
	providers, err := installAgents(c.opts.Agents, ocf)
	if err != nil {
		return err
	}
	for _, n := range c.Nodes {
		for _, d := range []string{"lib-pacemaker/cib", "lib-pacemaker/pengine", "lib-pacemaker/blackbox", "lib-pacemaker/cores",
			"lib-corosync", "log-pacemaker", "etc-corosync", "log"} {
			if err := os.MkdirAll(filepath.Join(n.dir, d), 0o755); err != nil {
				return err
			}
		}
		if err := c.startInit(ctx, n); err != nil {
			return err
		}
		var st syscall.Stat_t
		if err := syscall.Stat(filepath.Join(nsDir(), n.Name+".mnt"), &st); err != nil {
			return err
		}
		c.nsIno["mnt:"+n.Name] = st.Ino
		if err := os.WriteFile(filepath.Join(n.dir, "hosts"), []byte(hostsFile()), 0o644); err != nil {
			return err
		}
		var b strings.Builder
		fmt.Fprintf(&b, "hostname %s\n", n.Name)
		// sysfs shows the network namespace of whoever mounts it.
		b.WriteString("mount -t sysfs sysfs /sys\n")
		// /proc is the node's own (mounted by its init); agents looking
		// for their processes see only this node's.
		b.WriteString("mount -t tmpfs -o mode=0755 shc-run /run\n")
		b.WriteString("mkdir -p /run/crm /run/resource-agents /run/lock /run/shc\n")
		b.WriteString("chown hacluster:haclient /run/crm && chmod 0750 /run/crm\n")
		b.WriteString("mount -t tmpfs -o mode=1777 shc-shm /dev/shm\n")
		for _, m := range [][2]string{
			{"lib-pacemaker", "/var/lib/pacemaker"}, {"lib-corosync", "/var/lib/corosync"},
			{"log-pacemaker", "/var/log/pacemaker"}, {"etc-corosync", "/etc/corosync"}, {"hosts", "/etc/hosts"},
		} {
			fmt.Fprintf(&b, "mount --bind %s %s\n", filepath.Join(n.dir, m[0]), m[1])
		}
		fmt.Fprintf(&b, "chown -R hacluster:haclient /var/lib/pacemaker /var/log/pacemaker\n")
		fmt.Fprintf(&b, "chmod 0750 /var/lib/pacemaker/cib /var/lib/pacemaker/pengine /var/lib/pacemaker/blackbox /var/lib/pacemaker/cores\n")
		fmt.Fprintf(&b, "chmod 0770 /var/log/pacemaker\n")
		// The OCF agent directory: the host's providers bound in, plus
		// stackha's agents for a stackha set, all inside this node only.
		for _, p := range providers {
			fmt.Fprintf(&b, "mount --bind /usr/lib/ocf/resource.d/%s %s/%s\n", p, ocf, p)
		}
		fmt.Fprintf(&b, "mount --rbind %s /usr/lib/ocf/resource.d\n", ocf)
		if _, err := n.Script(ctx, b.String()); err != nil {
			return fmt.Errorf("setting up %s's filesystem: %w", n.Name, err)
		}
	}
	return nil
}

func hostsFile() string {
	var b strings.Builder
	b.WriteString("127.0.0.1\tlocalhost\n")
	for _, s := range Nodes {
		fmt.Fprintf(&b, "%s\t%s\n", s.Addr, s.Name)
	}
	fmt.Fprintf(&b, "%s\tclient\n", ClientAddr)
	return b.String()
}

func (c *Cluster) startStack(ctx context.Context) error {
	for _, n := range c.Nodes {
		if err := c.spawn(n, "corosync", filepath.Join(n.dir, "log", "corosync.log"), "corosync", "-f"); err != nil {
			return err
		}
	}
	for _, n := range c.Nodes {
		if err := c.spawn(n, "pacemakerd", filepath.Join(n.dir, "log", "pacemakerd.log"), "pacemakerd"); err != nil {
			return err
		}
	}
	return nil
}

// spawn starts a long-running daemon inside node n, in its own session,
// and records its pid (nsenter execs the program: same pid).
func (c *Cluster) spawn(n *Node, name, logfile string, argv ...string) error {
	out, err := os.OpenFile(logfile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer out.Close()
	full := append(n.nsenter(), argv...)
	cmd := exec.Command(full[0], full[1:]...)
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting %s on %s: %w", name, n.Name, err)
	}
	p := &proc{name: n.Name + "/" + name, cmd: cmd, done: make(chan struct{})}
	go func() { cmd.Wait(); close(p.done) }()
	c.mu.Lock()
	c.procs = append(c.procs, p)
	c.mu.Unlock()
	// nsenter forks to enter the PID namespace: the daemon is its child.
	pid, err := childOf(cmd.Process.Pid, p.done)
	if err != nil {
		return fmt.Errorf("starting %s on %s: %w", name, n.Name, err)
	}
	c.mu.Lock()
	p.pid = pid
	c.mu.Unlock()
	c.log.Printf("  %s: %s started, pid %d", n.Name, name, pid)
	return nil
}

// childOf waits (up to 5 s) for the only child of pid and returns it.
func childOf(pid int, done <-chan struct{}) (int, error) {
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		data, _ := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", pid, pid))
		if f := strings.Fields(string(data)); len(f) == 1 {
			return strconv.Atoi(f[0])
		}
		select {
		case <-done:
			return 0, fmt.Errorf("pid %d exited before its child could be seen", pid)
		case <-time.After(10 * time.Millisecond):
		}
	}
	return 0, fmt.Errorf("no child of pid %d after 5s", pid)
}

// initScript is each node's pid 1: it mounts the node's own /proc, says it
// is ready on fd 3, then only reaps orphans.
const initScript = `mount -t proc proc /proc
echo ready >&3
exec 3>&-
trap 'exit 0' TERM
while :; do sleep 3600 & wait $!; done`

// startInit starts node n's init. The harness clones it itself, as pid 1 of
// a new PID namespace with new UTS and mount namespaces (Go makes the new
// mount namespace private before the exec), and nsenter (which does not
// fork for --net alone) puts it in the node's network namespace: the pid
// the harness records is the init's, with no process in between to be
// mistaken for it. (It used to run `unshare --pid --fork --mount=FILE`,
// and take "the only child of unshare" for the init; but unshare first
// forks a short-lived helper that binds FILE, so the only child could be
// that helper, gone a moment later: issue 16.) The harness waits until
// the init has mounted its /proc and said so on a pipe, checks that the
// pid is in the node's network namespace and in namespaces of its own,
// then binds its mount namespace on a file in nsDir (found again by the
// stale-state cleanup). Killing the init (SIGKILL) kills every process of
// the node at once.
func (c *Cluster) startInit(ctx context.Context, n *Node) error {
	out, err := os.OpenFile(filepath.Join(n.dir, "log", "init.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer out.Close()
	r, w, err := os.Pipe()
	if err != nil {
		return err
	}
	defer r.Close()
	cmd := exec.Command("nsenter", "--net="+n.NetNS(), "--", "/bin/bash", "-ec", initScript)
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Setsid:       true,
		Cloneflags:   syscall.CLONE_NEWPID | syscall.CLONE_NEWUTS,
		Unshareflags: syscall.CLONE_NEWNS,
	}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.ExtraFiles = []*os.File{w}
	err = cmd.Start()
	w.Close()
	if err != nil {
		return fmt.Errorf("starting %s's init: %w", n.Name, err)
	}
	p := &proc{name: n.Name + "/init", cmd: cmd, pid: cmd.Process.Pid, done: make(chan struct{})}
	go func() { cmd.Wait(); close(p.done) }()
	n.init, n.initPid = p, p.pid
	if err := waitReady(ctx, r, 10*time.Second); err != nil {
		return fmt.Errorf("%s's init (pid %d, log %s): %w", n.Name, p.pid, filepath.Join(n.dir, "log", "init.log"), err)
	}
	if err := c.checkInitNS(n); err != nil {
		return err
	}
	handle := filepath.Join(nsDir(), n.Name+".mnt")
	if err := os.WriteFile(handle, nil, 0o644); err != nil {
		return err
	}
	if _, err := run(ctx, "mount", "--bind", fmt.Sprintf("/proc/%d/ns/mnt", p.pid), handle); err != nil {
		return fmt.Errorf("binding %s's mount namespace: %w", n.Name, err)
	}
	return nil
}

// waitReady reads the init's "ready" line; EOF means it died first.
func waitReady(ctx context.Context, r *os.File, limit time.Duration) error {
	got := make(chan error, 1)
	go func() {
		buf := make([]byte, 16)
		k, err := io.ReadAtLeast(r, buf, len("ready\n"))
		switch {
		case err != nil:
			got <- fmt.Errorf("exited before it was ready: %w", err)
		case string(buf[:k]) != "ready\n":
			got <- fmt.Errorf("said %q instead of ready", buf[:k])
		default:
			got <- nil
		}
	}()
	select {
	case err := <-got:
		return err
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(limit):
		return fmt.Errorf("not ready after %s", limit)
	}
}

// checkInitNS verifies that node n's init runs in the node's network
// namespace and in PID, mount and UTS namespaces that are not the host's.
func (c *Cluster) checkInitNS(n *Node) error {
	ino := func(pid, kind string) uint64 {
		var st syscall.Stat_t
		if syscall.Stat("/proc/"+pid+"/ns/"+kind, &st) != nil {
			return 0
		}
		return st.Ino
	}
	pid := strconv.Itoa(n.initPid)
	if got, want := ino(pid, "net"), c.nsIno["net:"+Prefix+n.Name]; got == 0 || got != want {
		return fmt.Errorf("%s's init (pid %d) is not in the node's network namespace", n.Name, n.initPid)
	}
	for _, kind := range []string{"pid", "mnt", "uts"} {
		if got := ino(pid, kind); got == 0 || got == ino("self", kind) {
			return fmt.Errorf("%s's init (pid %d) is not in a %s namespace of its own", n.Name, n.initPid, kind)
		}
	}
	return nil
}

// Pid returns the recorded pid of a daemon the harness started on node n
// ("corosync" or "pacemakerd"), 0 when it is not running.
func (c *Cluster) Pid(n *Node, name string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, p := range c.procs {
		if p.name == n.Name+"/"+name {
			select {
			case <-p.done:
				continue
			default:
				return p.pid
			}
		}
	}
	return 0
}

// WaitExit waits for a recorded daemon to exit.
func (c *Cluster) WaitExit(ctx context.Context, n *Node, name string) error {
	c.mu.Lock()
	var ps []*proc
	for _, p := range c.procs {
		if p.name == n.Name+"/"+name {
			ps = append(ps, p)
		}
	}
	c.mu.Unlock()
	for _, p := range ps {
		select {
		case <-p.done:
		case <-ctx.Done():
			return fmt.Errorf("waiting for %s to exit: %w", p.name, ctx.Err())
		}
	}
	return nil
}

// Close stops the cluster (resources, then pacemakerd, then corosync, by
// recorded pid), kills by pid whatever still runs in the harness's
// namespaces, removes mounts, namespaces and files, and checks that nothing
// is left. It is safe to call twice.
func (c *Cluster) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	c.mu.Unlock()
	t0 := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var errs []error
	if len(c.procs) > 0 {
		c.log.Printf("teardown: stopping all resources, then pacemakerd and corosync by pid")
		c.stopResources(ctx)
		errs = append(errs, c.stopDaemons(ctx, "pacemakerd", 60*time.Second))
		errs = append(errs, c.stopDaemons(ctx, "corosync", 20*time.Second))
	}
	errs = append(errs, c.stopInits(ctx))
	c.saveLogs()
	errs = append(errs, removeAll(ctx, c.log))
	if c.lock != nil {
		errs = append(errs, c.leakCheck())
	}
	if c.lock != nil {
		c.lock.Close()
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	c.log.Printf("teardown done, nothing left behind (%s)", time.Since(t0).Round(time.Millisecond))
	return nil
}

func (c *Cluster) stopResources(ctx context.Context) {
	for _, n := range c.Nodes {
		if c.Pid(n, "pacemakerd") == 0 {
			continue
		}
		sctx, cancel := context.WithTimeout(ctx, 60*time.Second)
		_, err := n.Run(sctx, "crm_attribute", "-t", "crm_config", "-n", "stop-all-resources", "-v", "true")
		if err == nil {
			_, err = n.Run(sctx, "crm_resource", "--wait", "--timeout", "50s")
		}
		cancel()
		if err == nil {
			return
		}
		c.log.Printf("  stopping resources through %s: %v", n.Name, err)
	}
}

// stopDaemons sends SIGTERM to the named daemon on every node (by recorded
// pid) and waits; SIGKILL after the grace period.
func (c *Cluster) stopDaemons(ctx context.Context, name string, grace time.Duration) error {
	c.mu.Lock()
	var ps []*proc
	for _, p := range c.procs {
		if strings.HasSuffix(p.name, "/"+name) {
			ps = append(ps, p)
		}
	}
	c.mu.Unlock()
	for _, p := range ps {
		select {
		case <-p.done:
		default:
			if p.pid != 0 {
				syscall.Kill(p.pid, syscall.SIGTERM)
			}
		}
	}
	var errs []error
	for _, p := range ps {
		select {
		case <-p.done:
		case <-time.After(grace):
			c.log.Printf("  %s did not stop within %s: SIGKILL to pid %d", p.name, grace, p.pid)
			if p.pid != 0 {
				syscall.Kill(p.pid, syscall.SIGKILL)
			}
			select {
			case <-p.done:
			case <-ctx.Done():
				errs = append(errs, fmt.Errorf("%s (pid %d) survived SIGKILL", p.name, p.pid))
			}
		}
	}
	return errors.Join(errs...)
}

// stopInits kills each node's init (pid 1 of the node's PID namespace) by
// its recorded pid: the kernel then kills whatever still ran in the node.
func (c *Cluster) stopInits(ctx context.Context) error {
	var errs []error
	for _, n := range c.Nodes {
		if n.init == nil {
			continue
		}
		n.init.cmd.Process.Kill()
		select {
		case <-n.init.done:
		case <-ctx.Done():
			errs = append(errs, fmt.Errorf("%s's init (pid %d) survived SIGKILL", n.Name, n.init.cmd.Process.Pid))
		}
	}
	// The kernel kills the rest of each PID namespace: let it finish.
	for i := 0; i < 50 && len(nsPids(ctx)) > 0; i++ {
		time.Sleep(20 * time.Millisecond)
	}
	return errors.Join(errs...)
}

func (c *Cluster) saveLogs() {
	if c.opts.LogDir == "" {
		return
	}
	for _, n := range c.Nodes {
		dst := filepath.Join(c.opts.LogDir, n.Name)
		os.MkdirAll(dst, 0o755)
		for _, src := range []string{"log/corosync.log", "log/pacemakerd.log", "log-pacemaker/pacemaker.log"} {
			if data, err := os.ReadFile(filepath.Join(n.dir, src)); err == nil {
				os.WriteFile(filepath.Join(dst, filepath.Base(src)), data, 0o644)
			}
		}
	}
	for _, f := range []string{"cluster.crm", "haproxy.cfg"} {
		if data, err := os.ReadFile(filepath.Join(BaseDir, f)); err == nil {
			os.WriteFile(filepath.Join(c.opts.LogDir, f), data, 0o644)
		}
	}
}

// leakCheck verifies that no process, mount or namespace of this run is left.
func (c *Cluster) leakCheck() error {
	var errs []error
	if left := ourNamespaces(); len(left) > 0 {
		errs = append(errs, fmt.Errorf("leak: namespaces left: %s", strings.Join(left, ", ")))
	}
	if left := ourMounts(); len(left) > 0 {
		errs = append(errs, fmt.Errorf("leak: mounts left: %s", strings.Join(left, ", ")))
	}
	inodes := map[uint64]string{}
	for k, v := range c.nsIno {
		inodes[v] = k
	}
	// Every thread of every process: a thread of this very process that
	// entered a namespace counts too.
	tasks, _ := filepath.Glob("/proc/[0-9]*/task/[0-9]*")
	for _, p := range tasks {
		for _, kind := range []string{"net", "mnt"} {
			var st syscall.Stat_t
			if syscall.Stat(p+"/ns/"+kind, &st) != nil {
				continue
			}
			if ns, ok := inodes[st.Ino]; ok && strings.HasPrefix(ns, kind+":") {
				comm, _ := os.ReadFile(p + "/comm")
				errs = append(errs, fmt.Errorf("leak: thread %s (%s) still in namespace %s", p, strings.TrimSpace(string(comm)), ns))
			}
		}
	}
	if _, err := os.Stat(BaseDir); err == nil {
		errs = append(errs, fmt.Errorf("leak: %s still exists", BaseDir))
	}
	return errors.Join(errs...)
}

// ourNamespaces lists the network namespaces named with the harness's
// prefix.
func ourNamespaces() []string {
	m, _ := filepath.Glob("/run/netns/" + Prefix + "*")
	var names []string
	for _, p := range m {
		names = append(names, filepath.Base(p))
	}
	return names
}

// ourMounts lists the host's mount points under BaseDir, deepest first.
func ourMounts() []string {
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return nil
	}
	var mounts []string
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) < 5 {
			continue
		}
		mp := unescapeMount(f[4])
		if mp == BaseDir || strings.HasPrefix(mp, BaseDir+"/") {
			mounts = append(mounts, mp)
		}
	}
	// Deepest (and latest) first.
	for i, j := 0, len(mounts)-1; i < j; i, j = i+1, j-1 {
		mounts[i], mounts[j] = mounts[j], mounts[i]
	}
	return mounts
}

func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if v, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(v))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// CleanStale removes what a crashed run of this harness left: processes
// inside namespaces named shc-* (by pid), mounts under BaseDir, those
// namespaces and BaseDir. Nothing else is touched. The caller holds the lock.
func CleanStale(ctx context.Context, l *logger) error {
	if len(ourNamespaces()) == 0 && len(ourMounts()) == 0 {
		if _, err := os.Stat(BaseDir); err != nil {
			return nil
		}
	}
	l.Printf("removing state left by a previous run: namespaces %v, mounts %v", ourNamespaces(), ourMounts())
	return removeAll(ctx, l)
}

// removeAll kills what runs in the harness's namespaces (by pid), unmounts,
// deletes the namespaces and BaseDir.
func removeAll(ctx context.Context, l *logger) error {
	var errs []error
	for round := 0; round < 20; round++ {
		pids := nsPids(ctx)
		if len(pids) == 0 {
			break
		}
		if round == 0 {
			l.Printf("  killing processes left in the harness's namespaces: %v", pids)
		}
		for _, pid := range pids {
			syscall.Kill(pid, syscall.SIGKILL)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if pids := nsPids(ctx); len(pids) > 0 {
		errs = append(errs, fmt.Errorf("processes %v survive in the harness's namespaces", pids))
	}
	for _, m := range ourMounts() {
		if _, err := run(ctx, "umount", m); err != nil {
			if _, err2 := run(ctx, "umount", "-l", m); err2 != nil {
				errs = append(errs, err)
			}
		}
	}
	for _, ns := range ourNamespaces() {
		if _, err := run(ctx, "ip", "netns", "del", ns); err != nil {
			errs = append(errs, err)
		}
	}
	if err := os.RemoveAll(BaseDir); err != nil {
		errs = append(errs, fmt.Errorf("removing %s: %w", BaseDir, err))
	}
	return errors.Join(errs...)
}

// nsPids lists the processes inside the harness's network namespaces, and
// those inside its nodes' mount namespaces.
func nsPids(ctx context.Context) []int {
	seen := map[int]bool{}
	var pids []int
	for _, ns := range ourNamespaces() {
		out, err := run(ctx, "ip", "netns", "pids", ns)
		if err != nil {
			continue
		}
		for _, f := range strings.Fields(out) {
			if pid, err := strconv.Atoi(f); err == nil && pid != os.Getpid() && !seen[pid] {
				seen[pid] = true
				pids = append(pids, pid)
			}
		}
	}
	mnt := map[uint64]bool{}
	var self syscall.Stat_t
	syscall.Stat("/proc/self/ns/mnt", &self)
	m, _ := filepath.Glob(filepath.Join(nsDir(), "*.mnt"))
	for _, f := range m {
		// Only a handle still bound to a namespace (on nsfs) names one.
		var st syscall.Stat_t
		if syscall.Stat(f, &st) == nil && st.Dev == self.Dev {
			mnt[st.Ino] = true
		}
	}
	if len(mnt) > 0 {
		procs, _ := filepath.Glob("/proc/[0-9]*")
		for _, p := range procs {
			var st syscall.Stat_t
			if syscall.Stat(p+"/ns/mnt", &st) != nil || !mnt[st.Ino] {
				continue
			}
			if pid, err := strconv.Atoi(filepath.Base(p)); err == nil && pid != os.Getpid() && !seen[pid] {
				seen[pid] = true
				pids = append(pids, pid)
			}
		}
	}
	return pids
}
