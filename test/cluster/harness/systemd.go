package harness

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"os/user"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/stackha/stackha/test/sysnode"
)

// NodeKind is what a cluster node is.
type NodeKind string

const (
	// LabNodes are the harness's own nodes: namespaces whose init is a
	// shell, corosync and pacemakerd spawned by the harness (spawn.go).
	LabNodes NodeKind = ""
	// SystemdNodes are nodes that boot systemd (package sysnode), on the
	// harness's networks: corosync, Pacemaker and keystone run from
	// Debian's units inside each node, with the files `stackha render`
	// writes in the node's own /etc.
	SystemdNodes NodeKind = "systemd"
)

// NodesKindFromEnv is $SHC_NODES_KIND: "systemd", or "" / "lab".
func NodesKindFromEnv() (NodeKind, error) {
	switch k := os.Getenv("SHC_NODES_KIND"); k {
	case "", "lab":
		return LabNodes, nil
	case "systemd":
		return SystemdNodes, nil
	default:
		return "", fmt.Errorf("SHC_NODES_KIND=%q: want lab or systemd", k)
	}
}

// bootLimit bounds one boot of a systemd node (to `running`).
const bootLimit = 60 * time.Second

// uwsgiWorkers is how many uwsgi processes each node's uwsgi services
// (keystone, placement-api) run: Debian's inis say 8 (for keystone about
// 950 MiB and a minute to the first answer on this project's 2-core
// machines, per node); the harness's nodes run 2, through an ini of their
// own read after Debian's (workersIni).
const uwsgiWorkers = 2

// workersIniName is the node's own uwsgi ini, beside Debian's.
const workersIniName = "shc-workers.ini"

func (c *Cluster) systemd() bool { return c.opts.Kind == SystemdNodes }

// prepareSystemd lays out, in BaseDir (which every systemd node shares,
// Spec.Binds), the stackha binary and, with fencing, the fence agent that
// each node installs at its first boot (installInNode).
func (c *Cluster) prepareSystemd(ctx context.Context) error {
	if !c.rendered() {
		return errors.New("systemd nodes run what `stackha render` writes: they need the stackha agent set (vip, haproxy, keystone, render) with keystone on")
	}
	if _, err := installAgents(c.opts.Agents, ocfDir()); err != nil {
		return err
	}
	if c.opts.Fencing {
		return c.buildFenceAgent(ctx)
	}
	return nil
}

// nodeFiles are node n's own files, from `stackha render`'s output in
// out: corosync.conf (every node's) with the authkey it names, and the
// node's nodes/<name>/etc/default/* and the rest of its nodes/<name>/etc
// (the drain's drop-ins); keystone's configuration (its
// database and keys are the shared ones in BaseDir) and its workers'
// ini.
func (c *Cluster) nodeFiles(n *Node, out string, authkey []byte) (map[string]sysnode.File, error) {
	files := map[string]sysnode.File{
		"/etc/corosync/authkey": {Data: authkey, Mode: 0o400},
		"/etc/keystone/keystone.conf": {Mode: 0o640, Owner: "root:keystone", Data: []byte(
			"# cluster harness: every node's keystone on the one shared database and key repositories\n" +
				keystoneConf(filepath.Join(BaseDir, "keystone"), "log_dir = /var/log/keystone"))},
	}
	conf, err := os.ReadFile(filepath.Join(out, "corosync.conf"))
	if err != nil {
		return nil, err
	}
	files["/etc/corosync/corosync.conf"] = sysnode.File{Data: conf}
	dir := filepath.Join(out, "nodes", n.Name, "etc", "default")
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("render wrote no per-node files for %s: %w", n.Name, err)
	}
	for _, e := range ents {
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			return nil, err
		}
		data, ini, err := withWorkersIni(data)
		if err != nil {
			return nil, fmt.Errorf("render's /etc/default/%s: %w", e.Name(), err)
		}
		files["/etc/default/"+e.Name()] = sysnode.File{Data: data}
		files[ini] = sysnode.File{Data: []byte(fmt.Sprintf("# cluster harness: %d uwsgi processes, not Debian's 8 (read after Debian's ini)\n[uwsgi]\nprocesses = %d\n",
			uwsgiWorkers, uwsgiWorkers))}
	}
	// the rest of render's per-node files as they are (the drain's
	// .conf.d drop-ins)
	etc := filepath.Join(out, "nodes", n.Name, "etc")
	err = filepath.WalkDir(etc, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.HasPrefix(p, dir+"/") {
			return err
		}
		data, err := os.ReadFile(p)
		files["/etc"+strings.TrimPrefix(p, etc)] = sysnode.File{Data: data}
		return err
	})
	if err != nil {
		return nil, err
	}
	if c.opts.Stateful {
		files["/etc/keystone/keystone.conf"] = sysnode.File{Mode: 0o640, Owner: "root:keystone", Data: []byte(statefulKeystoneConf)}
		if err := c.statefulFiles(n, out, files); err != nil {
			return nil, err
		}
	}
	if c.opts.Keepalived {
		if err := c.keepalivedFiles(n, files); err != nil {
			return nil, err
		}
	}
	for _, svc := range c.opts.Services {
		f, err := serviceFiles(svc, c.ServiceAddr(n), c.serviceKeystoneURL())
		if err != nil {
			return nil, err
		}
		for p, data := range f {
			files[p] = data
		}
	}
	return files, nil
}

var (
	daemonArgsRE = regexp.MustCompile(`(?m)^DAEMON_ARGS="([^"$]*)"$`)
	iniArgRE     = regexp.MustCompile(`--ini (/etc/[a-z]+)/[^ /]+\.ini`)
)

// withWorkersIni adds the harness's workers ini to render's DAEMON_ARGS
// for a uwsgi service (one literal line, as the agent reads it: --ini
// after Debian's, whose processes = 8 would override a --processes before
// it), and returns where that ini goes: beside Debian's.
func withWorkersIni(defaults []byte) ([]byte, string, error) {
	m := daemonArgsRE.FindSubmatchIndex(defaults)
	if m == nil {
		return nil, "", fmt.Errorf("no literal DAEMON_ARGS line:\n%s", defaults)
	}
	ini := iniArgRE.FindSubmatch(defaults[m[2]:m[3]])
	if ini == nil {
		return nil, "", fmt.Errorf("DAEMON_ARGS names no Debian ini in /etc:\n%s", defaults)
	}
	path := string(ini[1]) + "/" + workersIniName
	var b []byte
	b = append(b, defaults[:m[3]]...)
	b = append(b, " --ini "+path...)
	b = append(b, defaults[m[3]:]...)
	return append(b, fmt.Sprintf("# Added by the cluster harness: --ini %s (%d uwsgi processes).\n", path, uwsgiWorkers)...), path, nil
}

// bootSystemd makes a systemd node in each node's network namespace, with
// its own files (nodeFiles) and BaseDir shared, boots them and installs
// the agents in each (on its disk: they survive a power cycle).
func (c *Cluster) bootSystemd(ctx context.Context) error {
	authkey := make([]byte, 256)
	if _, err := rand.Read(authkey); err != nil {
		return err
	}
	out := filepath.Join(BaseDir, "render")
	var specs []sysnode.Spec
	for _, n := range c.Nodes {
		files, err := c.nodeFiles(n, out, authkey)
		if err != nil {
			return err
		}
		addr, err := netip.ParseAddr(n.Addr)
		if err != nil {
			return err
		}
		specs = append(specs, sysnode.Spec{Name: n.Name, Addr: addr, NetNS: n.NetNS(), Binds: []string{BaseDir}, Files: files})
	}
	// The harness and sysnode share one lock (nodelock), which the
	// harness holds: a second take of it would wait for this very run.
	lab, err := sysnode.New(ctx, sysnode.Options{Nodes: specs, Log: c.log.w, LogDir: c.opts.LogDir, LockHeld: true})
	if err != nil {
		return err
	}
	c.lab = lab
	for _, n := range c.Nodes {
		n.sys = lab.Node(n.Name)
		if err := c.bootNode(ctx, n); err != nil {
			return err
		}
		if _, err := n.Script(ctx, c.installScript()); err != nil {
			return fmt.Errorf("installing the agents on %s: %w", n.Name, err)
		}
		if c.opts.Stateful {
			if err := c.setupStatefulNode(ctx, n); err != nil {
				return err
			}
		}
	}
	if c.opts.Stateful {
		return c.setupKeys(ctx)
	}
	return c.setupServices(ctx)
}

// installScript installs stackha's agents (links to the shared binary)
// and, with fencing, the fence agent in a node.
func (c *Cluster) installScript() string {
	var b strings.Builder
	b.WriteString("mkdir -p /usr/lib/ocf/resource.d/stackha\n")
	for _, a := range keys(c.opts.Agents.Agents) {
		fmt.Fprintf(&b, "ln -sfn %s /usr/lib/ocf/resource.d/stackha/%s\n", filepath.Join(BaseDir, "bin", "stackha"), a)
	}
	if c.opts.Fencing {
		fmt.Fprintf(&b, "install -m 0755 %s /usr/sbin/\n", filepath.Join(sbinDir(), "fence_shc"))
	}
	return b.String()
}

// bootSysnode boots systemd node n (to `running`) and records its pid 1.
func (c *Cluster) bootSysnode(ctx context.Context, n *Node) error {
	rep, err := n.sys.Boot(ctx, bootLimit)
	if err != nil {
		return err
	}
	if rep.System != "running" {
		c.log.Printf("  %s: %s, failed units: %s", n.Name, rep.System, strings.Join(rep.Failed, ", "))
	}
	c.mu.Lock()
	n.initPid = n.sys.Pid()
	c.mu.Unlock()
	return nil
}

// startUnits starts corosync, then Pacemaker, from their units in node n.
func (c *Cluster) startUnits(ctx context.Context, n *Node) error {
	return n.sys.Start(ctx, "corosync.service", "pacemaker.service")
}

// stopUnits stops Pacemaker, then corosync, in every node that is on, as
// a shutdown of the node would.
func (c *Cluster) stopUnits(ctx context.Context) error {
	var errs []error
	for _, n := range c.Nodes {
		if n.sys == nil || n.sys.Pid() == 0 {
			continue
		}
		sctx, cancel := context.WithTimeout(ctx, 90*time.Second)
		errs = append(errs, n.sys.Stop(sctx, "pacemaker.service"), n.sys.Stop(sctx, "corosync.service"))
		cancel()
	}
	return errors.Join(errs...)
}

// unitPid is the pid (as the machine sees it) of the process named comm
// whose parent is node n's systemd: a unit's main process. 0 when none.
func (n *Node) unitPid(comm string) int {
	n.c.mu.Lock()
	init := n.initPid
	n.c.mu.Unlock()
	if init == 0 {
		return 0
	}
	ps := n.Procs(func(p Proc) bool { return p.Comm == comm && p.PPid == init })
	if len(ps) != 1 {
		return 0
	}
	return ps[0].Pid
}

// waitUnitExit waits until node n runs no main process named comm.
func (n *Node) waitUnitExit(ctx context.Context, comm string) error {
	for n.unitPid(comm) != 0 {
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for %s to exit on %s: %w", comm, n.Name, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
	return nil
}

// checkUnits verifies, once every resource has started, that each systemd
// node runs the cluster and the services from Debian's units: corosync,
// pacemaker, keystone.service and each of Options.Services active (within
// unitsLimit: a monitor may be restarting one), keystone's uwsgi run by
// the keystone user, and logs what each node costs in memory. A unit that
// stays down is reported with its status and last journal lines.
func (c *Cluster) checkUnits(ctx context.Context) error {
	units := []string{"corosync.service", "pacemaker.service", "keystone.service"}
	for _, s := range c.opts.Services {
		units = append(units, UnitOf(s))
	}
	for _, n := range c.Nodes {
		if err := n.waitUnitsActive(ctx, units, unitsLimit); err != nil {
			return err
		}
		k, err := n.Keystone()
		if err != nil {
			return err
		}
		if !strings.HasPrefix(k.Comm, "uwsgi") {
			return fmt.Errorf("%s: keystone runs as %q, want Debian's uwsgi", n.Name, k.Comm)
		}
		if u, err := procUser(k.Pid); err != nil || u != "keystone" {
			return fmt.Errorf("%s: keystone's uwsgi (pid %d) runs as %q (%v), want keystone (User= of the unit)", n.Name, k.Pid, u, err)
		}
		if m, err := n.sys.Memory(); err == nil {
			c.log.Printf("  %s: %s active (keystone: uwsgi as keystone); %s", n.Name, strings.Join(units, ", "), m)
		}
	}
	return nil
}

// unitsLimit bounds checkUnits' wait for a node's units.
const unitsLimit = 60 * time.Second

// waitUnitsActive waits until every unit is active on node n; after limit,
// the error has the status and journal of those that are not.
func (n *Node) waitUnitsActive(ctx context.Context, units []string, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for {
		out, err := n.sys.Systemctl(ctx, append([]string{"show", "--property=ActiveState", "--value"}, units...)...)
		if err != nil {
			return err
		}
		st := strings.Fields(out)
		var down []string
		for i, u := range units {
			if i >= len(st) || st[i] != "active" {
				down = append(down, u)
			}
		}
		if len(down) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			var b strings.Builder
			for _, u := range down {
				status, _ := n.sys.Systemctl(ctx, "status", "--lines=25", u)
				fmt.Fprintf(&b, "\n%s", status)
			}
			return fmt.Errorf("%s: units %s are %v after %s, want active:%s", n.Name, strings.Join(units, ", "), st, limit, b.String())
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// procUser is the name of the user a process runs as.
func procUser(pid int) (string, error) {
	var st syscall.Stat_t
	if err := syscall.Stat("/proc/"+strconv.Itoa(pid), &st); err != nil {
		return "", err
	}
	u, err := user.LookupId(strconv.Itoa(int(st.Uid)))
	if err != nil {
		return "", err
	}
	return u.Username, nil
}
