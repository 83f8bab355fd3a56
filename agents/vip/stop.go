package vip

import (
	"context"
	"errors"
	"fmt"
	"net/netip"

	"github.com/stackha/stackha/ocf"
)

// stop removes the address the parameters name and what start recorded
// (the same address, unless the parameters changed since), ends the
// recorded announcer and puts back an LVS loopback copy. A record that
// exists but cannot be read fails the stop once the parameters' address is
// removed (see finishStop).
func stop(ctx context.Context, r *ocf.Request) error {
	cfg := config(r)
	name, err := r.Name()
	if err != nil {
		return err
	}
	rec, recErr := loadRecord(name)
	endWatcher(r, name, rec) // first: from here on it cannot report
	stopAnnouncer(r, rec)
	if err := stopAddress(r, cfg); err != nil {
		return err
	}
	if cfg.LVS && rec == nil && recErr == nil {
		if dev := legacyLoopback(name, cfg.IP); dev != "" {
			rec = &record{IP: cfg.IP.String(), Netns: cfg.Netns, Loopback: dev}
		}
	}
	if rec != nil {
		if err := stopRecorded(r, rec); err != nil {
			return err
		}
	}
	return finishStop(r, name, recErr)
}

// StopFromState is stop when the configuration is invalid (the runtime
// calls it; r.Params and r.Config are empty): it removes exactly what start
// recorded, and nothing when there is no record. A record that cannot be
// read, or a state directory that is not trusted, fails it: it has nothing
// else to go by.
func StopFromState(ctx context.Context, r *ocf.Request) error {
	name, err := r.Name()
	if err != nil {
		return err
	}
	rec, err := loadRecord(name)
	if err != nil {
		return fmt.Errorf("stop from what start recorded: %w", err)
	}
	if rec == nil {
		r.Log.Infof("no record of a start: nothing of ours can be running")
		return nil
	}
	endWatcher(r, name, rec)
	stopAnnouncer(r, rec)
	if err := stopRecorded(r, rec); err != nil {
		return err
	}
	return finishStop(r, name, nil)
}

// ProbeFromState is a probe when the configuration is invalid: the
// recorded address on its interface, or the recorded announcer still
// running, is an instance that runs (the runtime then answers 1, never 7,
// so that Pacemaker stops it); a record that cannot be read is an error.
func ProbeFromState(ctx context.Context, r *ocf.Request) error {
	name, err := r.Name()
	if err != nil {
		return err
	}
	rec, err := loadRecord(name)
	if err != nil {
		return fmt.Errorf("probe from what start recorded: %w", err)
	}
	if rec == nil {
		return ocf.Stopped("no record of a start")
	}
	if announcerRuns(rec) {
		r.Log.Infof("announcer %d of %s still runs", rec.Announcer.PID, rec.IP)
		return nil
	}
	if rec.Nic == "" {
		return ocf.Stopped("the record holds no address on an interface")
	}
	t, err := recorded(rec)
	if errors.Is(err, errNoNetns) {
		return ocf.Stopped("%v", err)
	}
	if err != nil {
		return err
	}
	defer t.Close()
	l, err := t.sys.Link(rec.Nic)
	if errors.Is(err, errNoLink) {
		return ocf.Stopped("%v: %s is gone with it", err, t)
	}
	if err != nil {
		return err
	}
	t.link = l
	mine, _, err := t.ours()
	switch {
	case err != nil:
		return err
	case mine == nil:
		return ocf.Stopped("%s is not present", t)
	}
	r.Log.Infof("%s is present, as start recorded", t)
	return nil
}

// recorded is the target a record names, on its node's view.
func recorded(rec *record) (*target, error) {
	ip, err := netip.ParseAddr(rec.IP) // checked by loadRecord
	if err != nil {
		return nil, err
	}
	cfg := &Config{IP: ip, V6: ip.Is6(), Nic: rec.Nic, Prefix: rec.Prefix, Netns: rec.Netns,
		FlushRoutes: rec.FlushRoutes, AddrLabel: rec.AddrLabel, AddrLabelValue: rec.AddrLabelValue}
	s, err := openSystemFunc(cfg.Netns)
	if err != nil {
		return nil, err
	}
	return &target{cfg: cfg, sys: s, pl: Placement{Nic: rec.Nic, Prefix: rec.Prefix}}, nil
}

// stopRecorded removes the recorded address, its label table entry, and
// puts back the LVS loopback copy.
func stopRecorded(r *ocf.Request, rec *record) error {
	t, err := recorded(rec)
	if errors.Is(err, errNoNetns) {
		r.Log.Infof("%v: nothing to stop", err)
		return nil
	}
	if err != nil {
		return err
	}
	defer t.Close()
	var l *Link
	if rec.Nic != "" {
		l, err = t.sys.Link(rec.Nic)
	}
	switch {
	case rec.Nic == "": // only an LVS loopback copy to put back
	case errors.Is(err, errNoLink):
		r.Log.Infof("%v: %s is gone with it", err, t)
	case err != nil:
		return err
	default:
		t.link = l
		if err := t.remove(r); err != nil {
			return err
		}
	}
	if rec.Loopback != "" {
		return t.restoreLoopback(r, rec.Loopback)
	}
	return nil
}

// stopAddress removes the address the parameters name, wherever it is.
func stopAddress(r *ocf.Request, cfg *Config) error {
	t, err := place(r, cfg)
	if t != nil {
		defer t.Close()
	}
	switch {
	case err == nil:
	case errors.Is(err, errNoNetns):
		r.Log.Infof("%v: nothing to stop", err)
		return nil
	case errors.Is(err, errNoLink) && cfg.Nic != "":
		r.Log.Infof("%v: nothing to stop", err)
		return nil
	case errors.Is(err, errFindIf), errors.Is(err, errNoLink):
		found, lerr := t.locate()
		if lerr != nil {
			return lerr
		}
		if !found {
			r.Log.Infof("%s is on no interface: nothing to stop", cfg.IP)
			return nil
		}
	default:
		return err
	}
	if cfg.Nic == "" {
		// The routing table may have changed since start: our address
		// must not stay behind on another interface.
		if mine, _, err := t.ours(); err != nil {
			return err
		} else if mine == nil {
			if _, err := t.locate(); err != nil {
				return err
			}
		}
	}
	return t.remove(r)
}

// remove deletes the address when it is there, with its route cache and
// label table entry.
func (t *target) remove(r *ocf.Request) error {
	mine, _, err := t.ours()
	if err != nil {
		return err
	}
	if mine == nil {
		r.Log.Infof("%s is not present: nothing to stop", t)
		return nil
	}
	r.Log.Infof("removing %s", t)
	if err := t.del(); err != nil {
		return err
	}
	if t.cfg.FlushRoutes {
		if err := t.sys.FlushRouteCache(t.cfg.V6); err != nil {
			r.Log.Warnf("%v", err)
		}
	}
	if t.cfg.AddrLabel {
		if err := t.sys.SetAddrLabel(false, t.cfg.IP, t.cfg.AddrLabelValue); err != nil {
			r.Log.Debugf("%v", err)
		}
	}
	return nil
}
