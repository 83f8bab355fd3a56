package haproxy

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/stackha/stackha/internal/testutil"
)

type reloadResult struct {
	method    string
	c         *counts
	durations []time.Duration
	failures  int
}

type monitorResult struct {
	check        string
	times        []time.Duration
	backendsDown int // exit code with every backend down
	stalePid     int // exit code with a pid file naming an unrelated live process
}

// Run runs the whole benchmark and prints the tables.
func Run(opt Options) error {
	dir, err := os.MkdirTemp("/tmp", "shh-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	be, err := startBackends(2)
	if err != nil {
		return err
	}
	defer be.close()

	var results []reloadResult
	r, err := benchAgentReload(dir, be, opt)
	if err != nil {
		return fmt.Errorf("stackha reload: %w", err)
	}
	results = append(results, r)
	r, err = benchSeedReload(dir, be, opt)
	if err != nil {
		return fmt.Errorf("init script restart: %w", err)
	}
	results = append(results, r)
	mons, err := benchMonitor(dir, be, opt)
	if err != nil {
		return fmt.Errorf("monitor: %w", err)
	}
	report(opt, results, mons)
	return nil
}

func (o Options) agentFor(dir, instance, cfg string) agent {
	return agent{bin: o.Stackha, env: []string{
		"PATH=/usr/sbin:/usr/bin:/sbin:/bin",
		"OCF_RESOURCE_INSTANCE=" + instance,
		"OCF_RESKEY_binary=" + o.Haproxy,
		"OCF_RESKEY_config=" + cfg,
		"OCF_RESKEY_pidfile=" + filepath.Join(dir, instance+".pid"),
		"OCF_RESKEY_master_socket=" + filepath.Join(dir, instance+".sock"),
		"HA_LOGFACILITY=none",
	}}
}

// underLoad runs reload n times while the load runs, with a second of
// load before and after.
func underLoad(port int, opt Options, reload func() (time.Duration, error)) (*counts, []time.Duration, int) {
	ctx, cancel := context.WithCancel(context.Background())
	c, wait := load(ctx, fmt.Sprintf("http://127.0.0.1:%d/", port), opt)
	time.Sleep(time.Second)
	var ds []time.Duration
	failed := 0
	for i := 0; i < opt.Reloads; i++ {
		d, err := reload()
		if err != nil {
			failed++
			fmt.Fprintf(os.Stderr, "reload %d: %v\n", i+1, err)
		}
		ds = append(ds, d)
		time.Sleep(opt.Every)
	}
	time.Sleep(time.Second)
	cancel()
	wait()
	return c, ds, failed
}

func benchAgentReload(dir string, be *backends, opt Options) (reloadResult, error) {
	port, err := testutil.FreePort()
	if err != nil {
		return reloadResult{}, err
	}
	cfg := filepath.Join(dir, "agent.cfg")
	if err := writeConfig(cfg, port, be, filepath.Join(dir, "agent-stats.sock")); err != nil {
		return reloadResult{}, err
	}
	a := opt.agentFor(dir, "shh-bench-agent", cfg)
	if code, out, _ := a.run("start"); code != 0 {
		return reloadResult{}, fmt.Errorf("start: %d %s", code, out)
	}
	defer a.run("stop")
	c, ds, failed := underLoad(port, opt, func() (time.Duration, error) {
		code, out, d := a.run("reload")
		if code != 0 {
			return d, fmt.Errorf("exit %d: %s", code, strings.TrimSpace(out))
		}
		return d, nil
	})
	return reloadResult{method: "stackha reload (master CLI, seamless)", c: c, durations: ds, failures: failed}, nil
}

func benchSeedReload(dir string, be *backends, opt Options) (reloadResult, error) {
	port, err := testutil.FreePort()
	if err != nil {
		return reloadResult{}, err
	}
	cfg := filepath.Join(dir, "seed.cfg")
	if err := writeConfig(cfg, port, be, filepath.Join(dir, "seed-stats.sock")); err != nil {
		return reloadResult{}, err
	}
	s := seed{haproxy: opt.Haproxy, cfg: cfg, pidfile: filepath.Join(dir, "seed.pid")}
	if err := s.start(); err != nil {
		return reloadResult{}, err
	}
	defer s.cleanup()
	c, ds, failed := underLoad(port, opt, func() (time.Duration, error) {
		start := time.Now()
		err := s.restart()
		return time.Since(start), err
	})
	return reloadResult{method: "init script restart (check, SIGUSR1, haproxy -D)", c: c, durations: ds, failures: failed}, nil
}

// cleanup ends whatever the init script's restart left (soft-stopping old
// processes included), by pid, verified against this configuration.
func (s seed) cleanup() {
	s.stop()
	for _, pid := range listPids() {
		if s.mine(pid) {
			syscallKill(pid)
		}
	}
}

func benchMonitor(dir string, be *backends, opt Options) ([]monitorResult, error) {
	ports, err := testutil.FreePorts(2)
	if err != nil {
		return nil, err
	}
	port, seedPort := ports[0], ports[1]
	cfg := filepath.Join(dir, "monitor.cfg")
	if err := writeConfig(cfg, port, be, filepath.Join(dir, "monitor-stats.sock")); err != nil {
		return nil, err
	}
	a := opt.agentFor(dir, "shh-bench-monitor", cfg)
	if code, out, _ := a.run("start"); code != 0 {
		return nil, fmt.Errorf("start: %d %s", code, out)
	}
	defer a.run("stop")
	// The init script runs the same configuration as a plain daemon: its status
	// reads that instance's pid file.
	seedCfg := filepath.Join(dir, "monitor-seed.cfg")
	if err := writeConfig(seedCfg, seedPort, be, filepath.Join(dir, "monitor-seed-stats.sock")); err != nil {
		return nil, err
	}
	s := seed{haproxy: opt.Haproxy, cfg: seedCfg, pidfile: filepath.Join(dir, "monitor-seed.pid")}
	if err := s.start(); err != nil {
		return nil, err
	}
	defer s.cleanup()
	time.Sleep(1500 * time.Millisecond) // first health checks

	res := []monitorResult{
		{check: "stackha monitor, depth 0 (pid verified, master CLI show proc)"},
		{check: "stackha monitor, depth 10 (+ runtime API: frontends, backends)"},
		{check: "init script status: kill -0 $(cat pidfile) in sh"},
	}
	for i := 0; i < opt.Monitors; i++ {
		for j, level := range []string{"0", "10"} {
			code, out, d := a.run("monitor", "OCF_CHECK_LEVEL="+level, "OCF_RESKEY_CRM_meta_interval=10000")
			if code != 0 {
				return nil, fmt.Errorf("monitor depth %s: %d %s", level, code, out)
			}
			res[j].times = append(res[j].times, d)
		}
		code, d := s.status()
		if code != 0 {
			return nil, fmt.Errorf("init script status: %d", code)
		}
		res[2].times = append(res[2].times, d)
	}

	// What each notices: every backend server down...
	for _, srv := range be.srvs {
		srv.Close()
	}
	time.Sleep(3500 * time.Millisecond) // fall 3 at inter 1s
	res[0].backendsDown, _, _ = a.run("monitor", "OCF_RESKEY_CRM_meta_interval=10000")
	res[1].backendsDown, _, _ = a.run("monitor", "OCF_CHECK_LEVEL=10", "OCF_RESKEY_CRM_meta_interval=10000")
	res[2].backendsDown, _ = s.status()
	// ...and a pid file that names an unrelated live process (haproxy gone,
	// its pid reused).
	a.run("stop")
	s.cleanup()
	unrelated := os.Getpid()
	pidText := []byte(fmt.Sprintf("%d\n", unrelated))
	os.WriteFile(filepath.Join(dir, "shh-bench-monitor.pid"), pidText, 0o644)
	os.WriteFile(s.pidfile, pidText, 0o644)
	res[0].stalePid, _, _ = a.run("monitor", "OCF_RESKEY_CRM_meta_interval=10000")
	res[1].stalePid, _, _ = a.run("monitor", "OCF_CHECK_LEVEL=10", "OCF_RESKEY_CRM_meta_interval=10000")
	res[2].stalePid, _ = s.status()
	return res, nil
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000) }

func verdict(code int) string {
	if code == 0 {
		return "0 (sees nothing)"
	}
	return fmt.Sprintf("%d (reported)", code)
}

func report(opt Options, rs []reloadResult, ms_ []monitorResult) {
	w := tabwriter.NewWriter(opt.Out, 2, 4, 2, ' ', 0)
	fmt.Fprintf(w, "haproxy: %d reloads, one every %s, under %d req/s (%d clients, a new connection per request), through haproxy to 2 Go backends on loopback\n\n",
		opt.Reloads, opt.Every, opt.Rate, opt.Clients)
	fmt.Fprintln(w, "method\trequests\tok\tfailed (HTTP)\tconnection errors\treload median\treload max\treloads failed\t")
	for _, r := range rs {
		fmt.Fprintf(w, "%s\t%d\t%d\t%d\t%d\t%s\t%s\t%d\t\n", r.method, r.c.total(), r.c.ok.Load(), r.c.httpErr.Load(), r.c.connErr.Load(),
			ms(testutil.Median(r.durations)), ms(testutil.Quantile(r.durations, 1)), r.failures)
	}
	for _, r := range rs {
		if e, ok := r.c.firstErr.Load().(string); ok {
			fmt.Fprintf(w, "  first error, %s: %s\n", r.method, e)
		}
	}
	fmt.Fprintf(w, "\nmonitor: %d calls each, a process per call (as Pacemaker runs them)\n\n", opt.Monitors)
	fmt.Fprintln(w, "check\tmedian\tp90\tall backends down\tpid file names an unrelated process\t")
	for _, m := range ms_ {
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t\n", m.check, ms(testutil.Median(m.times)), ms(testutil.Quantile(m.times, 0.9)), verdict(m.backendsDown), verdict(m.stalePid))
	}
	w.Flush()
}
