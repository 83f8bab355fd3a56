package openstack

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/stackha/stackha/agents/internal/pcmktool"
	"github.com/stackha/stackha/instance"
	"github.com/stackha/stackha/ocf"
)

// Drain before stop. oslo.middleware's healthcheck answers 503 at
// /healthcheck while its disable file exists (disable_by_file_path), and
// every haproxy that checks the service there (render points the backends'
// checks at it) takes it out after its failed checks: it sends it no new
// request. Stop, with drain_timeout, creates that file, waits drain_checks
// (how long the checks take, which render knows), then until the service
// holds no request (sock_diag: no connection to its port that is busy),
// and only then stops it; a budget spent is a warning, never a failed
// stop. A service that does not answer its version document (the stop of
// a recovery) is not drained. Start removes the file. A service without the middleware
// (placement) is drained through haproxy's agent-check instead: its drain
// agent (agentcheck.go) answers "drain" from the drain's start on.

// stopReserve is what drain leaves of the stop's timeout for the stop
// itself.
const stopReserve = 10 * time.Second

// drainPoll is how often drain looks at the service's connections.
const drainPoll = 100 * time.Millisecond

// busyAfter: a connection that sent nothing for this long, after its
// last request was answered, is an idle keep-alive connection (haproxy
// keeps some to an eventlet service), not a request in flight.
const busyAfter = time.Second

// conn is what drain needs of one TCP connection to the service's port.
type conn struct {
	state            uint8 // tcp_states.h
	sinceRecv        time.Duration
	sinceSent        time.Duration
	unacked, wqueued uint32
}

// TCP states (tcp_states.h) of a connection that holds a request.
const (
	tcpEstablished = 1
	tcpCloseWait   = 8
)

// busy reports whether the connection holds a request: open, and either
// data waits to be sent or acknowledged, or the last thing that happened
// on it was a request (it came after the last answer), or it sent within
// busyAfter (an answer being streamed).
func (c conn) busy() bool {
	if c.state != tcpEstablished && c.state != tcpCloseWait {
		return false
	}
	return c.unacked > 0 || c.wqueued > 0 || c.sinceRecv <= c.sinceSent || c.sinceSent < busyAfter
}

// parseDrain reads the drain parameters: drain_file where the profile
// has a disable file, drain_agent_port where it has none.
func (c *Config) parseDrain(params ocf.Params) error {
	c.DrainTimeout = params.Duration("drain_timeout")
	c.DrainChecks = params.Duration("drain_checks")
	if c.Profile.DrainFile == "" {
		c.DrainAgentPort = params.Int("drain_agent_port")
		if c.DrainTimeout != 0 && c.DrainAgentPort == 0 {
			return ocf.Configured("drain_timeout %s needs drain_agent_port: %s has no healthcheck haproxy could be told with", c.DrainTimeout, c.Profile.Name)
		}
		return nil
	}
	c.DrainFile = params.String("drain_file")
	if c.DrainTimeout == 0 {
		return nil
	}
	if err := instance.CheckPath("drain_file", c.DrainFile); err != nil {
		return ocf.Configured("%v", err)
	}
	if filepath.Dir(c.DrainFile) == "/" {
		return ocf.Configured("drain_file %s: want a file in the service's configuration directory, not in /", c.DrainFile)
	}
	if c.User == "" {
		return ocf.Configured("drain_timeout %s needs user (the owner of drain_file's directory)", c.DrainTimeout)
	}
	return nil
}

// drainer is what drain does to the node, a fake in tests.
type drainer struct {
	conns    func(port int) ([]conn, error)
	answers  func(ctx context.Context, c *Config) error
	disabled func(ctx context.Context, c *Config) error
	// agent makes the drain agent say "drain" (a service without the
	// healthcheck).
	agent func(ctx context.Context, c *Config) error
	now   func() time.Time
	sleep func(ctx context.Context, d time.Duration) error
	// quorate asks whether this node's partition has quorum (nil:
	// unknown).
	quorate func(ctx context.Context) (bool, error)
}

var system = drainer{conns: kernelConns, answers: answers, disabled: healthcheckDisabled, agent: agentDrains, now: time.Now, sleep: ocf.Sleep,
	quorate: func(ctx context.Context) (bool, error) { return pcmktool.Quorate(ctx, pcmktool.Run) }}

// answers asks the service's version document (depth 0's request).
func answers(ctx context.Context, c *Config) error {
	client, err := newClient(c.CAFile)
	if err != nil {
		return err
	}
	_, err = getVersions(ctx, client, c)
	return err
}

// drain takes the service out of every haproxy and waits for the requests
// it holds; it returns when stop may go on.
func (d drainer) drain(ctx context.Context, c *Config, log *ocf.Logger) {
	if c.DrainTimeout == 0 {
		return
	}
	t0 := d.now()
	budget := c.DrainTimeout
	if dl, ok := ctx.Deadline(); ok {
		if left := dl.Sub(t0) - stopReserve; left < budget {
			log.Warnf("drain: drain_timeout %s cut to %s: the stop's timeout must leave %s for the stop itself", c.DrainTimeout, max(left, 0).Round(time.Second), stopReserve)
			budget = left
		}
	}
	if budget <= 0 {
		return
	}
	// A partition without quorum stops its resources for the majority,
	// which takes over once it has fenced this node: a drain would hold
	// the stop (the haproxies of a node cut from the others never take
	// this service out) and finishes nothing that outlives the fencing.
	// Quorum unknown (no controller): the drain.
	if d.quorate != nil {
		if q, err := d.quorate(ctx); err == nil && !q {
			log.Infof("drain: skipped, this node's partition has no quorum (the majority takes over once it has fenced this node)")
			return
		}
	}
	// A service that does not answer (the failure this stop recovers
	// from: hung, dying) has nothing to finish: no drain.
	if err := d.answers(ctx, c); err != nil {
		log.Infof("drain: skipped, %s does not answer: %v", c.Profile.Name, err)
		return
	}
	if c.DrainFile == "" {
		if err := d.agent(ctx, c); err != nil {
			log.Warnf("drain: %v; stopping without a drain", err)
			return
		}
		log.Infof("drain: the drain agent on %s answers drain; haproxy's agent-checks take %s out within %s", agentListen(c), c.Profile.Name, c.DrainChecks)
	} else {
		if err := setDrainFile(c, true); err != nil {
			log.Warnf("drain: %v; stopping without a drain", err)
			return
		}
		log.Infof("drain: created %s; haproxy's checks take %s out within %s", c.DrainFile, c.Profile.Name, c.DrainChecks)
		if err := d.disabled(ctx, c); err != nil {
			log.Warnf("drain: %v", err)
		}
	}
	end := t0.Add(budget)
	if err := d.sleep(ctx, min(c.DrainChecks, budget)); err != nil {
		return
	}
	for {
		busy, err := d.busy(c.Port)
		if err != nil {
			log.Warnf("drain: %v; stopping", err)
			return
		}
		if busy == 0 {
			log.Infof("drain: %s holds no request %s after the drain began; stopping it", c.Profile.Name, d.now().Sub(t0).Round(time.Millisecond))
			return
		}
		if !d.now().Before(end) {
			log.Warnf("drain: %s still holds %d requests after %s (drain_timeout); stopping it", c.Profile.Name, busy, budget)
			return
		}
		if err := d.sleep(ctx, min(drainPoll, end.Sub(d.now()))); err != nil {
			return
		}
	}
}

// healthcheckDisabled asks the service's healthcheck (on its url's host
// and port) whether the disable file took effect: nil when it answers 503.
func healthcheckDisabled(ctx context.Context, c *Config) error {
	client, err := newClient(c.CAFile)
	if err != nil {
		return err
	}
	u := *c.URL
	u.Path, u.RawQuery = c.Profile.HealthcheckPath, ""
	req, err := http.NewRequest(http.MethodGet, u.String(), nil)
	if err != nil {
		return err
	}
	req.Header.Set("User-Agent", "stackha/"+ocf.Version)
	a, err := do(ctx, client, req, c.ProbeTimeout)
	if err != nil {
		return fmt.Errorf("%v: whether haproxy takes it out is not known", err)
	}
	if a.status != http.StatusServiceUnavailable {
		hint := ""
		if c.Profile.DrainConfDir != "" {
			hint = fmt.Sprintf(" (is stackha render's drop-in in %s?)", c.Profile.DrainConfDir)
		}
		return fmt.Errorf("GET %s answered %s, not 503, with %s present: its healthcheck does not read that file%s, so haproxy keeps sending it requests",
			u.String(), instance.Quote(a.statusText), c.DrainFile, hint)
	}
	return nil
}

// busy counts the connections to port that hold a request.
func (d drainer) busy(port int) (int, error) {
	cs, err := d.conns(port)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, c := range cs {
		if c.busy() {
			n++
		}
	}
	return n, nil
}

// undrain removes the disable file before the service starts, so that
// haproxy's checks put it back once it answers.
func undrain(c *Config, log *ocf.Logger) error {
	if c.DrainTimeout == 0 || c.DrainFile == "" {
		return nil
	}
	if err := setDrainFile(c, false); err != nil {
		return ocf.Generic("drain: %v", err)
	}
	log.Debugf("drain: removed %s", c.DrainFile)
	return nil
}

// setDrainFile creates (on) or removes the disable file. Its directory
// (/etc/glance) belongs to the service user, who may have put anything
// there: it is opened component by component without following a link,
// the file is written by rename (a link in its place is replaced, never
// followed) and removed by unlinkat.
func setDrainFile(c *Config, on bool) error {
	acct, err := lookupUser(c.User)
	if err != nil {
		return err
	}
	dir, err := instance.OpenDir(filepath.Dir(c.DrainFile), acct.trust())
	if err != nil {
		return err
	}
	defer dir.Close()
	name := filepath.Base(c.DrainFile)
	if !on {
		return dir.Remove(name)
	}
	text := fmt.Sprintf("drained by stackha (%s) before its stop; its start removes this file\n", c.Instance)
	return dir.WriteAtomic(name, []byte(text), 0o644)
}

// kernelConns lists the TCP connections to port in this network namespace
// (sock_diag, with tcp_info).
func kernelConns(port int) ([]conn, error) {
	var out []conn
	for _, fam := range []uint8{unix.AF_INET, unix.AF_INET6} {
		socks, err := netlink.SocketDiagTCPInfo(fam)
		if err != nil {
			return nil, fmt.Errorf("listing TCP connections: %w", err)
		}
		for _, s := range socks {
			m, ti := s.InetDiagMsg, s.TCPInfo
			if m == nil || ti == nil || int(m.ID.SourcePort) != port {
				continue
			}
			out = append(out, conn{state: m.State, unacked: ti.Unacked, wqueued: m.WQueue,
				sinceRecv: time.Duration(ti.Last_data_recv) * time.Millisecond,
				sinceSent: time.Duration(ti.Last_data_sent) * time.Millisecond})
		}
	}
	return out, nil
}
