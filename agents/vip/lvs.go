package vip

import (
	"errors"
	"net/netip"
	"strings"

	"github.com/stackha/stackha/ocf"
	"golang.org/x/sys/unix"
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
		if err := writeRecord(r, rec); err != nil {
			return ocf.Generic("remembering the loopback address: %v", err)
		}
		if err := t.sys.DelAddr(l, a.Prefix); err != nil && !errors.Is(err, errAddrNotAvail) {
			return ocf.Generic("removing loopback %s from %s: %v", a.Prefix, a.Dev, err)
		}
	}
	return nil
}

// restoreLoopback puts the LVS loopback copy back on dev.
func (t *target) restoreLoopback(r *ocf.Request, dev string) error {
	if CheckIfName(dev) != nil || !strings.HasPrefix(dev, "lo") {
		r.Log.Warnf("recorded loopback interface %q is not one: not restored", clip(dev))
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
		return ocf.Generic("restoring loopback %s on %s: %v", t.cfg.IP, dev, err)
	}
	return nil
}

// legacyLoopback reads where a stackha from before the state record took
// the LVS loopback copy from (lvs-<ip> in the instance's directory), and
// removes that file and the old announcer pid file (whose process cannot
// be told from another by its pid alone: it is left to finish).
func legacyLoopback(r *ocf.Request, ip netip.Addr) string {
	dir, _, err := openStateDir(r, false)
	if err != nil {
		return ""
	}
	defer unix.Close(dir)
	unix.Unlinkat(dir, "announce-"+ip.String()+".pid", 0)
	name := "lvs-" + ip.String()
	fd, err := unix.Openat(dir, name, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return ""
	}
	defer unix.Unlinkat(dir, name, 0)
	defer unix.Close(fd)
	if checkOurs(fd, name, false) != nil {
		return ""
	}
	buf := make([]byte, 64)
	n, _ := unix.Read(fd, buf)
	return strings.TrimSpace(string(buf[:max(n, 0)]))
}
