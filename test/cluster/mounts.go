package cluster

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

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
