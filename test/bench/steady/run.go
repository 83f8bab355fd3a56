package steady

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/stackha/stackha/crm/render"
)

// Options of a run.
type Options struct {
	Stackha  string // the binary (make build)
	IPaddr2  string // resource-agents' IPaddr2
	Topology string // the topology rendered, e.g. crm/examples/seed.yaml
	Runs     int    // measured calls of each check
	Warm     int    // rounds before measuring
	Out      io.Writer
	MD       string // where the table is also written ("" for nowhere)
}

// Monitors renders the topology (in memory) and lists the recurring
// monitors of its stackha primitives.
func Monitors(topology string) ([]Monitor, error) {
	fh, err := os.Open(topology)
	if err != nil {
		return nil, fmt.Errorf("topology: %w", err)
	}
	defer fh.Close()
	t, err := render.Parse(fh)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", topology, err)
	}
	files, err := render.Render(t)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", topology, err)
	}
	return ParseCRM(string(files["cluster.crm"]), "stackha")
}

// Run sets up the sandboxes, measures every check the rendered monitors
// need, and prints the table. Root only.
func Run(ctx context.Context, o Options) error {
	if os.Geteuid() != 0 {
		return fmt.Errorf("needs root (network namespace, services started as their users)")
	}
	ms, err := Monitors(o.Topology)
	if err != nil {
		return err
	}
	for _, p := range []string{o.IPaddr2, "/bin/sh"} {
		if _, err := os.Stat(p); err != nil {
			return err
		}
	}
	if _, err := exec.LookPath("openstack"); err != nil {
		return fmt.Errorf("the old agents' check needs python3-openstackclient: %w", err)
	}
	bin, err := filepath.Abs(o.Stackha)
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "steady-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	g := &rig{dir: dir, links: filepath.Join(dir, "ocf"), stackha: bin, ipaddr2: o.IPaddr2,
		tag: strconv.Itoa(os.Getpid()), api: map[string]map[string]string{}, host: map[string]string{}, instances: map[string]bool{}}
	defer g.close()
	for _, d := range []string{g.links, filepath.Join(dir, "rsctmp")} {
		if err := os.Mkdir(d, 0o755); err != nil {
			return err
		}
	}
	if err := g.setupVIP(ctx); err != nil {
		return err
	}
	if err := g.setupHAProxy(ctx); err != nil {
		return err
	}
	apis := append([]string{StandIn}, APIAgents(ms)...)
	for i, a := range apis {
		if i > 0 && a == StandIn {
			continue
		}
		fmt.Fprintf(os.Stderr, "bench-steady: setting up %s\n", a)
		if err := g.setupAPI(ctx, a); err != nil {
			return err
		}
	}
	rows := Plan(ms, func(a string) (string, bool) { h, ok := g.host[a]; return h, ok })
	var checks []Check
	for _, key := range Checks(rows) {
		c, err := g.check(rows, key)
		if err != nil {
			return err
		}
		checks = append(checks, c)
	}
	time.Sleep(1500 * time.Millisecond) // haproxy's first health checks
	fmt.Fprintf(os.Stderr, "bench-steady: measuring %d checks, %d warm-up rounds and %d measured\n", len(checks), o.Warm, o.Runs)
	res, err := Measure(ctx, checks, o.Runs, o.Warm)
	if err != nil {
		return err
	}
	table, err := Table(rows, res)
	if err != nil {
		return err
	}
	var b bytes.Buffer
	load, _ := os.ReadFile("/proc/loadavg")
	lf := strings.Fields(string(load))
	fmt.Fprintf(&b, "Cost of watching a node: every recurring monitor of one node of the cluster rendered from %s (the VIP's node: the VIP, haproxy, every API clone), "+
		"at render's intervals, stackha against the agents it replaces at the same intervals. CPU per call = user+system of the process and its children (wait4), "+
		"median of %d calls after %d warm-up rounds, the checks taking turns; service CPU = the mean CPU the asked service's processes used during the call (/proc, 10 ms ticks, summed over the calls); "+
		"CPU/hour = CPU per call x 3600 s / interval. %s; %d CPUs; load average %s\n\n",
		o.Topology, o.Runs, o.Warm, runtime.Version(), runtime.NumCPU(), strings.Join(lf[:min(3, len(lf))], " "))
	b.WriteString(table)
	fmt.Fprintf(&b, "\nSet-up:\n- VIP: vip and IPaddr2 monitor the same address (%s/%s on a veth) from inside a private network namespace, with the same parameters.\n",
		g.vipParams["ip"], g.vipParams["cidr_netmask"])
	b.WriteString("- haproxy: the agent's sandbox configuration on loopback, started by the agent; the init script's status reads that haproxy's pid file.\n" +
		"- API agents: Debian's services on loopback, started by their agents (run_mode=process). An agent whose service Debian does not run here alone runs its own start and " +
		"monitor on a " + Host + " service of its own (its monitor's cost: the process check and the version GET).\n" +
		"- `openstack token issue` (the old agents' monitor) asks the same keystone; keystone's CPU is its service CPU. The sandbox's keystone hashes passwords with 4 bcrypt rounds " +
		"where keystone's default is 12: a production keystone spends more on each token.\n")
	for _, n := range g.notes {
		b.WriteString("- " + n + "\n")
	}
	if _, err := o.Out.Write(b.Bytes()); err != nil {
		return err
	}
	if o.MD != "" {
		return os.WriteFile(o.MD, b.Bytes(), 0o644)
	}
	return nil
}

// check builds the check of a key, run as its monitor is (interval,
// timeout and depth of the first row that needs it).
func (g *rig) check(rows []Row, key string) (Check, error) {
	m, err := Interval(rows, key)
	if err != nil {
		return Check{}, err
	}
	timeout := m.Timeout
	if timeout <= 0 {
		timeout = 20 * time.Second
	}
	run := func(mk func() (*exec.Cmd, error), ns string) func() (time.Duration, error) {
		return func() (time.Duration, error) {
			cmd, err := mk()
			if err != nil {
				return 0, err
			}
			var cpu time.Duration
			err = inNetns(ns, func() error { var err error; cpu, err = ExecCPU(cmd, 0); return err })
			return cpu, err
		}
	}
	c := Check{Key: key}
	switch {
	case key == OldIPaddr2:
		c.Run = run(func() (*exec.Cmd, error) {
			cmd := exec.Command(g.ipaddr2, "monitor")
			cmd.Env = g.env("ipaddr2", g.vipParams, m, timeout)
			return cmd, nil
		}, g.vipNS)
	case key == OldInitStatus:
		// test/bench/haproxy's definition of the init script's status
		c.Run = run(func() (*exec.Cmd, error) {
			return exec.Command("/bin/sh", "-c", `pid=$(cat "$1") && kill -0 "$pid"`, "status", g.haproxy["pidfile"]), nil
		}, "")
	case key == OldTokenIssue:
		k := g.api[StandIn]
		rc, err := os.ReadFile(k["credentials"])
		if err != nil {
			return Check{}, fmt.Errorf("keystone credentials: %w", err)
		}
		vars, err := ParseRC(string(rc))
		if err != nil {
			return Check{}, fmt.Errorf("keystone credentials: %w", err)
		}
		env := []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "HOME=" + g.dir, "LANG=C.UTF-8", "OS_IDENTITY_API_VERSION=3"}
		for k, v := range vars {
			env = append(env, k+"="+v)
		}
		c.Run = run(func() (*exec.Cmd, error) {
			cmd := exec.Command("openstack", "token", "issue", "-f", "value", "-c", "id")
			cmd.Env = env
			return cmd, nil
		}, "")
		if c.Service, err = serviceCPU(k["pidfile"]); err != nil {
			return Check{}, err
		}
	case strings.HasPrefix(key, "api:"):
		agent, depth := splitKey(strings.TrimPrefix(key, "api:"))
		params, ok := g.api[agent]
		if !ok {
			return Check{}, fmt.Errorf("%s: no service running", agent)
		}
		m.Depth, m.DepthSet = depth, m.DepthSet || depth > 0
		c.Run = run(func() (*exec.Cmd, error) { return g.agentCmd(agent, "monitor", params, m, timeout) }, "")
		if c.Service, err = serviceCPU(params["pidfile"]); err != nil {
			return Check{}, err
		}
	default:
		agent, _ := splitKey(key)
		params, ns := g.haproxy, ""
		switch agent {
		case agentVIP:
			params, ns = g.vipParams, g.vipNS
		case agentHAProxy:
		default:
			return Check{}, fmt.Errorf("no check for %s", key)
		}
		c.Run = run(func() (*exec.Cmd, error) { return g.agentCmd(agent, "monitor", params, m, timeout) }, ns)
	}
	return c, nil
}
