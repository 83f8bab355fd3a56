package haproxy

import (
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/stackha/stackha/internal/testutil"
)

// ScaleOptions are the knobs of the cost-as-the-work-grows benchmark.
type ScaleOptions struct {
	Stackha  string
	Haproxy  string
	Sizes    []int // numbers of backends, 3 servers each
	Monitors int   // depth-10 monitor calls timed per size
	Out      io.Writer
}

// scaleResult is one size's figures.
type scaleResult struct {
	backends          int
	statBytes         int
	wall, cpu, hapCPU []time.Duration // per monitor: wall, the agent's CPU, haproxy's
	seedWall, seedCPU []time.Duration // the init script's status on the same instance
}

// RunScale times the depth-10 monitor of an haproxy serving Sizes backends
// of 3 servers each, and the how-to's init-script status (kill -0 on the pid
// file) of the same haproxy, in one run (make bench-haproxy-scale).
func RunScale(o ScaleOptions) error {
	dir, err := os.MkdirTemp("/tmp", "shh-scale-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	be, err := startBackends(3)
	if err != nil {
		return err
	}
	defer be.close()
	srvs := be.addrs
	var res []scaleResult
	for _, n := range o.Sizes {
		r, err := scaleOne(dir, n, srvs, o)
		if err != nil {
			return fmt.Errorf("%d backends: %w", n, err)
		}
		res = append(res, r)
	}
	reportScale(o.Out, res)
	return nil
}

// scaleConfig is one frontend and n backends of 3 servers on loopback,
// health-checked every 30 s (haproxy starts servers UP).
func scaleConfig(n, port int, srvs []string, stats string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "global\n    stats socket %s mode 600 level admin\ndefaults\n    mode http\n    timeout connect 2s\n    timeout client 10s\n    timeout server 10s\n", stats)
	fmt.Fprintf(&b, "frontend shh-scale-fe\n    bind 127.0.0.1:%d\n    default_backend shh-be-0\n", port)
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "backend shh-be-%d\n", i)
		for j, s := range srvs {
			fmt.Fprintf(&b, "    server s%d %s check inter 30s\n", j+1, s)
		}
	}
	return b.String()
}

func scaleOne(dir string, n int, srvs []string, o ScaleOptions) (scaleResult, error) {
	r := scaleResult{backends: n}
	port, err := testutil.FreePort()
	if err != nil {
		return r, err
	}
	inst := "shh-scale-" + strconv.Itoa(n)
	cfg := filepath.Join(dir, inst+".cfg")
	stats := filepath.Join(dir, inst+"-stats.sock")
	if err := os.WriteFile(cfg, []byte(scaleConfig(n, port, srvs, stats)), 0o644); err != nil {
		return r, err
	}
	a := Options{Stackha: o.Stackha, Haproxy: o.Haproxy}.agentFor(dir, inst, cfg)
	if code, out, _ := a.run("start"); code != 0 {
		return r, fmt.Errorf("start: %d %s", code, out)
	}
	defer a.run("stop")
	for _, cmd := range []string{"show stat -1 1 -1", "show servers state"} {
		out, err := askOnce(stats, cmd)
		if err != nil {
			return r, err
		}
		r.statBytes += len(out)
	}
	pidfile := filepath.Join(dir, inst+".pid")
	s := seed{pidfile: pidfile}
	for i := 0; i < o.Monitors; i++ {
		h0 := haproxyCPU(stats)
		code, out, wall, cpu := a.runCPU("monitor", "OCF_CHECK_LEVEL=10", "OCF_RESKEY_CRM_meta_interval=30000")
		if code != 0 {
			return r, fmt.Errorf("monitor depth 10: exit %d: %s", code, out)
		}
		r.wall, r.cpu = append(r.wall, wall), append(r.cpu, cpu)
		r.hapCPU = append(r.hapCPU, haproxyCPU(stats)-h0)
		scode, swall, scpu := s.statusCPU()
		if scode != 0 {
			return r, fmt.Errorf("init script status: exit %d", scode)
		}
		r.seedWall, r.seedCPU = append(r.seedWall, swall), append(r.seedCPU, scpu)
	}
	return r, nil
}

// askOnce sends one command to the runtime API at sock.
func askOnce(sock, cmd string) (string, error) {
	c, err := net.DialTimeout("unix", sock, 5*time.Second)
	if err != nil {
		return "", err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	io.WriteString(c, cmd+"\n")
	b, err := io.ReadAll(io.LimitReader(c, 64<<20))
	return string(b), err
}

// haproxyCPU is the CPU time the worker answering on the stats socket has
// used so far, in nanoseconds from /proc/<pid>/task/*/schedstat.
func haproxyCPU(stats string) time.Duration {
	c, err := net.DialTimeout("unix", stats, 5*time.Second)
	if err != nil {
		return 0
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	io.WriteString(c, "show info\n")
	b, _ := io.ReadAll(io.LimitReader(c, 1<<20))
	pid := 0
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "Pid: "); ok {
			pid, _ = strconv.Atoi(strings.TrimSpace(v))
		}
	}
	// /proc/<pid>/schedstat: time on CPU in ns, summed over threads.
	var total time.Duration
	ents, _ := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	for _, e := range ents {
		st, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%s/schedstat", pid, e.Name()))
		if err != nil {
			continue
		}
		f := strings.Fields(string(st))
		if len(f) > 0 {
			ns, _ := strconv.ParseInt(f[0], 10, 64)
			total += time.Duration(ns)
		}
	}
	return total
}

func reportScale(w io.Writer, res []scaleResult) {
	fmt.Fprintln(w, "haproxy depth-10 monitor (the stackha binary exec'd as Pacemaker does) as the configuration grows,")
	fmt.Fprintln(w, "3 servers per backend, medians; beside it the how-to's init-script status (kill -0 $(cat pidfile) in sh)")
	fmt.Fprintln(w, "on the same haproxy in the same run. \"answers\": what the monitor reads from the runtime API.")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "backends\tservers\tanswers\tmonitor wall\tp90\tagent CPU\thaproxy CPU\twall growth\tCPU growth\tinit script status wall\tinit script CPU\t")
	for i, r := range res {
		growth, cpuGrowth := "", ""
		if i > 0 {
			p := res[i-1]
			k := fmt.Sprintf(" for ×%d backends", r.backends/p.backends)
			growth = fmt.Sprintf("×%.2f%s", float64(testutil.Median(r.wall))/float64(testutil.Median(p.wall)), k)
			cpuGrowth = fmt.Sprintf("×%.2f", float64(testutil.Median(r.cpu)+testutil.Median(r.hapCPU))/float64(testutil.Median(p.cpu)+testutil.Median(p.hapCPU)))
		}
		fmt.Fprintf(tw, "%d\t%d\t%d KiB\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n", r.backends, 3*r.backends, r.statBytes>>10,
			ms(testutil.Median(r.wall)), ms(testutil.Quantile(r.wall, 0.9)), ms(testutil.Median(r.cpu)), ms(testutil.Median(r.hapCPU)),
			growth, cpuGrowth, ms(testutil.Median(r.seedWall)), ms(testutil.Median(r.seedCPU)))
	}
	tw.Flush()
	if len(res) >= 2 {
		a, b := res[0], res[len(res)-1]
		dn := float64(b.backends - a.backends)
		per := func(x, y []time.Duration) float64 {
			return float64(testutil.Median(y)-testutil.Median(x)) / dn / 1e3
		}
		fmt.Fprintf(w, "marginal cost per backend (%d to %d): wall %.1f µs, agent CPU %.1f µs, haproxy CPU %.1f µs\n",
			a.backends, b.backends, per(a.wall, b.wall), per(a.cpu, b.cpu), per(a.hapCPU, b.hapCPU))
	}
}
