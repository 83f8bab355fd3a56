package haproxy

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/stackha/stackha/instance"
	"github.com/stackha/stackha/ocf"
)

func (o *op) monitor(ctx context.Context) error {
	err := o.check(ctx)
	o.watchAfter(err)
	if err == nil && o.req != nil && o.req.Probe() {
		// Found running by a probe (Pacemaker restarted here): the
		// attribute went with this node's last membership.
		o.publishListening(ctx, true)
	}
	return err
}

// check is monitor's verdict.
func (o *op) check(ctx context.Context) error {
	s, err := o.inspect(ctx)
	if err != nil {
		return err
	}
	if s.stale != "" {
		o.log.Infof("%s", s.stale)
	}
	if s.pidfileOff {
		o.log.Warnf("the pid file %s does not name the master (pid %d)", o.pidfile, s.master)
	}
	if err := o.health(s); err != nil {
		if errors.Is(err, errStopped) {
			if s.stale != "" {
				return ocf.Stopped("%v: %s", err, s.stale)
			}
			return ocf.Stopped("%v", err)
		}
		return ocf.Generic("%w", err)
	}
	if o.checkLevel < 10 {
		return nil
	}
	return o.deepCheck(ctx, s.worker())
}

// The depth-10 check asks for the frontends' rows of "show stat" (type 1)
// and for "show servers state", a fifth of the size of the servers' rows
// of "show stat": at 1,000 backends the answer is what the check costs.
const (
	frontendsCmd = "show stat -1 1 -1"
	serversCmd   = "show servers state"
)

// statsTimeout bounds one question on the stats socket: one that does not
// answer leaves time to ask through the master socket.
const statsTimeout = 5 * time.Second

// statsBudget is how long a question on the stats socket may take: at
// most statsTimeout, and at most half of what is left before ctx's
// deadline (the other half is the fallback's).
func statsBudget(ctx context.Context) time.Duration {
	b := statsTimeout
	if dl, ok := ctx.Deadline(); ok {
		b = min(b, time.Until(dl)/2)
	}
	return b
}

// runtimeQuery asks the workers' runtime API: through the stats socket
// when one is set or declared at admin level and it is held by this
// haproxy (trustPeer), else (or when it does not answer in its budget) the
// current worker through the master.
func (o *op) runtimeQuery(ctx context.Context, worker int, cmd string) (string, error) {
	sock := o.statsSocket
	if sock == "" {
		sock = o.summary().AdminSocket
	}
	if sock == "" || o.viaMaster || o.launcherUnknown() {
		return o.workerQuery(ctx, worker, cmd)
	}
	peer := o.peer
	if peer == nil {
		peer = o.trustPeer
	}
	qctx, cancel := context.WithTimeout(ctx, statsBudget(ctx))
	out, err := queryPeer(qctx, sock, cmd, peer)
	cancel()
	if err == nil || ctx.Err() != nil {
		return out, err
	}
	o.log.Warnf("stats socket: %v; asking the worker through the master socket", err)
	o.viaMaster = true
	out, merr := o.workerQuery(ctx, worker, cmd)
	if merr != nil {
		return "", fmt.Errorf("stats socket: %w; through the master: %w", err, merr)
	}
	return out, nil
}

// launcherUnknown reports a record converted from stackha 0.2's, which
// did not know the launcher that holds the stats socket: the socket cannot
// be told from another, so the runtime API is asked through the master
// until haproxy is restarted.
func (o *op) launcherUnknown() bool {
	rec, err := o.record()
	return err == nil && rec != nil && rec.Launcher == 0
}

// trustPeer accepts the process holding the stats socket (the kernel's
// SO_PEERCRED: whoever called listen) only when it is this haproxy's, per
// the record: the launcher start ran (it binds the listeners, as root,
// before it daemonizes), or one of the instance's live processes, owned by
// root or the configured user. Anyone who can write the socket's directory
// could otherwise put a listener there that hangs or forges the answer.
func (o *op) trustPeer(c *unix.Ucred) error {
	rec, err := o.record()
	switch {
	case err != nil || rec == nil:
		return fmt.Errorf("no record of this haproxy to check who holds the socket against")
	case !rec.uidAllowed(c.Uid):
		return fmt.Errorf("the socket is held by uid %d (pid %d), neither root nor this haproxy's user", c.Uid, c.Pid)
	case rec.Launcher > 0 && int(c.Pid) == rec.Launcher && c.Uid == 0:
		return nil
	}
	if _, ok := o.id().check(int(c.Pid)); ok {
		return nil
	}
	return fmt.Errorf("the socket is held by pid %d (%s), not by this haproxy", c.Pid, describeProc(int(c.Pid)))
}

// stats reads the frontends' and the servers' status.
func (o *op) stats(ctx context.Context, worker int) ([]Stat, error) {
	out, err := o.runtimeQuery(ctx, worker, frontendsCmd)
	if err != nil {
		return nil, err
	}
	rows, err := ParseShowStat(out)
	if err != nil {
		return nil, err
	}
	if out, err = o.runtimeQuery(ctx, worker, serversCmd); err != nil {
		return nil, err
	}
	servers, err := ParseServersState(out)
	if err != nil {
		return nil, err
	}
	for _, s := range servers {
		rows = append(rows, Stat{Proxy: s.Backend, Service: s.Server, Status: s.Status()})
	}
	return rows, nil
}

func (o *op) deepCheck(ctx context.Context, worker int) error {
	rows, err := o.stats(ctx, worker)
	if err != nil {
		return ocf.Generic("depth 10: %w", err)
	}
	disabled := map[string]bool{}
	for _, d := range o.summary().Disabled {
		disabled[d] = true
	}
	j := judgeStats(rows, o.backends, disabled)
	switch {
	case j.failed != "":
		return ocf.Generic("depth 10: %s", j.failed)
	case j.degraded != "":
		return ocf.Degraded("depth 10: %s", j.degraded)
	}
	return nil
}

// serverUp reports whether a server's status takes traffic.
func serverUp(status string) bool {
	return strings.HasPrefix(status, "UP") || status == "no check"
}

// serverLost reports whether a server is out of service by a failure, not
// by an operator's choice (maintenance, drain).
func serverLost(status string) bool {
	return !serverUp(status) && !strings.HasPrefix(status, "MAINT") && status != "DRAIN"
}

// maxListed is how many proxies a message names before it counts the rest.
const maxListed = 10

// listCapped joins the first maxListed items and counts the rest.
func listCapped(items []string, sep string) string {
	if len(items) <= maxListed {
		return strings.Join(items, sep)
	}
	return fmt.Sprintf("%s%sand %d more", strings.Join(items[:maxListed], sep), sep, len(items)-maxListed)
}

// judgement is what the statistics say: failed is why the instance does not
// serve ("" when it does); degraded names the backends that lost some of
// their servers but keep one UP.
type judgement struct{ failed, degraded string }

// judgeStats judges the statistics: there must be a frontend, every
// frontend not disabled in the configuration must be OPEN (or FULL), and
// each backend in want (default: every backend with servers) must have a
// server UP. Every text from the statistics is quoted (instance.Quote).
func judgeStats(rows []Stat, want []string, disabled map[string]bool) judgement {
	var badFE []string
	frontends := 0
	servers := map[string][]Stat{}
	var order []string
	for _, r := range rows {
		switch r.Service {
		case "FRONTEND":
			frontends++
			if r.Status != "OPEN" && r.Status != "FULL" && !disabled[r.Proxy] {
				badFE = append(badFE, fmt.Sprintf("%s (%s)", instance.Quote(r.Proxy), instance.Quote(r.Status)))
			}
		case "BACKEND":
		default:
			if _, ok := servers[r.Proxy]; !ok {
				order = append(order, r.Proxy)
			}
			servers[r.Proxy] = append(servers[r.Proxy], r)
		}
	}
	if frontends == 0 {
		return judgement{failed: "show stat lists no frontend: the workers serve nothing"}
	}
	if len(want) == 0 {
		for _, b := range order {
			if !disabled[b] {
				want = append(want, b)
			}
		}
	}
	var badBE, lostBE []string
	for _, b := range want {
		srv, ok := servers[b]
		if !ok {
			badBE = append(badBE, instance.Quote(b)+" (not in the running configuration)")
			continue
		}
		up := false
		var lost []string
		for _, s := range srv {
			if serverUp(s.Status) {
				up = true
			} else if serverLost(s.Status) {
				lost = append(lost, instance.Quote(s.Service)+" "+instance.Quote(s.Status))
			}
		}
		sort.Strings(lost)
		switch {
		case !up:
			var st []string
			for _, s := range srv {
				st = append(st, instance.Quote(s.Service)+" "+instance.Quote(s.Status))
			}
			sort.Strings(st)
			badBE = append(badBE, fmt.Sprintf("%s (%s)", instance.Quote(b), listCapped(st, ", ")))
		case len(lost) > 0:
			lostBE = append(lostBE, fmt.Sprintf("%s (%s)", instance.Quote(b), listCapped(lost, ", ")))
		}
	}
	var j judgement
	var msg []string
	if len(badFE) > 0 {
		msg = append(msg, "frontends not OPEN: "+listCapped(badFE, ", "))
	}
	if len(badBE) > 0 {
		msg = append(msg, "backends without a server UP: "+listCapped(badBE, "; "))
	}
	j.failed = strings.Join(msg, "; ")
	if len(lostBE) > 0 {
		j.degraded = "backends that lost servers but keep one UP: " + listCapped(lostBE, "; ")
	}
	return j
}
