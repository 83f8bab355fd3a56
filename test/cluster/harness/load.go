package harness

import (
	"os"
	"strconv"
)

// Load is the pressure Options.Load puts inside every node: what a busy
// OpenStack controller runs beside its cluster stack (API workers on the
// CPU, a database and logs on the disk). Each node gets CPU busy loops and
// a writer that rewrites a file on the node's own disk with fsync, both at
// normal priority, started after the node's Pacemaker and again after each
// power-on. The machine's load average (which every node reads: /proc/
// loadavg is not per namespace) then stays well above its cores, so
// Pacemaker's controllers report high load and the DC throttles: with a
// node throttled "high" or "extreme", pacemaker-controld runs one action
// at a time in the whole cluster (throttle_get_total_job_limit, peers/2 or
// peers/4, at least 1).
type Load struct {
	// CPU is the number of busy loops per node (1 when Load is used and
	// both are zero).
	CPU int
	// IO is the number of fsync'd writers per node (1 when Load is used
	// and both are zero).
	IO int
}

// LoadFromEnv reads SHC_LOAD: empty or 0 for none, 1 for the default (one
// busy loop and one writer per node), "CPU,IO" for those counts.
func LoadFromEnv() *Load {
	v := os.Getenv("SHC_LOAD")
	switch v {
	case "", "0":
		return nil
	case "1":
		return &Load{CPU: 1, IO: 1}
	}
	var l Load
	for i, f := range splitComma(v) {
		n, err := strconv.Atoi(f)
		if err != nil || n < 0 {
			return &Load{CPU: 1, IO: 1}
		}
		if i == 0 {
			l.CPU = n
		} else {
			l.IO = n
		}
	}
	return &l
}

func splitComma(s string) []string {
	var out []string
	start := 0
	for i := 0; i <= len(s); i++ {
		if i == len(s) || s[i] == ',' {
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return out
}

// loadScripts are the shell loops of a Load, each run as its own process
// inside a node.
func (l *Load) loadScripts() [][2]string {
	if l == nil {
		return nil
	}
	cpu, io := l.CPU, l.IO
	if cpu == 0 && io == 0 {
		cpu, io = 1, 1
	}
	var s [][2]string
	for i := 0; i < cpu; i++ {
		s = append(s, [2]string{"load-cpu", "while :; do :; done"})
	}
	for i := 0; i < io; i++ {
		// /var/lib/corosync is the node's own directory on the machine's
		// disk (under BaseDir): removed with it at teardown.
		f := "/var/lib/corosync/shc-load-" + strconv.Itoa(i)
		s = append(s, [2]string{"load-io", "while :; do dd if=/dev/zero of=" + f + " bs=1M count=32 conv=fsync status=none; done"})
	}
	return s
}

// startLoad starts the load processes of c.opts.Load on node n.
func (c *Cluster) startLoad(n *Node) error {
	for _, s := range c.opts.Load.loadScripts() {
		if _, err := c.spawnProc(n, s[0], "/dev/null", "sh", "-c", s[1]); err != nil {
			return err
		}
	}
	return nil
}

// Loaded reports whether the cluster runs with load inside its nodes.
func (c *Cluster) Loaded() bool { return c.opts.Load != nil }
