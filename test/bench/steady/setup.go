package steady

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/stackha/stackha/internal/testutil/openstacktest"
	"github.com/stackha/stackha/internal/testutil/sandbox"
	"github.com/vishvananda/netns"
)

// rig is the set-up the checks run against: the agents' links to the
// binary, the sandboxes and what undoes them.
type rig struct {
	dir, links string
	stackha    string // absolute path of the binary
	ipaddr2    string
	tag        string // unique suffix of resource instances
	cleanups   []func()
	vipNS      string
	vipParams  map[string]string
	haproxy    map[string]string
	api        map[string]map[string]string // agent -> params of its running service
	host       map[string]string            // agent -> the service it runs against
	notes      []string
	instances  map[string]bool // resource instances the agents ran as
}

// stateRoot is where the agents keep their state, a directory per resource
// instance (ocf.Request.StateDir).
const stateRoot = "/run/stackha"

func (g *rig) close() {
	for i := len(g.cleanups) - 1; i >= 0; i-- {
		g.cleanups[i]()
	}
	for inst := range g.instances {
		os.RemoveAll(filepath.Join(stateRoot, inst))
	}
}

// link is the agent's path as Pacemaker runs it: a link named after the
// agent to the binary.
func (g *rig) link(agent string) (string, error) {
	p := filepath.Join(g.links, agent)
	if _, err := os.Lstat(p); err == nil {
		return p, nil
	}
	return p, os.Symlink(g.stackha, p)
}

// env is what Pacemaker gives an agent for one action: the parameters as
// OCF_RESKEY_*, the operation's interval and timeout, the depth.
func (g *rig) env(agent string, params map[string]string, m Monitor, timeout time.Duration) []string {
	inst := "steady-" + agent + "-" + g.tag
	g.instances[inst] = true
	e := []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "OCF_ROOT=/usr/lib/ocf", "OCF_RA_VERSION_MAJOR=1", "OCF_RA_VERSION_MINOR=0",
		"OCF_RESOURCE_INSTANCE=" + inst, "HA_LOGFACILITY=none", "HA_LOGFILE=/dev/null",
		"HA_RSCTMP=" + filepath.Join(g.dir, "rsctmp"),
		"OCF_RESKEY_CRM_meta_timeout=" + strconv.FormatInt(timeout.Milliseconds(), 10)}
	if m.Interval > 0 {
		e = append(e, "OCF_RESKEY_CRM_meta_interval="+strconv.FormatInt(m.Interval.Milliseconds(), 10))
	}
	if m.DepthSet || m.Depth > 0 {
		e = append(e, "OCF_CHECK_LEVEL="+strconv.Itoa(m.Depth))
	}
	for k, v := range params {
		e = append(e, "OCF_RESKEY_"+k+"="+v)
	}
	return e
}

// agentCmd is one action of a stackha agent.
func (g *rig) agentCmd(agent, action string, params map[string]string, m Monitor, timeout time.Duration) (*exec.Cmd, error) {
	p, err := g.link(agent)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(p, action)
	cmd.Env = g.env(agent, params, m, timeout)
	return cmd, nil
}

// action runs one non-recurring action of a stackha agent (start, stop).
func (g *rig) action(agent, action string, params map[string]string, ns string) error {
	cmd, err := g.agentCmd(agent, action, params, Monitor{}, 120*time.Second)
	if err != nil {
		return err
	}
	return inNetns(ns, func() error { _, err := ExecCPU(cmd, 0); return err })
}

// inNetns runs f on this thread inside the named network namespace ("" for
// the current one): the processes f starts are forked from this thread and
// live there.
func inNetns(name string, f func() error) error {
	if name == "" {
		return f()
	}
	runtime.LockOSThread()
	orig, err := netns.Get()
	if err != nil {
		runtime.UnlockOSThread()
		return err
	}
	defer orig.Close()
	target, err := netns.GetFromName(name)
	if err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("namespace %s: %w", name, err)
	}
	defer target.Close()
	if err := netns.Set(target); err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("entering %s: %w", name, err)
	}
	ferr := f()
	if err := netns.Set(orig); err != nil {
		// the thread stays locked to this goroutine and is never reused
		return fmt.Errorf("leaving %s: %w", name, err)
	}
	runtime.UnlockOSThread()
	return ferr
}

// setupVIP makes vip's sandbox (an address on a veth in a namespace) and
// starts the address with vip's own start. Both agents then run inside the
// namespace with the same parameters, the how-to's way (no network_namespace).
func (g *rig) setupVIP(ctx context.Context) error {
	f, ok := sandbox.Lookup(agentVIP)
	if !ok {
		return fmt.Errorf("no vip sandbox registered")
	}
	sb, err := f(ctx, g.dir)
	if err != nil {
		return fmt.Errorf("vip sandbox: %w", err)
	}
	if sb.Cleanup != nil {
		g.cleanups = append(g.cleanups, sb.Cleanup)
	}
	g.vipNS = sb.Params["network_namespace"]
	g.vipParams = map[string]string{}
	for k, v := range sb.Params {
		if k != "network_namespace" {
			g.vipParams[k] = v
		}
	}
	if err := g.action(agentVIP, "start", g.vipParams, g.vipNS); err != nil {
		return fmt.Errorf("vip start: %w", err)
	}
	g.cleanups = append(g.cleanups, func() { g.action(agentVIP, "stop", g.vipParams, g.vipNS) })
	return nil
}

// setupHAProxy makes haproxy's sandbox (a loopback configuration) and
// starts it with the agent's own start.
func (g *rig) setupHAProxy(ctx context.Context) error {
	f, ok := sandbox.Lookup(agentHAProxy)
	if !ok {
		return fmt.Errorf("no haproxy sandbox registered")
	}
	d := filepath.Join(g.dir, "haproxy")
	if err := os.Mkdir(d, 0o700); err != nil {
		return err
	}
	sb, err := f(ctx, d)
	if err != nil {
		return fmt.Errorf("haproxy sandbox: %w", err)
	}
	if sb.Cleanup != nil {
		g.cleanups = append(g.cleanups, sb.Cleanup)
	}
	if err := g.action(agentHAProxy, "start", sb.Params, ""); err != nil {
		return fmt.Errorf("haproxy start: %w", err)
	}
	g.haproxy = sb.Params
	g.cleanups = append(g.cleanups, func() { g.action(agentHAProxy, "stop", sb.Params, "") })
	return nil
}

// Host is the service an API agent without a local service of its own is
// run against: its own code (start, monitor) with Host's program, config
// and user.
const Host = "glance-api"

// setupAPI makes an API agent's sandbox (a real service from Debian on
// loopback) and starts it with the agent's own start. An agent without a
// sandbox runs on a Host service of its own instead; one that cannot run
// here at all is left out (StandIn's monitor is measured in its place),
// unless it is StandIn itself.
func (g *rig) setupAPI(ctx context.Context, agent string) error {
	box, service := agent, agent
	if _, ok := sandbox.Lookup(agent); !ok {
		box, service = Host, Host
	}
	f, ok := sandbox.Lookup(box)
	if !ok {
		return fmt.Errorf("no %s sandbox registered", box)
	}
	d, err := os.MkdirTemp(g.dir, agent+"-")
	if err != nil {
		return err
	}
	fail := func(what string, err error) error {
		if agent == StandIn {
			return fmt.Errorf("%s: %s: %w", agent, what, err)
		}
		g.notes = append(g.notes, fmt.Sprintf("%s: %s (%s); %s's monitor measured in its place", agent, what, firstLine(err), StandIn))
		return nil
	}
	sb, err := f(ctx, d)
	if err != nil {
		return fail(box+" sandbox fails", err)
	}
	if sb.Cleanup != nil {
		g.cleanups = append(g.cleanups, sb.Cleanup)
	}
	params := map[string]string{}
	for k, v := range sb.Params {
		params[k] = v
	}
	if box != agent {
		// the agent runs the host's program (its default is its own)
		bin, err := openstacktest.DefaultBinary(box)
		if err != nil {
			return fail("no program to run", err)
		}
		params["binary"] = bin
	}
	if err := g.action(agent, "start", params, ""); err != nil {
		g.action(agent, "stop", params, "")
		return fail("start on a "+service+" service fails", err)
	}
	g.cleanups = append(g.cleanups, func() { g.action(agent, "stop", params, "") })
	g.api[agent] = params
	g.host[agent] = service
	return nil
}

// firstLine is an error's first line, from the agent's exit reason when it
// gave one, capped.
func firstLine(err error) string {
	s := err.Error()
	if _, r, ok := strings.Cut(s, "ocf-exit-reason:"); ok {
		s = r
	}
	s, _, _ = strings.Cut(s, "\n")
	if len(s) > 200 {
		s = s[:200] + "..."
	}
	return strings.TrimSpace(s)
}

// serviceCPU reads the CPU of the session the service's pid file names.
func serviceCPU(pidfile string) (func() (time.Duration, error), error) {
	sid, err := ReadPID(pidfile)
	if err != nil {
		return nil, err
	}
	return func() (time.Duration, error) { return SessionCPU(sid) }, nil
}
