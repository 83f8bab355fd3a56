package vip

import (
	"context"
	"errors"
	"net/netip"

	"github.com/stackha/stackha/ocf"
)

// stop removes the address the parameters name and what start recorded
// (the same address, unless the parameters changed since), ends the
// recorded announcer and puts back an LVS loopback copy.
func stop(ctx context.Context, r *ocf.Request) error {
	rec, err := readRecord(r)
	if err != nil {
		// Not ours to trust (a link, another owner): remove by the
		// parameters alone.
		r.Log.Warnf("%v: ignored", err)
		rec = nil
	}
	stopAnnouncer(r, rec)
	cfg, err := ParseConfig(r.Params, r.Clone)
	if err != nil {
		if rec == nil {
			r.Log.Warnf("stop with an invalid configuration (%v) and no record of a start: nothing of ours can be running", err)
			return nil
		}
		r.Log.Warnf("stop with an invalid configuration (%v): removing what start recorded", err)
	} else {
		if err := stopAddress(r, cfg); err != nil {
			return err
		}
		if cfg.LVS && (rec == nil || rec.Loopback == "") {
			if dev := legacyLoopback(r, cfg.IP); dev != "" {
				rec = &record{IP: cfg.IP.String(), Netns: cfg.Netns, Loopback: dev}
			}
		}
	}
	if rec != nil {
		if err := stopRecorded(r, rec); err != nil {
			return err
		}
	}
	return removeState(r)
}

// StopFromState is stop when the parameters do not even reach the agent
// (the runtime could not parse them): it removes exactly what start
// recorded, and nothing when there is no record.
func StopFromState(ctx context.Context, r *ocf.Request) error {
	rec, err := readRecord(r)
	if err != nil {
		return ocf.Generic("stop with an invalid configuration: %v", err)
	}
	if rec == nil {
		r.Log.Infof("stop with an invalid configuration and no record of a start: nothing of ours can be running")
		return nil
	}
	stopAnnouncer(r, rec)
	if err := stopRecorded(r, rec); err != nil {
		return err
	}
	return removeState(r)
}

// stopRecorded removes the recorded address, its label table entry, and
// puts back the LVS loopback copy.
func stopRecorded(r *ocf.Request, rec *record) error {
	ip, err := netip.ParseAddr(rec.IP)
	if err != nil || (rec.Nic != "" && (CheckIfName(rec.Nic) != nil || rec.Prefix < 1 || rec.Prefix > ip.BitLen())) ||
		(rec.Netns != "" && CheckNetnsName(rec.Netns) != nil) {
		r.Log.Warnf("state record of %q on %q is not usable: ignored", clip(rec.IP), clip(rec.Nic))
		return nil
	}
	cfg := &Config{IP: ip, V6: ip.Is6(), Nic: rec.Nic, Prefix: rec.Prefix, Netns: rec.Netns,
		FlushRoutes: rec.FlushRoutes, AddrLabel: rec.AddrLabel, AddrLabelValue: rec.AddrLabelValue}
	s, err := openSystemFunc(cfg.Netns)
	if errors.Is(err, errNoNetns) {
		r.Log.Infof("%v: nothing to stop", err)
		return nil
	}
	if err != nil {
		return err
	}
	t := &target{cfg: cfg, sys: s, pl: Placement{Nic: rec.Nic, Prefix: rec.Prefix}}
	defer t.Close()
	var l *Link
	if rec.Nic != "" {
		l, err = s.Link(rec.Nic)
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
