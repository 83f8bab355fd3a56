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
	if s.viaSocket {
		in.log.Warnf("the pid file %s does not name the master; its socket does (pid %d)", in.pidfile, s.master)
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

// statsSource is where the depth-10 check reads "show stat": the stats
// socket when one is set or declared at admin level, else the current
// worker through the master.
func (in *instance) showStat(ctx context.Context, worker int) (string, error) {
	sock := in.statsSocket
	if sock == "" {
		if c, err := LoadConfig(in.configs); err == nil {
			sock = c.AdminSocket()
		}
	}
	if sock == "" {
		return in.workerQuery(ctx, worker, "show stat")
	}
	out, err := Query(ctx, sock, "show stat")
	if err == nil || ctx.Err() != nil {
		return out, err
	}
	in.log.Warnf("stats socket: %v; asking the worker through the master socket", err)
	out, merr := in.workerQuery(ctx, worker, "show stat")
	if merr != nil {
		return "", fmt.Errorf("stats socket: %w; through the master: %w", err, merr)
	}
	return out, nil
}

func (in *instance) deepCheck(ctx context.Context, worker int) error {
	out, err := in.showStat(ctx, worker)
	if err != nil {
		return ocf.Generic("depth 10: %v", err)
	}
	rows, err := ParseShowStat(out)
	if err != nil {
		return ocf.Generic("depth 10: %v", err)
	}
	disabled := map[string]bool{}
	if c, err := LoadConfig(in.configs); err == nil {
		for _, p := range c.Proxies {
			if p.Disabled {
				disabled[p.Name] = true
			}
		}
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
	return fmt.Sprintf("%s%s and %d more", strings.Join(items[:maxListed], sep), sep, len(items)-maxListed)
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
