// Package labcheck finds what a test lab on this machine left behind:
// network namespaces by name prefix, mounts under a directory, threads in
// namespaces known by inode. It is the one home of the leak checks of the
// cluster harness (test/cluster/harness) and the systemd nodes
// (test/sysnode): each lab names its own prefix, directory and namespaces.
//
// This is test support: no binary of stackha imports it.
package labcheck

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// Namespaces lists the network namespaces (in /run/netns) whose names
// start with prefix.
func Namespaces(prefix string) []string {
	m, _ := filepath.Glob("/run/netns/" + prefix + "*")
	var names []string
	for _, p := range m {
		names = append(names, filepath.Base(p))
	}
	return names
}

// Mounts lists this process's mount points at or under dir, deepest (and
// latest) first: the order to unmount them in.
func Mounts(dir string) []string {
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return nil
	}
	return mountsIn(string(data), dir)
}

func mountsIn(mountinfo, dir string) []string {
	var mounts []string
	for _, line := range strings.Split(mountinfo, "\n") {
		f := strings.Fields(line)
		if len(f) < 5 {
			continue
		}
		mp := UnescapeMount(f[4])
		if mp == dir || strings.HasPrefix(mp, dir+"/") {
			mounts = append(mounts, mp)
		}
	}
	for i, j := 0, len(mounts)-1; i < j; i, j = i+1, j-1 {
		mounts[i], mounts[j] = mounts[j], mounts[i]
	}
	return mounts
}

// UnescapeMount undoes mountinfo's octal escapes (\040 for a space).
func UnescapeMount(s string) string {
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

// Inode is the inode of path (a namespace file: /proc/<pid>/ns/net,
// /run/netns/<name>).
func Inode(path string) (uint64, error) {
	var st syscall.Stat_t
	if err := syscall.Stat(path, &st); err != nil {
		return 0, err
	}
	return st.Ino, nil
}

// Threads lists the machine's threads (of every process, this one
// included) in one of the namespaces given by inode, keyed "kind:name"
// (kind as in /proc/<pid>/ns/<kind>: "net:shc-sw", "mnt:node1",
// "pid:n1#2"), as "pid/task/tid (comm) in kind:name".
func Threads(inodes map[string]uint64) []string {
	byKind := map[string]map[uint64]string{}
	for k, ino := range inodes {
		kind, _, _ := strings.Cut(k, ":")
		if byKind[kind] == nil {
			byKind[kind] = map[uint64]string{}
		}
		byKind[kind][ino] = k
	}
	var left []string
	tasks, _ := filepath.Glob("/proc/[0-9]*/task/[0-9]*")
	for _, p := range tasks {
		for kind, inos := range byKind {
			ino, err := Inode(p + "/ns/" + kind)
			if err != nil {
				continue
			}
			if ns, ok := inos[ino]; ok {
				comm, _ := os.ReadFile(p + "/comm")
				left = append(left, fmt.Sprintf("%s (%s) in %s", strings.TrimPrefix(p, "/proc/"), strings.TrimSpace(string(comm)), ns))
			}
		}
	}
	return left
}
