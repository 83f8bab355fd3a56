package sysnode

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"sync"
	"syscall"
	"time"

	"github.com/stackha/stackha/internal/testutil/nodelock"
	"github.com/vishvananda/netns"
)

// BaseDir holds each node's directory (its overlay's upper and work
// directories, that is its disk, its boot scripts and console). It is
// outside /tmp on purpose: a node's systemd empties its own /tmp, and the
// upper directory must never be under a /tmp anybody's systemd cleans. It
// is removed at Close.
const BaseDir = "/var/lib/stackha-test/sysnode"

// Prefix names every network namespace a lab creates: ssn-sw (the switch),
// ssn-client and ssn-<node>.
const Prefix = "ssn-"

const (
	swNS     = Prefix + "sw"
	clientNS = Prefix + "client"
)

// Subnet is the lab's network: TEST-NET-1, on a bridge in the switch's
// namespace. Nothing is routed anywhere else.
var Subnet = netip.MustParsePrefix("192.0.2.0/24")

// DefaultClientAddr is the client's address unless Options say otherwise.
var DefaultClientAddr = netip.MustParseAddr("192.0.2.50")

// Options configure a lab.
type Options struct {
	// Nodes are the lab's nodes (at least one). None is booted by New.
	Nodes []Spec
	// ClientAddr is the client namespace's address (DefaultClientAddr
	// when zero); the lab's HTTP client dials from it.
	ClientAddr netip.Addr
	// Log receives one line a step (nil: quiet).
	Log io.Writer
	// LogDir, when set, receives each running node's journal and console
	// at Close.
	LogDir string
	// LockHeld says the caller already holds the machine's lock for labs
	// of nodes (a cluster harness that builds its clusters of these nodes
	// under one lock shared with sysnode): New then takes none, and
	// removes a crashed lab's state under the caller's.
	LockHeld bool
	// cgroup2Only gives the nodes the layout of a pure cgroup2 machine on
	// a hybrid one (its cgroup2 hierarchy, without controllers): the test
	// of that path.
	cgroup2Only bool
}

// Spec describes a node.
type Spec struct {
	// Name is the node's hostname; its network namespace is ssn-<Name>.
	// Lower-case letters, digits and '-', at most 13 characters (the
	// switch port is s-<Name>).
	Name string
	// Addr is the node's address on eth0, in Subnet.
	Addr netip.Addr
	// NetNS, when set, is the path of a network namespace the caller made,
	// wired and removes (a cluster harness's node, with its own links):
	// the node boots there, and the lab makes no switch, port or client
	// for it. Either every node of a lab has one or none has.
	NetNS string
	// Binds are directories of the machine bound, read-write, at the same
	// path in the node: what the node shares with the caller (a harness's
	// shared files, its fence switch's socket). Each must exist and lie
	// outside BaseDir and the node's own /proc, /sys, /dev, /run and /tmp.
	Binds []string
	// Files are the node's own files (absolute paths on its overlay),
	// written before its first boot: its /etc/default/<service>,
	// /etc/corosync/corosync.conf, unit drop-ins. /etc/hostname,
	// /etc/machine-id, /etc/hosts (every node and the client) and an
	// empty /etc/fstab are written for every node.
	Files map[string]File
}

var nameRE = regexp.MustCompile(`^[a-z][a-z0-9-]{0,12}$`)

// Lab is a switch (a bridge in its own network namespace), a client
// namespace on it and nodes that boot systemd, each on a port of the
// switch.
type Lab struct {
	opts   Options
	log    *logger
	lock   *os.File
	cg     cgroups
	nodes  []*Node
	client netip.Addr

	// external: the caller made the nodes' network namespaces (Spec.NetNS);
	// the lab has no switch and no client.
	external bool

	// built: the lab took (or was given) the lock and may have made
	// namespaces, cgroups and disks: Close checks for leaks.
	built bool

	mu     sync.Mutex
	closed bool
	// nsIno are the inodes of every namespace the lab made ("net:ssn-sw",
	// "pid:n1#1", ...), for the leak check.
	nsIno map[string]uint64
}

// New takes the node lock (waiting for another lab or cluster on this machine to end,
// within ctx), removes what a crashed lab left, then builds the switch,
// the client and every node's network namespace and disk. No node is
// booted yet.
func New(ctx context.Context, opts Options) (_ *Lab, err error) {
	if os.Geteuid() != 0 {
		return nil, errors.New("sysnode needs root")
	}
	cg, err := detectCgroups()
	if err != nil {
		return nil, err
	}
	if opts.cgroup2Only {
		if cg.unified == "" {
			return nil, errors.New("no cgroup2 hierarchy on this machine")
		}
		cg = cg.cgroup2Only()
	}
	if _, err := os.Stat(SystemdPath); err != nil {
		return nil, fmt.Errorf("a node runs systemd: %w", err)
	}
	client := opts.ClientAddr
	if !client.IsValid() {
		client = DefaultClientAddr
	}
	if err := checkSpecs(opts.Nodes, client); err != nil {
		return nil, err
	}
	l := &Lab{opts: opts, log: &logger{w: opts.Log, start: time.Now()}, cg: cg, client: client, nsIno: map[string]uint64{},
		external: opts.Nodes[0].NetNS != ""}
	// One set of nodes at a time on a machine, a lab or the cluster
	// harness's (nodelock); the stale-state cleanup only runs under it.
	if !opts.LockHeld {
		if l.lock, err = nodelock.Take(ctx, nodelock.Path, l.log); err != nil {
			return nil, err
		}
	}
	l.built = true
	defer func() {
		if err != nil {
			if cerr := l.Close(); cerr != nil {
				err = fmt.Errorf("%w (and tearing down: %v)", err, cerr)
			}
		}
	}()
	if err := cleanStale(ctx, l.log, cg); err != nil {
		return nil, fmt.Errorf("removing a previous lab's state: %w", err)
	}
	for _, s := range opts.Nodes {
		l.nodes = append(l.nodes, &Node{Spec: s, lab: l, paths: pathsOf(s.Name)})
	}
	t0 := time.Now()
	if l.external {
		if err := l.recordExternal(); err != nil {
			return nil, err
		}
	} else {
		if err := l.buildNetwork(ctx); err != nil {
			return nil, err
		}
		l.log.Printf("network: switch %s (bridge br0 on %s), client %s, nodes' namespaces (%s)", swNS, Subnet, client, time.Since(t0).Round(time.Millisecond))
	}
	t0 = time.Now()
	hosts := hostsFile(opts.Nodes, client.String())
	for _, n := range l.nodes {
		for _, d := range []string{n.paths.upper, n.paths.work, n.paths.root} {
			if err := os.MkdirAll(d, 0o755); err != nil {
				return nil, err
			}
		}
		if err := prepareUpper(n.paths.upper, n.Spec, hosts); err != nil {
			return nil, err
		}
	}
	l.log.Printf("disks: an overlay upper directory per node under %s (%s)", BaseDir, time.Since(t0).Round(time.Millisecond))
	return l, nil
}

func checkSpecs(specs []Spec, client netip.Addr) error {
	if len(specs) == 0 {
		return errors.New("a lab needs at least one node")
	}
	if !Subnet.Contains(client) {
		return fmt.Errorf("client address %s is not in %s", client, Subnet)
	}
	external := specs[0].NetNS != ""
	names := map[string]bool{"sw": true, "client": true}
	addrs := map[netip.Addr]bool{client: true, Subnet.Addr(): true, netip.MustParseAddr("192.0.2.255"): true}
	for _, s := range specs {
		if !nameRE.MatchString(s.Name) || names[s.Name] {
			return fmt.Errorf("node name %q: want a new name of lower-case letters, digits and '-', at most 13 characters (not sw or client)", s.Name)
		}
		names[s.Name] = true
		if !Subnet.Contains(s.Addr) || addrs[s.Addr] {
			return fmt.Errorf("node %s: address %s is not a free host address of %s", s.Name, s.Addr, Subnet)
		}
		addrs[s.Addr] = true
		for p := range s.Files {
			if err := checkNodePath(p); err != nil {
				return fmt.Errorf("node %s: %w", s.Name, err)
			}
		}
		if (s.NetNS != "") != external {
			return fmt.Errorf("node %s: either every node gives its network namespace (NetNS) or none does", s.Name)
		}
		if s.NetNS != "" && !filepath.IsAbs(s.NetNS) {
			return fmt.Errorf("node %s: network namespace %q: want an absolute path", s.Name, s.NetNS)
		}
		for _, b := range s.Binds {
			if err := checkNodePath(b); err != nil {
				return fmt.Errorf("node %s: bind: %w", s.Name, err)
			}
			if st, err := os.Stat(b); err != nil || !st.IsDir() {
				return fmt.Errorf("node %s: bind %s: not a directory of this machine", s.Name, b)
			}
		}
	}
	return nil
}

// recordExternal records the inodes of the network namespaces the caller
// gave (for the boot's check and the leak check).
func (l *Lab) recordExternal() error {
	for _, n := range l.nodes {
		ino, err := inode(n.NetNS)
		if err != nil {
			return fmt.Errorf("node %s: network namespace %s: %w", n.Name, n.NetNS, err)
		}
		l.nsIno["net:"+n.netNS()] = ino
	}
	return nil
}

// buildNetwork makes the switch, the client and each node's network
// namespace; both ends of every veth are made inside namespaces, so the
// machine's own network is never touched. A node's switch port is up only
// while the node is on.
func (l *Lab) buildNetwork(ctx context.Context) error {
	names := []string{swNS, clientNS}
	for _, n := range l.nodes {
		names = append(names, n.netNS())
	}
	for _, ns := range names {
		if _, err := run(ctx, "ip", "netns", "add", ns); err != nil {
			return err
		}
		ino, err := inode("/run/netns/" + ns)
		if err != nil {
			return fmt.Errorf("namespace %s: %w", ns, err)
		}
		l.mu.Lock()
		l.nsIno["net:"+ns] = ino
		l.mu.Unlock()
	}
	sw := []string{"link set lo up", "link add br0 type bridge", "link set br0 up"}
	for _, n := range l.nodes {
		sw = append(sw,
			fmt.Sprintf("link add %s type veth peer name eth0 netns %s", n.port(), n.netNS()),
			fmt.Sprintf("link set %s master br0", n.port()))
	}
	sw = append(sw, "link add s-client type veth peer name eth0 netns "+clientNS, "link set s-client master br0 up")
	if err := ipBatch(ctx, swNS, sw); err != nil {
		return err
	}
	bits := Subnet.Bits()
	for _, n := range l.nodes {
		if err := ipBatch(ctx, n.netNS(), []string{
			"link set lo up",
			fmt.Sprintf("addr add %s/%d dev eth0", n.Addr, bits),
			"link set eth0 up",
		}); err != nil {
			return err
		}
	}
	return ipBatch(ctx, clientNS, []string{
		"link set lo up",
		fmt.Sprintf("addr add %s/%d dev eth0", l.client, bits),
		"link set eth0 up",
	})
}

// Nodes returns the lab's nodes, in the order of Options.Nodes.
func (l *Lab) Nodes() []*Node { return append([]*Node(nil), l.nodes...) }

// Node returns the node named name, nil if there is none.
func (l *Lab) Node(name string) *Node {
	for _, n := range l.nodes {
		if n.Name == name {
			return n
		}
	}
	return nil
}

// The main goroutine keeps the main thread: a goroutine that entered the
// client's namespace (DialContext) ends with its thread locked, which ends
// the thread, but the main thread cannot end, and would stay in the
// namespace (keeping it alive) for the rest of the process. Locked here,
// before main, no other goroutine ever runs on it.
func init() { runtime.LockOSThread() }

// DialContext dials from the client's network namespace: a goroutine locks
// its OS thread, enters the namespace, makes the connection (the socket
// belongs to the namespace it was made in) and ends without unlocking, so
// the thread ends with it and nothing else ever runs in the namespace.
func (l *Lab) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	type result struct {
		c   net.Conn
		err error
	}
	if l.external {
		return nil, errors.New("this lab has no client: its nodes are in the caller's network namespaces")
	}
	got := make(chan result, 1)
	go func() {
		runtime.LockOSThread()
		h, err := netns.GetFromPath("/run/netns/" + clientNS)
		if err != nil {
			got <- result{nil, err}
			return
		}
		err = netns.Set(h)
		h.Close()
		if err != nil {
			got <- result{nil, fmt.Errorf("entering %s: %w", clientNS, err)}
			return
		}
		var d net.Dialer
		c, err := d.DialContext(ctx, network, addr)
		got <- result{c, err}
	}()
	r := <-got
	return r.c, r.err
}

// HTTPClient is an HTTP client whose connections are made from the client
// namespace (no keep-alive: every request is a new connection).
func (l *Lab) HTTPClient(timeout time.Duration) *http.Client {
	return &http.Client{
		Timeout: timeout,
		Transport: &http.Transport{
			DialContext:       l.DialContext,
			DisableKeepAlives: true,
			Proxy:             nil,
		},
	}
}

func inode(path string) (uint64, error) {
	var st syscall.Stat_t
	if err := syscall.Stat(path, &st); err != nil {
		return 0, err
	}
	return st.Ino, nil
}
