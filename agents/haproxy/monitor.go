package haproxy

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/stackha/stackha/ocf"
)

func (in *instance) monitor(ctx context.Context) error {
	s, err := in.inspect(ctx)
	if err != nil {
		return ocf.Generic("%v", err)
	}
	if s.stale != "" {
		in.log.Infof("%s", s.stale)
	}
	if s.pidfileOff {
		in.log.Warnf("the pid file %s does not name the master (pid %d)", in.pidfile, s.master)
	}
	if err := in.health(s); err != nil {
		if errors.Is(err, errStopped) {
			if s.stale != "" {
				return ocf.Stopped("%v: %s", err, s.stale)
			}
			return ocf.Stopped("%v", err)
		}
		return ocf.Generic("%v", err)
	}
	if in.checkLevel < 10 {
		return nil
	}
	return in.deepCheck(ctx, s.worker())
}

// The depth-10 check asks for the frontends' rows of "show stat" (type 1)
// and for "show servers state", a fifth of the size of the servers' rows
// of "show stat": at 1,000 backends the answer is what the check costs.
const (
	frontendsCmd = "show stat -1 1 -1"
	serversCmd   = "show servers state"
)

// runtimeQuery asks the workers' runtime API: through the stats socket
// when one is set or declared at admin level, else (or when it does not
// answer) the current worker through the master.
func (in *instance) runtimeQuery(ctx context.Context, worker int, cmd string) (string, error) {
	sock := in.statsSocket
	if sock == "" {
		sock = in.summary().AdminSocket
	}
	if sock == "" || in.viaMaster {
		return in.workerQuery(ctx, worker, cmd)
	}
	out, err := Query(ctx, sock, cmd)
	if err == nil || ctx.Err() != nil {
		return out, err
	}
	in.log.Warnf("stats socket: %v; asking the worker through the master socket", err)
	in.viaMaster = true
	out, merr := in.workerQuery(ctx, worker, cmd)
	if merr != nil {
		return "", fmt.Errorf("stats socket: %w; through the master: %w", err, merr)
	}
	return out, nil
}

// stats reads the frontends' and the servers' status.
func (in *instance) stats(ctx context.Context, worker int) ([]Stat, error) {
	out, err := in.runtimeQuery(ctx, worker, frontendsCmd)
	if err != nil {
		return nil, err
	}
	rows, err := ParseShowStat(out)
	if err != nil {
		return nil, err
	}
	if out, err = in.runtimeQuery(ctx, worker, serversCmd); err != nil {
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

func (in *instance) deepCheck(ctx context.Context, worker int) error {
	rows, err := in.stats(ctx, worker)
	if err != nil {
		return ocf.Generic("depth 10: %v", err)
	}
	disabled := map[string]bool{}
	for _, d := range in.summary().Disabled {
		disabled[d] = true
	}
	j := judgeStats(rows, in.backends, disabled)
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
// server UP. Every text from the statistics is clipped.
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
				badFE = append(badFE, fmt.Sprintf("%s (%s)", clip(r.Proxy), clip(r.Status)))
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
			badBE = append(badBE, clip(b)+" (not in the running configuration)")
			continue
		}
		up := false
		var lost []string
		for _, s := range srv {
			if serverUp(s.Status) {
				up = true
			} else if serverLost(s.Status) {
				lost = append(lost, clip(s.Service)+" "+clip(s.Status))
			}
		}
		sort.Strings(lost)
		switch {
		case !up:
			var st []string
			for _, s := range srv {
				st = append(st, clip(s.Service)+" "+clip(s.Status))
			}
			sort.Strings(st)
			badBE = append(badBE, fmt.Sprintf("%s (%s)", clip(b), listCapped(st, ", ")))
		case len(lost) > 0:
			lostBE = append(lostBE, fmt.Sprintf("%s (%s)", clip(b), listCapped(lost, ", ")))
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
