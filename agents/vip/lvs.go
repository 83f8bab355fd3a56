package vip

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"

	"github.com/stackha/stackha/instance"
	"github.com/stackha/stackha/ocf"
)

// takeFromLoopback removes the address from loopback interfaces (lo*, as a
// /32) and records where it was, for stop to put back (lvs_support).
func (t *target) takeFromLoopback(r *ocf.Request, rec *record) error {
	addrs, err := t.sys.Addrs(false)
	if err != nil {
		return err
	}
	for _, a := range addrs {
		if a.Prefix.Addr() != t.cfg.IP || a.Prefix.Bits() != 32 || !strings.HasPrefix(a.Dev, "lo") {
			continue
		}
		l, err := t.sys.Link(a.Dev)
		if err != nil {
			return err
		}
		r.Log.Infof("removing conflicting loopback %s/32 from %s", t.cfg.IP, a.Dev)
		rec.Loopback = a.Dev
		if err := saveRecord(r, rec); err != nil {
			return fmt.Errorf("remembering the loopback address: %w", err)
		}
		if err := t.sys.DelAddr(l, a.Prefix); err != nil && !errors.Is(err, errAddrNotAvail) {
			return ocf.Generic("removing loopback %s from %s: %w", a.Prefix, a.Dev, err)
		}
	}
	return nil
}

// restoreLoopback puts the LVS loopback copy back on dev.
func (t *target) restoreLoopback(r *ocf.Request, dev string) error {
	if CheckIfName(dev) != nil || !strings.HasPrefix(dev, "lo") {
		r.Log.Warnf("recorded loopback interface %s is not one: not restored", instance.Quote(dev))
		return nil
	}
	l, err := t.sys.Link(dev)
	if err != nil {
		r.Log.Warnf("cannot restore the loopback address: %v", err)
		return nil
	}
	r.Log.Infof("restoring loopback %s/32 on %s", t.cfg.IP, dev)
	a := NewAddr{Prefix: netip.PrefixFrom(t.cfg.IP, 32), PreferredLft: Forever}
	if err := t.sys.AddAddr(l, a); err != nil && !errors.Is(err, errAddrExists) {
		return ocf.Generic("restoring loopback %s on %s: %w", t.cfg.IP, dev, err)
	}
	return nil
}
