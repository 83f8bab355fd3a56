package haproxy

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/stackha/stackha/instance"
	"github.com/stackha/stackha/ocf"
)

func (o *op) reload(ctx context.Context) error {
	if !o.watch {
		o.endWatcher() // turned off: at once; turned on: the next monitor starts it
	}
	c, problems, s, err := o.checkAndInspect(ctx)
	if err != nil {
		return err // a rejected configuration: the running haproxy is untouched
	}
	if err := o.health(s); err != nil {
		return ocf.Generic("cannot reload: %w", err)
	}
	if len(problems) > 0 {
		return ocf.Generic("reload refused, the running haproxy is untouched: %s", describeBindProblems(problems))
	}
	if running, changed := o.commandLineChanged(s.master); changed {
		// A master reloads into its own command line: a new binary or
		// new extra arguments need a restart.
		o.log.Warnf("the command line changed (running %s): restarting haproxy", instance.Quote(running))
		if err := o.stop(ctx); err != nil {
			return err
		}
		return o.start(ctx)
	}
	statePath, err := o.statePath(c)
	if err != nil {
		return ocf.Configured("%w", err)
	}
	st, err := instance.OpenState(o.name, false)
	if err != nil {
		return fmt.Errorf("the state directory: %w", err)
	}
	defer st.Close()
	if err := o.writeConfDir(st, c); err != nil {
		return err
	}
	if rec := *o.rec; rec.StopTimeout != o.stopTimeout {
		rec.StopTimeout = o.stopTimeout
		if err := o.saveRecord(&rec); err != nil {
			return err
		}
	}
	worker := s.worker()
	dump, err := o.workerQuery(ctx, worker, "show servers state")
	if err != nil {
		return ocf.Generic("saving server state before the reload: %w", err)
	}
	saved, err := ParseServersState(dump)
	if err != nil {
		return ocf.Generic("saving server state before the reload: %w", err)
	}
	if err := writeServerState(statePath, []byte(dump)); err != nil {
		return ocf.Generic("saving server state before the reload: %w", err)
	}
	before := *s.list
	oldPids := map[int]bool{}
	for _, w := range append(before.Workers, before.Old...) {
		oldPids[w.PID] = true
	}
	o.log.Infof("reloading haproxy (master pid %d, worker %d)", s.master, worker)
	// The master re-executes itself on "reload" and drops the connection;
	// what it answers is of no use.
	var answerErr *AnswerError
	if _, err := Query(ctx, o.socket, "reload"); err != nil && !errors.As(err, &answerErr) {
		return ocf.Generic("asking the master to reload: %w", err)
	}
	fresh, err := o.waitNewWorker(ctx, before, oldPids)
	if err != nil {
		return err
	}
	if err := o.waitServing(ctx, fresh); err != nil {
		return err
	}
	o.restoreState(ctx, fresh, saved)
	o.log.Infof("haproxy reloaded: new worker %d", fresh)
	o.publishListening(ctx, true)
	return nil
}

// waitNewWorker waits for the master to report the reload: a failed one
// (its counter grows) is an error, a successful one lists a worker that did
// not exist before.
func (o *op) waitNewWorker(ctx context.Context, before ProcList, old map[int]bool) (int, error) {
	var last error
	for {
		answer, err := Query(ctx, o.socket, "show proc")
		if err == nil {
			var pl ProcList
			if pl, err = ParseShowProc(answer); err == nil {
				if pl.Master.PID != before.Master.PID {
					return 0, ocf.Generic("the master changed from pid %d to %d during the reload", before.Master.PID, pl.Master.PID)
				}
				if pl.Master.Failed > before.Master.Failed {
					return 0, ocf.Generic("haproxy reported a failed reload [failed: %d]; the previous workers keep serving (haproxy -c accepted the configuration: a listener that cannot bind, or a file it names, is the likely cause)", pl.Master.Failed)
				}
				if pl.Master.Reloads > before.Master.Reloads {
					for _, w := range pl.Workers {
						if !old[w.PID] {
							return w.PID, nil
						}
					}
				}
				err = fmt.Errorf("no new worker yet (master reloads %d)", pl.Master.Reloads)
			}
		}
		last = err
		if ocf.Sleep(ctx, pollInterval) != nil {
			return 0, ocf.Generic("the reload did not complete in time: %v", last)
		}
	}
}

// waitServing waits until the new worker's frontends are all open.
func (o *op) waitServing(ctx context.Context, worker int) error {
	var last string
	for {
		out, err := o.workerQuery(ctx, worker, "show stat")
		if err == nil {
			var rows []Stat
			if rows, err = ParseShowStat(out); err == nil {
				last = ""
				for _, r := range rows {
					if r.Service == "FRONTEND" && r.Status != "OPEN" && r.Status != "FULL" && r.Status != "STOP" {
						last = fmt.Sprintf("frontend %s is %s", instance.Quote(r.Proxy), instance.Quote(r.Status))
					}
				}
				if last == "" {
					return nil
				}
			}
		}
		if err != nil {
			last = err.Error()
		}
		if ocf.Sleep(ctx, pollInterval) != nil {
			return ocf.Generic("the new worker %d does not serve: %s", worker, last)
		}
	}
}

// restoreState puts back, on the new worker, the runtime state an operator
// gave servers (maintenance, drain, weight) when the configuration did not
// let haproxy load it from the state file itself (a defaults section of its
// own without "load-server-state-from-file global").
func (o *op) restoreState(ctx context.Context, worker int, saved []ServerState) {
	out, err := o.workerQuery(ctx, worker, "show servers state")
	if err != nil {
		o.log.Warnf("reading server state after the reload: %v", err)
		return
	}
	now, err := ParseServersState(out)
	if err != nil {
		o.log.Warnf("reading server state after the reload: %v", err)
		return
	}
	for _, cmd := range stateFixes(saved, now) {
		answer, err := o.workerQuery(ctx, worker, cmd)
		if a := strings.TrimSpace(answer); err != nil || a != "" {
			o.log.Warnf("restoring server state: %s: %v %s", instance.Quote(cmd), err, instance.Quote(a))
			continue
		}
		o.log.Infof("restored server state: %s", instance.Quote(cmd))
	}
}

// stateFixes lists the commands that give the servers in now the runtime
// state saved before the reload. Servers that left the configuration are
// skipped; state that comes from the configuration itself is not touched.
func stateFixes(saved, now []ServerState) []string {
	cur := map[string]ServerState{}
	for _, s := range now {
		cur[s.Backend+"/"+s.Server] = s
	}
	var cmds []string
	for _, s := range saved {
		key := s.Backend + "/" + s.Server
		n, ok := cur[key]
		if !ok {
			continue
		}
		switch {
		case s.AdminState&adminForcedMaint != 0 && n.AdminState&adminForcedMaint == 0:
			cmds = append(cmds, "set server "+key+" state maint")
		case s.AdminState&adminForcedMaint == 0 && s.AdminState&adminForcedDrain != 0 && n.AdminState&adminForcedDrain == 0:
			cmds = append(cmds, "set server "+key+" state drain")
		}
		// A weight set at run time, as long as the configured weight did
		// not change meanwhile (haproxy's own state loader does the same).
		if s.UserWeight != s.InitWeight && s.InitWeight == n.InitWeight && n.UserWeight != s.UserWeight {
			cmds = append(cmds, fmt.Sprintf("set server %s weight %d", key, s.UserWeight))
		}
	}
	return cmds
}
