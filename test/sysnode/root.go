package sysnode

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// File is a file of a node's own, written into its overlay's upper
// directory before its first boot (Spec.Files) or through the node once it
// runs (Node.WriteFile).
type File struct {
	Data []byte
	// Mode is the file's permission bits (0644 when zero).
	Mode fs.FileMode
	// Owner is "user:group" (or "user", its group the user's), looked up
	// in the machine's /etc/passwd and /etc/group, which the node shares
	// through its overlay; root when empty.
	Owner string
}

// NodeTarget is the unit a node boots to: the basic system (sysinit with
// journald and systemd-tmpfiles, sockets, timers), nothing else. Tests
// start what they need themselves.
const NodeTarget = "sysnode.target"

const nodeTargetUnit = `[Unit]
Description=stackha test node (the basic system; tests start the rest)
Wants=basic.target
After=basic.target
`

// Masked are the units a node must not run, masked in the node's own
// /etc/systemd/system (an opaque directory in its upper layer, so none of
// the machine's enabled units or wants links show either). They would
// touch the machine's devices, kernel or clock, or they need a real
// console or logind; see CLUSTER-RECIPE.md, "A node that boots systemd".
var Masked = []string{
	// udev works on the machine's devices.
	"systemd-udevd.service", "systemd-udevd-control.socket", "systemd-udevd-kernel.socket",
	"systemd-udev-trigger.service", "systemd-udev-settle.service", "systemd-hwdb-update.service",
	// The kernel's modules, sysctls and binfmt handlers are the machine's.
	"systemd-modules-load.service", "kmod-static-nodes.service", "systemd-sysctl.service",
	"systemd-binfmt.service", "proc-sys-fs-binfmt_misc.automount", "proc-sys-fs-binfmt_misc.mount",
	// Kernel file systems: the node's /sys is read-only.
	"dev-hugepages.mount", "sys-kernel-config.mount", "sys-kernel-debug.mount",
	"sys-kernel-tracing.mount", "sys-fs-fuse-connections.mount",
	// The root is the node's overlay, /dev its own tmpfs.
	"systemd-remount-fs.service", "systemd-tmpfiles-setup-dev.service",
	// First-boot and identity: users come from the machine, the
	// machine-id is written before boot.
	"systemd-sysusers.service", "systemd-firstboot.service", "systemd-machine-id-commit.service",
	"systemd-random-seed.service",
	// The clock is the machine's.
	"systemd-timesyncd.service",
	// The journal stays in the node's /run (volatile): nothing to flush.
	"systemd-journal-flush.service", "systemd-pstore.service",
	// No logins, no consoles, no periodic jobs.
	"systemd-logind.service", "getty.target", "getty@.service", "serial-getty@.service",
	"console-getty.service", "container-getty@.service", "cron.service",
}

// prepareUpper writes what node n has of its own before its first boot
// into its overlay's upper directory.
func prepareUpper(upper string, n Spec, hosts string) error {
	sys := "/etc/systemd/system"
	if err := ensureDir(upper, sys); err != nil {
		return err
	}
	// Opaque: the node sees none of the machine's /etc/systemd/system.
	if err := unix.Setxattr(filepath.Join(upper, sys), "trusted.overlay.opaque", []byte("y"), 0); err != nil {
		return fmt.Errorf("making %s opaque in %s: %w", sys, upper, err)
	}
	for _, u := range Masked {
		if err := os.Symlink("/dev/null", filepath.Join(upper, sys, u)); err != nil {
			return err
		}
	}
	id := make([]byte, 16)
	if _, err := rand.Read(id); err != nil {
		return err
	}
	files := map[string]File{
		sys + "/" + NodeTarget: {Data: []byte(nodeTargetUnit)},
		"/etc/hostname":        {Data: []byte(n.Name + "\n")},
		"/etc/machine-id":      {Data: []byte(hex.EncodeToString(id) + "\n"), Mode: 0o444},
		"/etc/hosts":           {Data: []byte(hosts)},
		// A node mounts none of the machine's file systems.
		"/etc/fstab": {Data: []byte("# stackha sysnode: the node's file systems are mounted before its systemd starts\n")},
	}
	for p, f := range n.Files {
		files[p] = f
	}
	for p, f := range files {
		if err := writeUpper(upper, p, f); err != nil {
			return fmt.Errorf("node %s: %w", n.Name, err)
		}
	}
	return nil
}

// checkNodePath refuses a path a node could not see as a file of its own:
// relative paths, and paths under the file systems mounted over the
// overlay.
func checkNodePath(p string) error {
	if !filepath.IsAbs(p) || filepath.Clean(p) != p || p == "/" {
		return fmt.Errorf("node file %q: want a clean absolute path", p)
	}
	for _, m := range []string{"/proc", "/sys", "/dev", "/run", "/tmp", BaseDir} {
		if p == m || strings.HasPrefix(p, m+"/") {
			return fmt.Errorf("node file %q: %s is not on the node's overlay", p, m)
		}
	}
	return nil
}

// writeUpper writes file f at path p of the node whose upper directory is
// upper.
func writeUpper(upper, p string, f File) error {
	if err := checkNodePath(p); err != nil {
		return err
	}
	if err := ensureDir(upper, filepath.Dir(p)); err != nil {
		return err
	}
	uid, gid, err := lookupOwner(f.Owner)
	if err != nil {
		return fmt.Errorf("node file %s: %w", p, err)
	}
	mode := f.Mode
	if mode == 0 {
		mode = 0o644
	}
	dst := filepath.Join(upper, p)
	if err := os.WriteFile(dst, f.Data, mode); err != nil {
		return err
	}
	if err := os.Chmod(dst, mode); err != nil {
		return err
	}
	return os.Lchown(dst, uid, gid)
}

// ensureDir makes directory d (and its parents) in the upper directory
// with the owner and mode the machine's own d has, so that the merged
// directory the node sees keeps them (overlayfs shows the upper
// directory's attributes): /etc/keystone stays keystone:keystone 0750.
// A directory the machine lacks is made root's, 0755.
func ensureDir(upper, d string) error {
	if d == "/" {
		return nil
	}
	if err := ensureDir(upper, filepath.Dir(d)); err != nil {
		return err
	}
	dst := filepath.Join(upper, d)
	if st, err := os.Lstat(dst); err == nil {
		if !st.IsDir() {
			return fmt.Errorf("%s is not a directory", dst)
		}
		return nil
	}
	st, err := os.Lstat(d)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return os.Mkdir(dst, 0o755)
	case err != nil:
		return err
	case st.Mode()&fs.ModeSymlink != 0:
		return fmt.Errorf("%s is a symbolic link on this machine: give the path it points to", d)
	case !st.IsDir():
		return fmt.Errorf("%s is not a directory on this machine", d)
	}
	if err := os.Mkdir(dst, 0o700); err != nil {
		return err
	}
	sys := st.Sys().(*syscall.Stat_t)
	if err := os.Lchown(dst, int(sys.Uid), int(sys.Gid)); err != nil {
		return err
	}
	// After chown, which clears set-id bits.
	return os.Chmod(dst, st.Mode()&(fs.ModePerm|fs.ModeSetuid|fs.ModeSetgid|fs.ModeSticky))
}

// lookupOwner resolves "user:group" or "user" ("" is root).
func lookupOwner(owner string) (uid, gid int, err error) {
	if owner == "" {
		return 0, 0, nil
	}
	name, group, hasGroup := strings.Cut(owner, ":")
	u, err := user.Lookup(name)
	if err != nil {
		return 0, 0, err
	}
	uid, _ = strconv.Atoi(u.Uid)
	gid, _ = strconv.Atoi(u.Gid)
	if hasGroup {
		g, err := user.LookupGroup(group)
		if err != nil {
			return 0, 0, err
		}
		gid, _ = strconv.Atoi(g.Gid)
	}
	return uid, gid, nil
}

// hostsFile lists localhost, every node and the client.
func hostsFile(nodes []Spec, client string) string {
	var b strings.Builder
	b.WriteString("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n")
	for _, s := range nodes {
		fmt.Fprintf(&b, "%s\t%s\n", s.Addr, s.Name)
	}
	fmt.Fprintf(&b, "%s\tclient\n", client)
	return b.String()
}
