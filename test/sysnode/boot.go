package sysnode

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/stackha/stackha/test/labcheck"
)

// cgroupName names the node's subtree in the machine's cgroup hierarchies:
// <hierarchy>/stackha-sysnode/<node>.
const cgroupName = "stackha-sysnode"

// cgroups is the machine's cgroup layout, as far as a node needs it. Each
// node's systemd gets a subtree of its own (<hierarchy>/stackha-sysnode/
// <node>, entered before it takes a cgroup namespace rooted there), so
// that two nodes' units of the same name never share a cgroup.
//
// On the hybrid layout (this project's machines: controllers on v1
// hierarchies, the named "systemd" v1 hierarchy, cgroup2 without
// controllers on /sys/fs/cgroup/unified) the node gets its subtree of the
// named hierarchy and of cgroup2, and sees the controller hierarchies
// read-only: it can neither move its units out of the machine's memory
// accounting nor collide with another node.
//
// On a pure cgroup2 machine (Debian 12 run by systemd: CI) the node gets a
// subtree at the root of the one hierarchy, as docker's cgroupfs driver
// does, mounted read-write as its /sys/fs/cgroup; its systemd may enable
// the controllers there. That path is tested here only without
// controllers (Options.cgroup2Only on a hybrid machine: TestBootCgroup2).
type cgroups struct {
	named       string   // mount point of the v1 name=systemd hierarchy, "" on pure cgroup2
	unified     string   // mount point of cgroup2, "" when not mounted
	controllers []string // v1 controller hierarchies ("cpu", "cpu,cpuacct")
}

// ErrNoCgroups says the machine has neither the v1 name=systemd hierarchy
// nor cgroup2 mounted: no systemd can run there.
var ErrNoCgroups = errors.New("this machine has neither a cgroup v1 name=systemd hierarchy nor cgroup2 mounted")

// cgroup2Only is the layout a pure cgroup2 machine has, made of this
// machine's cgroup2 hierarchy.
func (cg cgroups) cgroup2Only() cgroups { return cgroups{unified: cg.unified} }

// detectCgroups reads the layout from /proc/self/mountinfo.
func detectCgroups() (cgroups, error) {
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return cgroups{}, err
	}
	return parseCgroups(string(data))
}

func parseCgroups(mountinfo string) (cgroups, error) {
	var cg cgroups
	seen := map[string]bool{}
	for _, line := range strings.Split(mountinfo, "\n") {
		pre, post, ok := strings.Cut(line, " - ")
		f, g := strings.Fields(pre), strings.Fields(post)
		if !ok || len(f) < 5 || len(g) < 3 {
			continue
		}
		mp := labcheck.UnescapeMount(f[4])
		switch g[0] {
		case "cgroup2":
			if cg.unified == "" {
				cg.unified = mp
			}
		case "cgroup":
			var ctrls []string
			named := false
			for _, o := range strings.Split(g[2], ",") {
				switch {
				case o == "name=systemd":
					named = true
				case knownController[o]:
					ctrls = append(ctrls, o)
				}
			}
			if named {
				if cg.named == "" {
					cg.named = mp
				}
				continue
			}
			if c := strings.Join(ctrls, ","); c != "" && !seen[c] {
				seen[c] = true
				cg.controllers = append(cg.controllers, c)
			}
		}
	}
	if cg.named == "" && cg.unified == "" {
		return cg, ErrNoCgroups
	}
	if cg.named == "" {
		cg.controllers = nil // none on v1 without the named hierarchy: a pure cgroup2 machine
	}
	return cg, nil
}

var knownController = map[string]bool{
	"cpu": true, "cpuacct": true, "cpuset": true, "memory": true, "devices": true, "freezer": true,
	"net_cls": true, "net_prio": true, "blkio": true, "perf_event": true, "hugetlb": true, "pids": true,
	"rdma": true, "misc": true,
}

// nodeDirs are node name's cgroup directories on the machine.
func (cg cgroups) nodeDirs(name string) []string {
	var dirs []string
	for _, r := range cg.roots() {
		dirs = append(dirs, filepath.Join(r, name))
	}
	return dirs
}

// roots are the lab's cgroup directories on the machine.
func (cg cgroups) roots() []string {
	var dirs []string
	for _, h := range []string{cg.named, cg.unified} {
		if h != "" {
			dirs = append(dirs, filepath.Join(h, cgroupName))
		}
	}
	return dirs
}

// paths of one node on the machine.
type nodePaths struct {
	name    string
	upper   string // the overlay's upper directory: the node's disk
	work    string // overlayfs's work directory
	root    string // where the overlay is mounted, inside the node's mount namespace only
	console string // bound on the node's /dev/console
}

func pathsOf(name string) nodePaths {
	d := filepath.Join(BaseDir, name)
	return nodePaths{
		name:    name,
		upper:   filepath.Join(d, "upper"),
		work:    filepath.Join(d, "work"),
		root:    filepath.Join(d, "root"),
		console: filepath.Join(d, "console.log"),
	}
}

// SystemdPath is the init a node runs.
const SystemdPath = "/lib/systemd/systemd"

// initEnv is the environment of a node's pid 1: container= tells systemd
// it runs in a container (systemd-detect-virt says container-other), and
// nothing of the test process leaks into the node.
var initEnv = []string{
	"container=stackha-sysnode",
	"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
}

// stage1 is the first script of a node's pid 1, run in the node's new PID,
// mount, UTS and IPC namespaces and its network namespace: it moves itself
// into the node's cgroups (by the machine's paths: "0" is the writer),
// then takes a cgroup namespace rooted there and runs stage2.
func stage1(cg cgroups, name, stage2Path string) string {
	var b strings.Builder
	b.WriteString("set -eu\n")
	for _, d := range cg.nodeDirs(name) {
		fmt.Fprintf(&b, "echo 0 > %s\n", shq(filepath.Join(d, "cgroup.procs")))
	}
	fmt.Fprintf(&b, "exec unshare --cgroup -- /bin/sh -eu %s\n", shq(stage2Path))
	return b.String()
}

// stage2 mounts the node's root and execs systemd in it. Nothing of the
// machine's file systems is writable from the node but through its overlay
// (whose upper and work directories are outside /tmp) and /proc/sys/net
// (its own network namespace's): systemd-tmpfiles, which empties /tmp,
// then empties the node's. The script checks that before it execs
// systemd, and exits (the node's pid 1 ends: no systemd) if anything is
// not as it should be.
//
// binds are the machine's directories bound at the same path in the node
// (Spec.Binds), before the lab's own directory is hidden.
func stage2(cg cgroups, p nodePaths, binds []string) string {
	R := shq(p.root)
	var b strings.Builder
	w := func(format string, a ...any) { fmt.Fprintf(&b, format+"\n", a...) }
	w("set -eu")
	w("R=%s", R)
	w("mount -t overlay sysnode-root -o lowerdir=/,upperdir=%s,workdir=%s \"$R\"", shq(p.upper), shq(p.work))
	// The node's own processes; its kernel tunables read-only but for its
	// own network namespace's.
	w(`mount -t proc -o nosuid,nodev,noexec proc "$R/proc"`)
	w(`mount --bind "$R/proc/sys" "$R/proc/sys"`)
	w(`mount --bind "$R/proc/sys/net" "$R/proc/sys/net"`)
	w(`mount -o remount,bind,ro "$R/proc/sys"`)
	w(`if [ -e "$R/proc/sysrq-trigger" ]; then mount --bind "$R/proc/sysrq-trigger" "$R/proc/sysrq-trigger"; mount -o remount,bind,ro "$R/proc/sysrq-trigger"; fi`)
	// A fresh sysfs shows the node's own network devices; read-only.
	w(`mount -t sysfs -o ro,nosuid,nodev,noexec sysfs "$R/sys"`)
	if cg.named == "" {
		// Pure cgroup2: the node's subtree is its whole hierarchy.
		w(`mount -t cgroup2 -o nosuid,nodev,noexec cgroup2 "$R/sys/fs/cgroup"`)
	} else {
		w(`mount -t tmpfs -o mode=755,nosuid,nodev,noexec cgroup "$R/sys/fs/cgroup"`)
		for _, c := range cg.controllers {
			w(`mkdir "$R/sys/fs/cgroup/%s"`, c)
			w(`mount -t cgroup -o ro,nosuid,nodev,noexec,%s cgroup "$R/sys/fs/cgroup/%s"`, c, c)
		}
		w(`mkdir "$R/sys/fs/cgroup/systemd"`)
		w(`mount -t cgroup -o nosuid,nodev,noexec,none,name=systemd cgroup "$R/sys/fs/cgroup/systemd"`)
		if cg.unified != "" {
			w(`mkdir "$R/sys/fs/cgroup/unified"`)
			w(`mount -t cgroup2 -o nosuid,nodev,noexec cgroup2 "$R/sys/fs/cgroup/unified"`)
		}
		w(`mount -o remount,ro "$R/sys/fs/cgroup"`)
	}
	// /dev: a few of the machine's device nodes, its own ptys, shared
	// memory (libqb) and message queues (its IPC namespace's); the
	// console is a file in the node's directory.
	w(`mount -t tmpfs -o mode=755,nosuid sysnode-dev "$R/dev"`)
	w(`for d in null zero full random urandom tty; do touch "$R/dev/$d"; mount --bind "/dev/$d" "$R/dev/$d"; done`)
	w(`touch "$R/dev/console"; mount --bind %s "$R/dev/console"`, shq(p.console))
	w(`mkdir "$R/dev/pts" "$R/dev/shm" "$R/dev/mqueue"`)
	w(`mount -t devpts -o newinstance,ptmxmode=0666,mode=620,gid=5,nosuid,noexec devpts "$R/dev/pts"`)
	w(`ln -s pts/ptmx "$R/dev/ptmx"`)
	w(`mount -t tmpfs -o mode=1777,nosuid,nodev sysnode-shm "$R/dev/shm"`)
	w(`mount -t mqueue -o nosuid,nodev,noexec mqueue "$R/dev/mqueue"`)
	w(`ln -s /proc/self/fd "$R/dev/fd"; ln -s /proc/self/fd/0 "$R/dev/stdin"; ln -s /proc/self/fd/1 "$R/dev/stdout"; ln -s /proc/self/fd/2 "$R/dev/stderr"`)
	w(`mount -t tmpfs -o mode=755,nosuid,nodev sysnode-run "$R/run"`)
	w(`mount -t tmpfs -o mode=1777,nosuid,nodev sysnode-tmp "$R/tmp"`)
	// What the caller shares with the node (not recursive: nothing mounted
	// below a shared directory comes along).
	for _, d := range binds {
		w(`mkdir -p "$R"%s`, shq(d))
		w(`mount --bind %s "$R"%s`, shq(d), shq(d))
	}
	// The lab's own directories (every node's disk) are not the node's.
	w(`mount -t tmpfs -o ro,mode=755 sysnode-hide "$R%s"`, BaseDir)
	w(`cd "$R"`)
	w(`mkdir .sysnode-oldroot`)
	w(`pivot_root . .sysnode-oldroot`)
	w(`cd /`)
	w(`umount -l /.sysnode-oldroot`)
	w(`rmdir /.sysnode-oldroot`)
	w(`fstype() { stat -f -c %%T "$1"; }`)
	w(`[ "$(fstype /)" = overlayfs ] || { echo "sysnode: / is $(fstype /), not the overlay: no systemd" >&2; exit 1; }`)
	w(`[ "$(fstype /tmp)" = tmpfs ] || { echo "sysnode: /tmp is $(fstype /tmp), not the node's tmpfs: no systemd" >&2; exit 1; }`)
	w(`[ "$(fstype /run)" = tmpfs ] || { echo "sysnode: /run is $(fstype /run), not the node's tmpfs: no systemd" >&2; exit 1; }`)
	w(`[ ! -e /.sysnode-oldroot ] || { echo "sysnode: the machine's root is still reachable: no systemd" >&2; exit 1; }`)
	w(`hostname %s`, shq(p.name))
	w(`exec %s --system --unit=%s`, SystemdPath, NodeTarget)
	return b.String()
}

// shq quotes s for the shell.
func shq(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./:=,@") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
