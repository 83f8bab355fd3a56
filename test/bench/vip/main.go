// Command vip is the vip agent's benchmark: the agent side by side with
// ocf:heartbeat:IPaddr2 on the same veth interface inside a private network
// namespace: median wall and CPU time of monitor (also with 1,000 addresses
// on the interface), meta-data and a start+stop cycle, peak memory, and the
// child processes each spawns; then the floor under any process start.
// Root only. Run it with `make bench-vip`.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/stackha/stackha/internal/testutil"
	"github.com/stackha/stackha/internal/testutil/viptest"
	"github.com/vishvananda/netns"
)

type agent struct {
	name string
	path string
}

type sample struct {
	wall, cpu time.Duration
	faults    int64 // page faults (minor and major), from wait4's rusage
}

// op is one measured operation: the actions run in a row, and the code each
// must return.
type op struct {
	name    string
	actions []string
	codes   []int
	env     []string
	// base replaces the common environment; setup and teardown run
	// before and after the op's runs.
	base            []string
	setup, teardown func() error
}

func main() {
	bin := flag.String("bin", "bin/stackha", "the stackha binary")
	ipaddr2 := flag.String("ipaddr2", "/usr/lib/ocf/resource.d/heartbeat/IPaddr2", "the shell agent to compare with")
	alt := flag.String("alt", "", "another stackha build, shown as a third column (e.g. built with other tags)")
	altName := flag.String("alt-name", "vip (alt)", "the third column's title")
	runs := flag.Int("runs", 30, "measured runs per operation (after 3 warm-up runs)")
	floor := flag.Int("floor", 0, "only the process-start table, with this many runs (e.g. 1000 on a loaded machine)")
	flag.Parse()
	if err := run(*bin, *ipaddr2, *alt, *altName, *runs, *floor); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run(bin, ipaddr2string, alt, altName string, runs, floorRuns int) error {
	if os.Geteuid() != 0 {
		return fmt.Errorf("needs root (network namespaces)")
	}
	bin, err := filepath.Abs(bin)
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "shv-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	link := filepath.Join(dir, "vip")
	if err := installCopy(bin, link); err != nil {
		return err
	}
	lab, err := viptest.NewLab("bench")
	if err != nil {
		return fmt.Errorf("lab: %w", err)
	}
	defer lab.Close()

	// Every child is forked from this thread, inside the lab's namespace:
	// both agents see the veth as their own interface, with no
	// network_namespace indirection.
	runtime.LockOSThread()
	ns, err := netns.GetFromName(lab.NS)
	if err != nil {
		return err
	}
	if err := netns.Set(ns); err != nil {
		return err
	}

	agents := []agent{{"IPaddr2", ipaddr2string}, {"vip", link}}
	if alt != "" {
		alt, err = filepath.Abs(alt)
		if err != nil {
			return err
		}
		if err := os.Mkdir(filepath.Join(dir, "alt"), 0o755); err != nil {
			return err
		}
		altLink := filepath.Join(dir, "alt", "vip")
		if err := installCopy(alt, altLink); err != nil {
			return err
		}
		agents = append(agents, agent{altName, altLink})
	}
	base := []string{
		"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "OCF_ROOT=/usr/lib/ocf", "OCF_RA_VERSION_MAJOR=1", "OCF_RA_VERSION_MINOR=0",
		"OCF_RESOURCE_INSTANCE=shv-bench", "HA_LOGFACILITY=none", "HA_LOGFILE=/dev/null", "HA_RSCTMP=" + dir,
		// The how-to's configuration: ip and cidr_netmask, the interface found
		// from the routing table.
		"OCF_RESKEY_ip=192.0.2.50", "OCF_RESKEY_cidr_netmask=24",
		"OCF_RESKEY_CRM_meta_timeout=20000",
	}
	// The same monitor of an IPv6 address on the interface once it holds
	// 1,000 more addresses (2001:db8:6::/64, documentation range).
	var base6 []string
	for _, kv := range base {
		if !strings.HasPrefix(kv, "OCF_RESKEY_ip=") && !strings.HasPrefix(kv, "OCF_RESKEY_cidr_netmask=") && !strings.HasPrefix(kv, "OCF_RESOURCE_INSTANCE=") {
			base6 = append(base6, kv)
		}
	}
	base6 = append(base6, "OCF_RESOURCE_INSTANCE=shv-bench6", "OCF_RESKEY_ip=2001:db8:5::50", "OCF_RESKEY_cidr_netmask=64", "OCF_RESKEY_nodad=true")
	ops := []op{
		{name: "monitor", actions: []string{"monitor"}, codes: []int{0}, env: []string{"OCF_RESKEY_CRM_meta_interval=10000"}},
		{name: "monitor, 1,000 addresses on the interface", actions: []string{"monitor"}, codes: []int{0},
			env: []string{"OCF_RESKEY_CRM_meta_interval=10000"}, base: base6,
			setup: func() error {
				if err := addAddresses(lab.NS, lab.Nic, 1000); err != nil {
					return err
				}
				_, err := exec1(agents[1], "start", base6, 0)
				return err
			}},
		// The same with nic given: no routing table to read for findif
		// (vip; IPaddr2 still runs its findif).
		{name: "monitor, 1,000 addresses, nic given", actions: []string{"monitor"}, codes: []int{0},
			env: []string{"OCF_RESKEY_CRM_meta_interval=10000", "OCF_RESKEY_nic=" + lab.Nic}, base: base6,
			teardown: func() error {
				if _, err := exec1(agents[1], "stop", base6, 0); err != nil {
					return err
				}
				return delAddresses(lab.NS, lab.Nic, 1000)
			}},
		{name: "meta-data", actions: []string{"meta-data"}, codes: []int{0}},
		{name: "start+stop", actions: []string{"start", "stop"}, codes: []int{0, 0}},
	}
	// The address is up for the monitors.
	if _, err := exec1(agents[1], "start", base, 0); err != nil {
		return err
	}
	if floorRuns > 0 {
		if err := printFloor(agents[1:], base, append(append([]string{}, base...), ops[0].env...), floorRuns); err != nil {
			return err
		}
		_, err := exec1(agents[1], "stop", base, 0)
		return err
	}
	results := map[string]map[string][]sample{}
	children := map[string]map[string]int{}
	peaks := map[string]map[string]int64{}
	for _, o := range ops {
		results[o.name] = map[string][]sample{}
		children[o.name] = map[string]int{}
		peaks[o.name] = map[string]int64{}
		if o.name == "start+stop" { // the last one: the address goes down
			if _, err := exec1(agents[1], "stop", base, 0); err != nil {
				return err
			}
		}
		if o.setup != nil {
			if err := o.setup(); err != nil {
				return fmt.Errorf("%s: %w", o.name, err)
			}
		}
		b := base
		if o.base != nil {
			b = o.base
		}
		env := append(append([]string{}, b...), o.env...)
		// Runs alternate between the agents, so that the machine's load
		// weighs on each alike.
		for i := 0; i < runs+3; i++ {
			for _, a := range agents {
				var s sample
				for j, act := range o.actions {
					x, err := exec1(a, act, env, o.codes[j])
					if err != nil {
						return err
					}
					s.wall += x.wall
					s.cpu += x.cpu
				}
				if i >= 3 {
					results[o.name][a.name] = append(results[o.name][a.name], s)
				}
			}
		}
		for _, a := range agents {
			n, err := countChildren(a, o.actions, env, dir)
			if err != nil {
				return err
			}
			children[o.name][a.name] = n
			rss, err := peakRSS(a, o.actions, env, dir, 5)
			if err != nil {
				return err
			}
			peaks[o.name][a.name] = rss
		}
		if o.teardown != nil {
			if err := o.teardown(); err != nil {
				return fmt.Errorf("%s: %w", o.name, err)
			}
		}
	}
	load, _ := os.ReadFile("/proc/loadavg")
	fmt.Printf("vip vs IPaddr2: ip=192.0.2.50 cidr_netmask=24 (nic from the routing table) on a veth in a private network namespace;\n")
	fmt.Printf("the 1,000-address monitors: ip=2001:db8:5::50 cidr_netmask=64 on the same veth holding 1,000 more IPv6 addresses\n")
	fmt.Printf("(2001:db8:6::1-3e8/128, each with its prefix route, as `ip addr add` makes them);\n")
	fmt.Printf("%d runs each after 3 warm-up runs, the agents taking turns; %s; %d CPUs; load average %s\n\n",
		runs, runtime.Version(), runtime.NumCPU(), strings.Join(strings.Fields(string(load))[:3], " "))
	head, rule := "| operation | measure |", "|---|---|"
	for _, a := range agents {
		head += " " + a.name + " |"
		rule += "---:|"
	}
	for _, a := range agents[1:] {
		head += " IPaddr2 / " + a.name + " |"
		rule += "---:|"
	}
	fmt.Println(head)
	fmt.Println(rule)
	for _, o := range ops {
		r := results[o.name]
		for _, m := range []struct {
			name string
			f    func(sample) time.Duration
		}{{"median wall", wallOf}, {"median CPU (user+sys)", cpuOf}} {
			line := fmt.Sprintf("| %s | %s |", o.name, m.name)
			for _, a := range agents {
				line += " " + ms(median(r[a.name], m.f)) + " |"
			}
			for _, a := range agents[1:] {
				line += fmt.Sprintf(" %.1fx |", float64(median(r["IPaddr2"], m.f))/float64(max(median(r[a.name], m.f), time.Microsecond)))
			}
			fmt.Println(line)
		}
		line := fmt.Sprintf("| %s | peak RSS, largest process (/usr/bin/time) |", o.name)
		for _, a := range agents {
			line += fmt.Sprintf(" %d KiB |", peaks[o.name][a.name])
		}
		fmt.Println(line + strings.Repeat(" |", len(agents)-1))
		line = fmt.Sprintf("| %s | child processes (strace) |", o.name)
		for _, a := range agents {
			line += fmt.Sprintf(" %d |", children[o.name][a.name])
		}
		fmt.Println(line + strings.Repeat(" |", len(agents)-1))
	}
	// What starting a process costs here, whatever it then does, beside
	// vip's monitor (the same environment as the table's first row).
	// The address is up again for the monitor.
	monitorEnv := append(append([]string{}, base...), ops[0].env...)
	if _, err := exec1(agents[1], "start", base, 0); err != nil {
		return err
	}
	if err := printFloor(agents[1:], base, monitorEnv, runs); err != nil {
		return err
	}
	if _, err := exec1(agents[1], "stop", base, 0); err != nil {
		return err
	}
	return nil
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond)) }

func wallOf(s sample) time.Duration { return s.wall }
func cpuOf(s sample) time.Duration  { return s.cpu }

func median(ss []sample, f func(sample) time.Duration) time.Duration {
	v := make([]time.Duration, len(ss))
	for i, s := range ss {
		v[i] = f(s)
	}
	return testutil.Median(v)
}
