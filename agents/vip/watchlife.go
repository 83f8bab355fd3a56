package vip

import (
	"os"
	"strings"

	"github.com/stackha/stackha/agents/internal/watch"
	"github.com/stackha/stackha/instance"
	"github.com/stackha/stackha/ocf"
)

// The watcher's life (watch=true): start ends an earlier one and starts a
// new one last, once the address is up (a failed start leaves none); stop
// ends it first, before it touches the address; a recurring monitor that
// succeeds starts a new one when the recorded one has died (a dead watcher
// is never a failure); a monitor that finds the VIP stopped, and a reload
// that turns watch off, end it. Every one of these runs under the
// instance's lock, and the record is saved without the watcher before the
// watcher is signalled: from then on it cannot report.

// endWatcher removes the recorded watcher from rec, saves rec, then ends
// the watcher (only while it is the recorded process).
func endWatcher(r *ocf.Request, name string, rec *record) {
	if rec == nil || rec.Watcher == nil {
		return
	}
	w := rec.Watcher
	rec.Watcher, rec.WatchLink = nil, false
	if err := instance.Save(name, recordKind, rec); err != nil {
		r.Log.Warnf("watcher %d: the record could not be updated (%v); ending it all the same", w.PID, err)
	}
	if err := watch.End(w); err != nil {
		r.Log.Warnf("watcher %d: %v", w.PID, err)
		return
	}
	r.Log.Debugf("ended watcher %d", w.PID)
}

// ensureWatcher makes the recorded watcher the one the parameters ask
// for: none with watch off, without a node name (an agent run by hand) or
// for a loopback address; else one that runs for this node, started anew
// when the recorded one has died or watched otherwise.
func ensureWatcher(r *ocf.Request, name string, rec *record, c *Config) {
	if rec == nil {
		return
	}
	node := r.CRMMeta["on_node"]
	if !c.Watch || node == "" || rec.Nic == "" || strings.HasPrefix(rec.Nic, "lo") {
		if c.Watch && node == "" && r.Action == "start" {
			r.Log.Infof("no node name (OCF_RESKEY_CRM_meta_on_node): no watcher")
		}
		endWatcher(r, name, rec)
		return
	}
	if rec.Watcher.Runs() && rec.Watcher.Node == node && rec.WatchLink == c.CheckLink {
		return
	}
	if rec.Watcher != nil && r.Action == "monitor" {
		r.Log.Infof("watcher %d has ended: starting another", rec.Watcher.PID)
	}
	endWatcher(r, name, rec)
	f := watch.Flags{Resource: r.Instance, Name: name, Node: node}
	if f.Resource == "" {
		f.Resource = name
	}
	w, err := watch.Start(r.Self, watchCmd, watchArgs(f, rec, c.CheckLink), watch.Env(os.LookupEnv), node)
	if err != nil {
		r.Log.Warnf("no watcher (the monitor still finds failures): %v", err)
		return
	}
	rec.Watcher, rec.WatchLink = w, c.CheckLink
	if err := instance.Save(name, recordKind, rec); err != nil {
		rec.Watcher = nil
		r.Log.Warnf("watcher %d not recorded, ended (%v)", w.PID, err)
		watch.End(w)
		return
	}
	r.Log.Infof("watcher %d reports failures of %s on %s at once", w.PID, rec.IP, node)
}
