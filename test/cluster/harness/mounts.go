package harness

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/stackha/stackha/test/cluster/fence"
)

// buildMounts makes each node's persistent mount and UTS namespaces and its
// private filesystem view.
func (c *Cluster) buildMounts(ctx context.Context) error {
	if err := os.MkdirAll(nsDir(), 0o755); err != nil {
		return err
	}
	// The namespace handles are bind mounts; their directory must be a
	// private mount so that they neither propagate nor pin the host's.
	if _, err := Run(ctx, "mount", "--bind", nsDir(), nsDir()); err != nil {
		return err
	}
	if _, err := Run(ctx, "mount", "--make-private", nsDir()); err != nil {
		return err
	}
	providers, err := installAgents(c.opts.Agents, ocfDir())
	if err != nil {
		return err
	}
	c.providers = providers
	if c.opts.Fencing {
		if err := c.buildFenceAgent(ctx); err != nil {
			return err
		}
	}
	for _, n := range c.Nodes {
		for _, d := range []string{"lib-pacemaker/cib", "lib-pacemaker/pengine", "lib-pacemaker/blackbox", "lib-pacemaker/cores",
			"lib-corosync", "log-pacemaker", "etc-corosync", "log"} {
			if err := os.MkdirAll(filepath.Join(n.dir, d), 0o755); err != nil {
				return err
			}
		}
		if err := os.WriteFile(filepath.Join(n.dir, "hosts"), []byte(hostsFile(c.specs)), 0o644); err != nil {
			return err
		}
		if err := c.bootNode(ctx, n); err != nil {
			return err
		}
	}
	return nil
}

// buildFenceAgent builds the fence agent into sbinDir.
func (c *Cluster) buildFenceAgent(ctx context.Context) error {
	if err := os.MkdirAll(sbinDir(), 0o755); err != nil {
		return err
	}
	return fence.BuildAgent(ctx, filepath.Join(sbinDir(), fence.AgentName))
}

func ocfDir() string  { return filepath.Join(BaseDir, "ocf") }
func sbinDir() string { return filepath.Join(BaseDir, "sbin") }

// bootNode starts node n's init (new PID, mount and UTS namespaces in the
// node's network namespace) and mounts its private filesystem view: what
// a node's boot does before its cluster stack starts. A power-on repeats
// it on the same directories.
func (c *Cluster) bootNode(ctx context.Context, n *Node) error {
	if n.sys != nil {
		return c.bootSysnode(ctx, n)
	}
	if err := c.startInit(ctx, n); err != nil {
		return err
	}
	var st syscall.Stat_t
	if err := syscall.Stat(filepath.Join(nsDir(), n.Name+".mnt"), &st); err != nil {
		return err
	}
	c.mu.Lock()
	c.nsIno["mnt:"+n.Name] = st.Ino
	c.mu.Unlock()
	if _, err := n.Script(ctx, c.nodeFS(n)); err != nil {
		return fmt.Errorf("setting up %s's filesystem: %w", n.Name, err)
	}
	return nil
}

// nodeFS is the script, run inside node n, that mounts its filesystem
// view: its own /sys, /run, /dev/shm, Pacemaker and Corosync state, hosts
// file, OCF agents and, with fencing, /usr/sbin with fence_shc added.
func (c *Cluster) nodeFS(n *Node) string {
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
	for _, p := range c.providers {
		fmt.Fprintf(&b, "mount --bind /usr/lib/ocf/resource.d/%s %s/%s\n", p, ocfDir(), p)
	}
	fmt.Fprintf(&b, "mount --rbind %s /usr/lib/ocf/resource.d\n", ocfDir())
	if c.opts.Fencing {
		// pacemaker-fenced runs fence agents from /usr/sbin: a read-only
		// overlay adds fence_shc there, inside this node only (a bind
		// mount would need the file to exist on the host).
		fmt.Fprintf(&b, "mount -t overlay shc-sbin -o lowerdir=%s:/usr/sbin /usr/sbin\n", sbinDir())
	}
	return b.String()
}

func hostsFile(nodes []NodeSpec) string {
	var b strings.Builder
	b.WriteString("127.0.0.1\tlocalhost\n")
	for _, s := range nodes {
		fmt.Fprintf(&b, "%s\t%s\n", s.Addr, s.Name)
	}
	fmt.Fprintf(&b, "%s\tclient\n", ClientAddr)
	return b.String()
}
