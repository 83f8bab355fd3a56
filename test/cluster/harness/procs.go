package harness

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
)

// Proc is a process running inside a node.
type Proc struct {
	Pid, PPid int
	Comm      string
	Cmdline   []string
	Exe       string // where /proc/PID/exe points ("" once the process is gone)
}

func (n *Node) NetIno() uint64 {
	n.c.mu.Lock()
	defer n.c.mu.Unlock()
	return n.c.nsIno["net:"+Prefix+n.Name]
}

func InNetNS(pid int, ino uint64) bool {
	var st syscall.Stat_t
	return ino != 0 && syscall.Stat(fmt.Sprintf("/proc/%d/ns/net", pid), &st) == nil && st.Ino == ino
}

// Procs lists the processes inside node n's network namespace that match.
func (n *Node) Procs(match func(Proc) bool) []Proc {
	ino := n.NetIno()
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	var out []Proc
	for _, d := range dirs {
		pid, err := strconv.Atoi(filepath.Base(d))
		if err != nil || !InNetNS(pid, ino) {
			continue
		}
		p := Proc{Pid: pid}
		comm, _ := os.ReadFile(d + "/comm")
		p.Comm = strings.TrimSpace(string(comm))
		cmd, _ := os.ReadFile(d + "/cmdline")
		p.Cmdline = strings.Split(strings.TrimRight(string(cmd), "\x00"), "\x00")
		p.Exe, _ = os.Readlink(d + "/exe")
		stat, _ := os.ReadFile(d + "/stat")
		if i := strings.LastIndexByte(string(stat), ')'); i > 0 {
			if f := strings.Fields(string(stat)[i+1:]); len(f) > 1 {
				p.PPid, _ = strconv.Atoi(f[1])
			}
		}
		if match(p) {
			out = append(out, p)
		}
	}
	return out
}

// HAProxyMaster returns the haproxy process on node n that is not a child
// of another haproxy (the master in master-worker mode, the only process
// otherwise). Only a haproxy that serves counts (servesHAProxy).
func (n *Node) HAProxyMaster() (Proc, error) {
	all := n.Procs(servesHAProxy)
	pids := map[int]bool{}
	for _, p := range all {
		pids[p.Pid] = true
	}
	var masters []Proc
	for _, p := range all {
		if !pids[p.PPid] {
			masters = append(masters, p)
		}
	}
	if len(masters) != 1 {
		return Proc{}, fmt.Errorf("%d haproxy masters on %s", len(masters), n.Name)
	}
	return masters[0], nil
}

// servesHAProxy reports whether p is a haproxy that serves: the haproxy
// program (/proc/PID/exe), not one that only checks the configuration or
// says its version (-c, -v, -vv: an agent's validation, run by a probe or
// a reload), and not the OCF agent, whose name is haproxy too (comm is the
// name it was run by: resource.d/stackha/haproxy, the stackha binary;
// fault 2 once failed on "2 haproxy masters" as a monitor ran).
func servesHAProxy(p Proc) bool {
	exe := strings.TrimSuffix(p.Exe, " (deleted)")
	return p.Comm == "haproxy" && filepath.Base(exe) == "haproxy" && !checkOnly(p.Cmdline)
}

// checkOnly reports whether a haproxy command line only checks or
// reports, and serves nothing.
func checkOnly(argv []string) bool {
	for _, a := range argv[min(1, len(argv)):] {
		if a == "-c" || a == "-v" || a == "-vv" {
			return true
		}
	}
	return false
}

// KeystoneAll returns keystone's uwsgi processes on node n (the master
// and its workers): those run with keystone's uwsgi ini, keystoneIni on a
// lab node (the start script or the agent) as in the DAEMON_ARGS of
// Debian's keystone.service on a systemd node.
func (n *Node) KeystoneAll() []Proc {
	return n.Procs(func(p Proc) bool {
		return slices.ContainsFunc(p.Cmdline, func(a string) bool { return strings.HasSuffix(a, "/keystone-uwsgi.ini") })
	})
}

// Keystone returns keystone's uwsgi master on node n, on a lab node as on
// a systemd node: the one of KeystoneAll whose parent is not one of them
// (its workers' is).
func (n *Node) Keystone() (Proc, error) {
	all := n.KeystoneAll()
	var ps []Proc
	for _, p := range all {
		if !slices.ContainsFunc(all, func(q Proc) bool { return q.Pid == p.PPid }) {
			ps = append(ps, p)
		}
	}
	if len(ps) != 1 {
		return Proc{}, fmt.Errorf("%d keystone processes on %s", len(ps), n.Name)
	}
	return ps[0], nil
}

// Signal sends sig to pid after checking, again, that it runs inside node n.
func (n *Node) Signal(pid int, sig syscall.Signal) error {
	if !InNetNS(pid, n.NetIno()) {
		return fmt.Errorf("pid %d is not inside %s: not signalled", pid, n.Name)
	}
	if err := syscall.Kill(pid, sig); err != nil {
		return fmt.Errorf("signalling pid %d on %s: %w", pid, n.Name, err)
	}
	return nil
}

// PidInNode is p's pid as its node sees it (the last of NSpid in
// /proc/PID/status: each node has its own PID namespace); "" when gone.
func (p Proc) PidInNode() string {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.Pid))
	if err != nil {
		return ""
	}
	for _, l := range strings.Split(string(data), "\n") {
		if f := strings.Fields(l); len(f) > 1 && f[0] == "NSpid:" {
			return f[len(f)-1]
		}
	}
	return ""
}
