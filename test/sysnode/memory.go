package sysnode

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Memory is what a running node costs in memory: its processes (every
// process of its PID namespace, read from /proc/<pid>/smaps_rollup) and
// what its tmpfs hold (/run with the journal, /tmp, /dev/shm).
type Memory struct {
	Processes int
	// RSS and PSS are summed over the node's processes, in bytes. PSS
	// shares the pages a node shares with others (the machine's libraries
	// and Python modules, through the page cache) among them: the sum of
	// the nodes' PSS is what they take together.
	RSS, PSS uint64
	// Tmpfs is the space used in the node's tmpfs, in bytes.
	Tmpfs uint64
	// ByCommand is PSS by command name (comm), in bytes.
	ByCommand map[string]uint64
}

// Total is PSS plus tmpfs.
func (m Memory) Total() uint64 { return m.PSS + m.Tmpfs }

func (m Memory) String() string {
	type kv struct {
		k string
		v uint64
	}
	var cmds []kv
	for k, v := range m.ByCommand {
		cmds = append(cmds, kv{k, v})
	}
	sort.Slice(cmds, func(i, j int) bool { return cmds[i].v > cmds[j].v })
	var parts []string
	for i, c := range cmds {
		if i == 4 {
			break
		}
		parts = append(parts, fmt.Sprintf("%s %s", c.k, mib(c.v)))
	}
	return fmt.Sprintf("%d processes, PSS %s (RSS %s), tmpfs %s; largest: %s",
		m.Processes, mib(m.PSS), mib(m.RSS), mib(m.Tmpfs), strings.Join(parts, ", "))
}

func mib(b uint64) string { return fmt.Sprintf("%.0f MiB", float64(b)/(1<<20)) }

// Memory measures the node's memory now.
func (n *Node) Memory() (Memory, error) {
	pid := n.Pid()
	if pid == 0 {
		return Memory{}, fmt.Errorf("%s is off", n.Name)
	}
	pidNS, err := inode(fmt.Sprintf("/proc/%d/ns/pid", pid))
	if err != nil {
		return Memory{}, err
	}
	m := Memory{ByCommand: map[string]uint64{}}
	procs, _ := filepath.Glob("/proc/[0-9]*")
	for _, p := range procs {
		if ino, err := inode(p + "/ns/pid"); err != nil || ino != pidNS {
			continue
		}
		data, err := os.ReadFile(p + "/smaps_rollup")
		if err != nil {
			continue // gone, or a kernel thread
		}
		rss, pss := smapsRollup(data)
		comm, _ := os.ReadFile(p + "/comm")
		m.Processes++
		m.RSS += rss
		m.PSS += pss
		m.ByCommand[strings.TrimSpace(string(comm))] += pss
	}
	for _, d := range []string{"run", "tmp", "dev/shm"} {
		var st syscall.Statfs_t
		if err := syscall.Statfs(fmt.Sprintf("/proc/%d/root/%s", pid, d), &st); err == nil {
			m.Tmpfs += (st.Blocks - st.Bfree) * uint64(st.Bsize)
		}
	}
	return m, nil
}

// CPUTime is the processor time (user and system) the node's processes
// that run now have used, their reaped children's included.
func (n *Node) CPUTime() (time.Duration, error) {
	pid := n.Pid()
	if pid == 0 {
		return 0, fmt.Errorf("%s is off", n.Name)
	}
	pidNS, err := inode(fmt.Sprintf("/proc/%d/ns/pid", pid))
	if err != nil {
		return 0, err
	}
	var ticks uint64
	procs, _ := filepath.Glob("/proc/[0-9]*")
	for _, p := range procs {
		if ino, err := inode(p + "/ns/pid"); err != nil || ino != pidNS {
			continue
		}
		data, err := os.ReadFile(p + "/stat")
		if err != nil {
			continue
		}
		ticks += statTicks(string(data))
	}
	// USER_HZ is 100 on Linux for every architecture Go supports.
	return time.Duration(ticks) * 10 * time.Millisecond, nil
}

// statTicks sums utime, stime, cutime and cstime (fields 14-17) of
// /proc/<pid>/stat; the command name (field 2) may hold spaces and
// parentheses, so fields are counted after its last ')'.
func statTicks(stat string) uint64 {
	i := strings.LastIndexByte(stat, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(stat[i+1:])
	// f[0] is field 3 (state): utime is field 14, f[11].
	if len(f) < 15 {
		return 0
	}
	var sum uint64
	for _, s := range f[11:15] {
		v, _ := strconv.ParseUint(s, 10, 64)
		sum += v
	}
	return sum
}

// smapsRollup reads Rss and Pss (in bytes) from /proc/<pid>/smaps_rollup.
func smapsRollup(data []byte) (rss, pss uint64) {
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 3 || f[2] != "kB" {
			continue
		}
		v, err := strconv.ParseUint(f[1], 10, 64)
		if err != nil {
			continue
		}
		switch f[0] {
		case "Rss:":
			rss = v << 10
		case "Pss:":
			pss = v << 10
		}
	}
	return rss, pss
}
