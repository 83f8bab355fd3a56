package harness

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"
)

// Close stops the cluster (resources, then pacemakerd, then corosync, by
// recorded pid), kills by pid whatever still runs in the harness's
// namespaces, removes mounts, namespaces and files, and checks that nothing
// is left. It is safe to call twice.
func (c *Cluster) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	c.mu.Unlock()
	t0 := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var errs []error
	// No power action from now on (the switch waits for one in progress).
	if c.power != nil {
		errs = append(errs, c.power.Close())
	}
	c.waitPower()
	if c.lab != nil {
		c.log.Printf("teardown: stopping all resources, then the pacemaker and corosync units")
		errs = append(errs, c.stopDaemons(ctx, "load-cpu", 5*time.Second), c.stopDaemons(ctx, "load-io", 5*time.Second))
		if !c.opts.Stateful && !c.opts.Keepalived {
			if c.stopResources(ctx) {
				errs = append(errs, c.watchersLeft(ctx))
			}
			errs = append(errs, c.stopUnits(ctx))
		}
		// The stateful tier is powered off as it runs: Galera's and
		// RabbitMQ's stops outlast the harness's wait (a minute), and
		// nothing needs them before the power-off.
		// Powers every node off, saves its journal and logs (LogDir) and
		// checks that nothing of the nodes is left.
		errs = append(errs, c.lab.Close())
	} else if len(c.procs) > 0 {
		c.log.Printf("teardown: stopping all resources, then pacemakerd and corosync by pid")
		// The load first: the stops need not wait for the CPU.
		errs = append(errs, c.stopDaemons(ctx, "load-cpu", 5*time.Second), c.stopDaemons(ctx, "load-io", 5*time.Second))
		if c.stopResources(ctx) {
			errs = append(errs, c.watchersLeft(ctx))
		}
		errs = append(errs, c.stopDaemons(ctx, "pacemakerd", 60*time.Second))
		errs = append(errs, c.stopDaemons(ctx, "corosync", 20*time.Second))
	}
	errs = append(errs, c.stopInits(ctx))
	c.saveLogs()
	errs = append(errs, removeAll(ctx, c.log))
	if c.lock != nil {
		errs = append(errs, c.leakCheck())
	}
	if c.lock != nil {
		c.lock.Close()
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	c.log.Printf("teardown done, nothing left behind (%s)", time.Since(t0).Round(time.Millisecond))
	return nil
}

// stopResources stops every resource (stop-all-resources) through the
// first node that takes the request, and reports whether the cluster said
// they all stopped.
func (c *Cluster) stopResources(ctx context.Context) bool {
	for _, n := range c.Nodes {
		if c.Pid(n, "pacemakerd") == 0 {
			continue
		}
		sctx, cancel := context.WithTimeout(ctx, 60*time.Second)
		_, err := n.Run(sctx, "crm_attribute", "-t", "crm_config", "-n", "stop-all-resources", "-v", "true")
		asked := err == nil
		if asked {
			_, err = n.Run(sctx, "crm_resource", "--wait", "--timeout", "50s")
		}
		cancel()
		if err == nil {
			return true
		}
		c.log.Printf("  stopping resources through %s: %v", n.Name, err)
		if asked {
			// The cluster took the request and is stopping; waiting
			// through another node would only wait longer (Galera's
			// and RabbitMQ's stops can outlast it): the units' stop
			// and the power-off come next.
			return false
		}
	}
	return false
}

// watcherHelpers are the event watchers' names (argv[1] of the detached
// copy of the agent, issue 27).
var watcherHelpers = []string{"vip-watch", "haproxy-watch"}

// watchersLeft fails when an event watcher still runs on a node the
// cluster has online once every resource has stopped: a watcher that
// outlived its instance (stop ends it before anything else). A node out
// of the cluster stopped nothing (fault 8 without fencing leaves one out,
// its VIP, haproxy and their watchers running as they were).
func (c *Cluster) watchersLeft(ctx context.Context) error {
	st, err := c.Status(ctx)
	if err != nil {
		c.log.Printf("  no check for event watchers left: no cluster status (%v)", err)
		return nil
	}
	online := map[string]bool{}
	for _, ns := range st.Nodes {
		online[ns.Name] = ns.Online
	}
	var left []string
	for _, n := range c.Nodes {
		if !online[n.Name] {
			continue
		}
		out, err := Run(ctx, "ip", "netns", "pids", Prefix+n.Name)
		if err != nil {
			return fmt.Errorf("processes of %s: %w", n.Name, err)
		}
		for _, f := range strings.Fields(out) {
			data, err := os.ReadFile(filepath.Join("/proc", f, "cmdline"))
			argv := strings.Split(string(data), "\x00")
			if err == nil && len(argv) > 1 && slices.Contains(watcherHelpers, argv[1]) {
				left = append(left, fmt.Sprintf("%s on %s (pid %s)", argv[1], n.Name, f))
			}
		}
	}
	if len(left) > 0 {
		return fmt.Errorf("leak: event watchers outlived their instances (every resource stopped): %s", strings.Join(left, ", "))
	}
	return nil
}

// stopDaemons sends SIGTERM to the named daemon on every node (by recorded
// pid) and waits; SIGKILL after the grace period.
func (c *Cluster) stopDaemons(ctx context.Context, name string, grace time.Duration) error {
	c.mu.Lock()
	var ps []*proc
	for _, p := range c.procs {
		if strings.HasSuffix(p.name, "/"+name) {
			ps = append(ps, p)
		}
	}
	c.mu.Unlock()
	for _, p := range ps {
		select {
		case <-p.done:
		default:
			if p.pid != 0 {
				syscall.Kill(p.pid, syscall.SIGTERM)
			}
		}
	}
	var errs []error
	for _, p := range ps {
		select {
		case <-p.done:
		case <-time.After(grace):
			c.log.Printf("  %s did not stop within %s: SIGKILL to pid %d", p.name, grace, p.pid)
			if p.pid != 0 {
				syscall.Kill(p.pid, syscall.SIGKILL)
			}
			select {
			case <-p.done:
			case <-ctx.Done():
				errs = append(errs, fmt.Errorf("%s (pid %d) survived SIGKILL", p.name, p.pid))
			}
		}
	}
	return errors.Join(errs...)
}

// stopInits kills each node's init (pid 1 of the node's PID namespace) by
// its recorded pid: the kernel then kills whatever still ran in the node.
func (c *Cluster) stopInits(ctx context.Context) error {
	var errs []error
	for _, n := range c.Nodes {
		if n.init == nil {
			continue
		}
		n.init.cmd.Process.Kill()
		select {
		case <-n.init.done:
		case <-ctx.Done():
			errs = append(errs, fmt.Errorf("%s's init (pid %d) survived SIGKILL", n.Name, n.init.cmd.Process.Pid))
		}
	}
	// The kernel kills the rest of each PID namespace: let it finish.
	for i := 0; i < 50 && len(nsPids(ctx)) > 0; i++ {
		time.Sleep(20 * time.Millisecond)
	}
	return errors.Join(errs...)
}

func (c *Cluster) saveLogs() {
	if c.opts.LogDir == "" {
		return
	}
	for _, n := range c.Nodes {
		dst := filepath.Join(c.opts.LogDir, n.Name)
		os.MkdirAll(dst, 0o755)
		for _, src := range []string{"log/corosync.log", "log/pacemakerd.log", "log-pacemaker/pacemaker.log"} {
			if data, err := os.ReadFile(filepath.Join(n.dir, src)); err == nil {
				os.WriteFile(filepath.Join(dst, filepath.Base(src)), data, 0o644)
			}
		}
	}
	// The scheduler's inputs (pe-input-N.bz2): crm_simulate -x replays
	// each transition the DC ran, its graph included.
	for _, n := range c.Nodes {
		src := filepath.Join(n.dir, "lib-pacemaker", "pengine")
		if ents, err := os.ReadDir(src); err == nil && len(ents) > 0 {
			dst := filepath.Join(c.opts.LogDir, n.Name, "pengine")
			os.MkdirAll(dst, 0o755)
			for _, e := range ents {
				if data, err := os.ReadFile(filepath.Join(src, e.Name())); err == nil {
					os.WriteFile(filepath.Join(dst, e.Name()), data, 0o644)
				}
			}
		}
	}
	for _, f := range []string{"cluster.crm", "haproxy.cfg"} {
		if data, err := os.ReadFile(filepath.Join(BaseDir, f)); err == nil {
			os.WriteFile(filepath.Join(c.opts.LogDir, f), data, 0o644)
		}
	}
}
