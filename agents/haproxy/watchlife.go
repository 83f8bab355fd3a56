package haproxy

import (
	"os"

	"github.com/stackha/stackha/agents/internal/watch"
	"github.com/stackha/stackha/ocf"
)

// The watcher's life (watch=true): start ends an earlier one and starts a
// new one last, once haproxy serves (a failed start leaves none); stop ends
// it first, before it signals haproxy; a recurring monitor that succeeds
// starts a new one when the recorded one has ended (a dead watcher is never
// a failure); a monitor that finds haproxy stopped, and a reload that turns
// watch off, end it. Every one of these runs under the instance's lock, and
// the record is saved without the watcher before the watcher is signalled:
// from then on it cannot report.

// endWatcher removes the recorded watcher from the record, saves it, then
// ends the watcher (only while it is the recorded process).
func (o *op) endWatcher() {
	rec, err := o.record()
	if err != nil || rec == nil || rec.Watcher == nil {
		return
	}
	w := rec.Watcher
	nrec := *rec
	nrec.Watcher = nil
	if err := o.saveRecord(&nrec); err != nil {
		o.log.Warnf("watcher %d: the record could not be updated (%v); ending it all the same", w.PID, err)
	}
	if err := watch.End(w); err != nil {
		o.log.Warnf("watcher %d: %v", w.PID, err)
		return
	}
	o.log.Debugf("ended watcher %d", w.PID)
}

// ensureWatcher makes the recorded watcher the one the parameters ask
// for: none with watch off or without a node name (an agent run by hand);
// else one that runs for this node, started anew when the recorded one has
// ended.
func (o *op) ensureWatcher() {
	rec, err := o.record()
	if err != nil || rec == nil || o.req == nil {
		return
	}
	node := o.req.CRMMeta["on_node"]
	if !o.watch || node == "" {
		if o.watch && o.req.Action == "start" {
			o.log.Infof("no node name (OCF_RESKEY_CRM_meta_on_node): no watcher")
		}
		o.endWatcher()
		return
	}
	if rec.Watcher.Runs() && rec.Watcher.Node == node {
		return
	}
	if rec.Watcher != nil && o.req.Action == "monitor" {
		o.log.Infof("watcher %d has ended: starting another", rec.Watcher.PID)
	}
	o.endWatcher()
	f := watch.Flags{Resource: o.req.Instance, Name: o.name, Node: node}
	if f.Resource == "" {
		f.Resource = o.name
	}
	w, err := watch.Start(o.req.Self, watchCmd, f.Args(), watch.Env(os.LookupEnv), node)
	if err != nil {
		o.log.Warnf("no watcher (the monitor still finds failures): %v", err)
		return
	}
	nrec := *o.rec
	nrec.Watcher = w
	if err := o.saveRecord(&nrec); err != nil {
		o.log.Warnf("watcher %d not recorded, ended (%v)", w.PID, err)
		watch.End(w)
		return
	}
	o.log.Infof("watcher %d reports the master's exit on %s at once", w.PID, node)
}

// watchAfter keeps the watcher in step after a monitor that found err.
func (o *op) watchAfter(err error) {
	switch {
	case ocf.IsStopped(err):
		o.endWatcher()
	case err == nil && o.req != nil && o.req.Interval > 0 && o.watch:
		o.ensureWatcher()
	}
}
