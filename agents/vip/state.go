package vip

import (
	"errors"
	"fmt"
	"net/netip"
	"path/filepath"
	"strings"

	"github.com/stackha/stackha/agents/internal/watch"
	"github.com/stackha/stackha/instance"
	"github.com/stackha/stackha/ocf"
)

// What start set up is recorded in the instance's state (instance.Save), so
// that stop removes exactly that, also when today's parameters no longer
// parse (StopFromState), and ends only the announcer it started. The
// directory, the lock and the file format are the instance layer's; this
// is vip's data.

// recordKind names vip's record and the version of its data.
var recordKind = instance.Kind{Name: "vip", Version: 1}

// record is what start set up.
type record struct {
	IP             string `json:"ip"`
	Prefix         int    `json:"prefix"`
	Nic            string `json:"nic"`
	Netns          string `json:"netns,omitempty"`
	Label          string `json:"label,omitempty"`
	FlushRoutes    bool   `json:"flush_routes,omitempty"`
	AddrLabel      bool   `json:"addrlabel,omitempty"`
	AddrLabelValue uint32 `json:"addrlabel_value,omitempty"`
	// Loopback is the interface LVS support took the address from.
	Loopback string `json:"loopback,omitempty"`
	// Announcer is the background announcer, a copy of this binary: its
	// executable is recorded (it has made its last exec when start reads
	// it).
	Announcer *instance.Identity `json:"announcer,omitempty"`
	// Watcher is the event watcher (watch.go) and the node it reports
	// for; WatchLink, whether it reports a link down or without carrier.
	Watcher   *watch.Record `json:"watcher,omitempty"`
	WatchLink bool          `json:"watch_link,omitempty"`
}

// check refuses a record that cannot be one start wrote: stop would not
// know what to remove, and must not take it for "nothing".
func (rec *record) check() error {
	ip, err := netip.ParseAddr(rec.IP)
	if err != nil || ip.Zone() != "" {
		return fmt.Errorf("ip %s is not an address", instance.Quote(rec.IP))
	}
	if rec.Nic != "" {
		if err := CheckIfName(rec.Nic); err != nil {
			return fmt.Errorf("nic: %w", err)
		}
		if rec.Prefix < 1 || rec.Prefix > ip.BitLen() {
			return fmt.Errorf("prefix length %d is out of range for %s", rec.Prefix, ip)
		}
	} else if rec.Loopback == "" {
		return errors.New("neither an interface nor a loopback copy")
	}
	if rec.Netns != "" && CheckNetnsName(rec.Netns) != nil {
		return fmt.Errorf("netns %s is not a namespace name", instance.Quote(rec.Netns))
	}
	if rec.Loopback != "" && (CheckIfName(rec.Loopback) != nil || !strings.HasPrefix(rec.Loopback, "lo")) {
		return fmt.Errorf("loopback %s is not a loopback interface", instance.Quote(rec.Loopback))
	}
	if a := rec.Announcer; a != nil {
		if err := a.Valid(); err != nil {
			return fmt.Errorf("announcer: %w", err)
		}
		if !filepath.IsAbs(a.Exe) {
			return fmt.Errorf("announcer %d: executable %s is not an absolute path", a.PID, instance.Quote(a.Exe))
		}
	}
	if rec.Watcher != nil {
		if err := rec.Watcher.Check(); err != nil {
			return err
		}
	}
	return nil
}

// loadRecord reads the instance's record: nil, nil when there is none. A
// record that exists but cannot be read, or that check refuses, is an
// error (an instance.UntrustedError when the state directory fails its
// checks).
func loadRecord(name string) (*record, error) {
	var rec record
	found, err := instance.Load(name, recordKind, &rec)
	if err != nil {
		return nil, err
	}
	if !found {
		return legacyRecord(name)
	}
	if err := rec.check(); err != nil {
		return nil, fmt.Errorf("the vip record of %s: %w", name, err)
	}
	return &rec, nil
}

// saveRecord records what start set up.
func saveRecord(r *ocf.Request, rec *record) error {
	name, err := r.Name()
	if err != nil {
		return err
	}
	if err := instance.Save(name, recordKind, rec); err != nil {
		return fmt.Errorf("recording what start set up: %w", err)
	}
	return nil
}

// removeRecord deletes the record (and a record of the format before the
// instance layer), then the state directory when nothing else is in it.
func removeRecord(name string) error {
	if err := removeLegacyRecord(name); err != nil {
		return err
	}
	return instance.Remove(name, recordKind)
}

// finishStop is the end of a stop once the work is done: the record is
// removed (failing that is only a warning: nothing runs any more). recErr
// is why the record could not be read: a record that exists and cannot be
// read fails the stop, with a reason, unless the state directory itself is
// untrusted (nothing in it can be ours).
func finishStop(r *ocf.Request, name string, recErr error) error {
	var ue *instance.UntrustedError
	switch {
	case errors.As(recErr, &ue):
		r.Log.Warnf("%v: nothing in it can be ours; stopped by the parameters", recErr)
		return nil
	case recErr != nil:
		return ocf.Generic("stopped what the parameters name, but the record of what start set up cannot be read (%w): check by hand that nothing it names is left, then remove it", recErr)
	}
	if err := removeRecord(name); err != nil {
		r.Log.Warnf("stopped, but the record is left: %v", err)
	}
	return nil
}
