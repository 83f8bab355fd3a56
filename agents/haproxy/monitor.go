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
	if sock != "" {
		out, err := Query(ctx, sock, "show stat")
		if err == nil || ctx.Err() != nil {
			return out, err
		}
		in.log.Warnf("stats socket: %v; asking the worker through the master socket", err)
	}
	return in.workerQuery(ctx, worker, "show stat")
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
	if msg := judgeStats(rows, in.backends, disabled); msg != "" {
		return ocf.Generic("depth 10: %s", msg)
	}
	return nil
}

// serverUp reports whether a server's status takes traffic.
func serverUp(status string) bool {
	return strings.HasPrefix(status, "UP") || status == "no check"
}

// judgeStats returns what is wrong in the statistics, "" when nothing:
// every frontend not disabled in the configuration must be OPEN (or FULL),
// and each backend in want (default: every backend with servers) must have
// a server UP.
func judgeStats(rows []Stat, want []string, disabled map[string]bool) string {
	var badFE []string
	servers := map[string][]Stat{}
	var order []string
	for _, r := range rows {
		switch r.Service {
		case "FRONTEND":
			if r.Status != "OPEN" && r.Status != "FULL" && !disabled[r.Proxy] {
				badFE = append(badFE, fmt.Sprintf("%s (%s)", r.Proxy, r.Status))
			}
		case "BACKEND":
		default:
			if _, ok := servers[r.Proxy]; !ok {
				order = append(order, r.Proxy)
			}
			servers[r.Proxy] = append(servers[r.Proxy], r)
		}
	}
	if len(want) == 0 {
		for _, b := range order {
			if !disabled[b] {
				want = append(want, b)
			}
		}
	}
	var badBE []string
	for _, b := range want {
		srv, ok := servers[b]
		if !ok {
			badBE = append(badBE, b+" (not in the running configuration)")
			continue
		}
		up := false
		var st []string
		for _, s := range srv {
			if serverUp(s.Status) {
				up = true
				break
			}
			st = append(st, s.Service+" "+s.Status)
		}
		if !up {
			sort.Strings(st)
			badBE = append(badBE, fmt.Sprintf("%s (%s)", b, strings.Join(st, ", ")))
		}
	}
	var msg []string
	if len(badFE) > 0 {
		msg = append(msg, "frontends not OPEN: "+strings.Join(badFE, ", "))
	}
	if len(badBE) > 0 {
		msg = append(msg, "backends without a server UP: "+strings.Join(badBE, "; "))
	}
	return strings.Join(msg, "; ")
}
