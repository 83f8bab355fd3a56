package vip

import (
	"context"
	"errors"
	"strings"

	"github.com/stackha/stackha/ocf"
	"golang.org/x/sys/unix"
)

func monitor(ctx context.Context, r *ocf.Request) error {
	err := check(ctx, r)
	watchAfter(r, err)
	if ocf.IsStopped(err) && !r.Probe() {
		r.Log.Infof("not running: %v", err)
	}
	return err
}

func check(ctx context.Context, r *ocf.Request) error {
	t, err := resolve(r)
	if t != nil {
		defer t.Close()
	}
	var oe *ocf.Error
	switch {
	case err == nil:
	case errors.Is(err, errNoNetns), errors.Is(err, errNoLink) && t.cfg.Nic != "":
		return ocf.Stopped("%v", err)
	case errors.Is(err, errFindIf), errors.Is(err, errNoLink), errors.As(err, &oe) && oe.Code == ocf.ErrArgs:
		found, lerr := t.locate()
		if lerr != nil {
			return lerr
		}
		if !found {
			return ocf.Stopped("%s is on no interface", t.cfg.IP)
		}
	default:
		return err
	}
	mine, other, err := t.ours()
	if err != nil {
		return err
	}
	switch {
	case mine == nil && other != nil:
		return ocf.Stopped("%s is on %s with prefix length %d, not %d", t.cfg.IP, t.pl.Nic, other.Prefix.Bits(), t.pl.Prefix)
	case mine == nil:
		why := ""
		if !t.link.Up {
			why = " (the interface is down)"
		} else if !t.link.Carrier {
			why = " (the interface has no carrier)"
		}
		return ocf.Stopped("%s is not on %s%s", t.prefix(), t.pl.Nic, why)
	case mine.Label != t.wantLabel():
		return ocf.Stopped("%s has label %q, not %q", t, mine.Label, t.wantLabel())
	case mine.Flags&unix.IFA_F_DADFAILED != 0:
		return ocf.Generic("%s failed duplicate address detection: another node holds it", t)
	}
	if t.cfg.CheckLink {
		switch {
		case !t.link.Up:
			return ocf.Generic("interface %s is down (administratively)", t.pl.Nic)
		case !t.link.Carrier:
			return ocf.Generic("interface %s has no carrier (link down)", t.pl.Nic)
		}
	}
	if r.Action == "monitor" && t.cfg.ArpRefresh > 0 && !strings.HasPrefix(t.pl.Nic, "lo") {
		refresh(ctx, r, t)
	}
	return nil
}

// refresh sends arp_count_refresh announcements, unless start's are still
// going out (the first monitor often runs while they do).
func refresh(ctx context.Context, r *ocf.Request, t *target) {
	name, err := r.Name()
	if err != nil {
		r.Log.Warnf("%v: no refresh", err)
		return
	}
	rec, err := loadRecord(name)
	if err != nil {
		r.Log.Warnf("%v: no refresh", err)
		return
	}
	if announcerRuns(rec) {
		r.Log.Debugf("announcer %d still runs: no refresh this time", rec.Announcer.PID)
		return
	}
	if rec == nil || rec.IP != t.cfg.IP.String() {
		rec = t.record(rec)
	}
	t.announce(ctx, r, rec, t.cfg.ArpRefresh)
}

// validate checks the parameters (OCF_CHECK_LEVEL 0, safe on any node) and,
// at level 10 (the default), that this node can hold the address: the
// namespace, the interface, a route when nic or cidr_netmask is not given.
func validate(ctx context.Context, r *ocf.Request) error {
	cfg := config(r)
	for _, w := range cfg.Warnings {
		r.Log.Warnf("%s", w)
	}
	if r.CheckLevel < 10 {
		return nil
	}
	t, err := place(r, cfg)
	if t != nil {
		defer t.Close()
	}
	if err != nil {
		return nodeError(t, err)
	}
	r.Log.Debugf("%s: %s", r.Action, t)
	return nil
}

// reload applies the parameters read anew by each operation: monitor's
// (check_link_status, arp_count_refresh) and the announcements' (arp_*), which
// only matter at the next start or monitor. Nothing runs to be told: the
// runtime has checked them (configure), so that a bad value fails here
// rather than at the next monitor.
func reload(ctx context.Context, r *ocf.Request) error {
	for _, w := range config(r).Warnings {
		r.Log.Warnf("%s", w)
	}
	if !config(r).Watch {
		watchAfter(r, ocf.Stopped("watch is off"))
	}
	r.Log.Infof("reloaded: the next monitor uses the new check_link_status, watch and announcement settings")
	return nil
}

// watchAfter keeps the watcher in step after a monitor that found err: a
// recurring monitor that succeeds restarts a dead one, a monitor that
// finds the VIP stopped ends it. A monitor with watch off and nothing to
// end reads nothing more.
func watchAfter(r *ocf.Request, err error) {
	stopped := ocf.IsStopped(err)
	if !stopped && (err != nil || r.Interval == 0 || !config(r).Watch) {
		return
	}
	name, nerr := r.Name()
	if nerr != nil {
		return
	}
	rec, lerr := loadRecord(name)
	switch {
	case lerr != nil || rec == nil:
	case stopped:
		endWatcher(r, name, rec)
	default:
		ensureWatcher(r, name, rec, config(r))
	}
}
