package vip

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/stackha/stackha/ocf"
	"golang.org/x/sys/unix"
)

// geteuid is os.Geteuid; the fake tests run start as if root.
var geteuid = os.Geteuid

func start(ctx context.Context, r *ocf.Request) error {
	if geteuid() != 0 {
		return ocf.Perm("start needs root (CAP_NET_ADMIN and raw sockets)")
	}
	t, err := resolve(r)
	if t != nil {
		defer t.Close()
	}
	if err != nil {
		return nodeError(t, err)
	}
	c := t.cfg
	mine, other, err := t.ours()
	if err != nil {
		return err
	}
	if err := t.carrier(); err != nil {
		return err
	}
	name, err := r.Name()
	if err != nil {
		return err
	}
	rec, err := loadRecord(name)
	if err != nil {
		return fmt.Errorf("reading what an earlier start recorded: %w", err)
	}
	endWatcher(r, name, rec) // one watcher per instance: this start's, started last
	if mine != nil && mine.Label == t.wantLabel() && mine.Flags&unix.IFA_F_DADFAILED == 0 {
		if err := t.linkUp(r); err != nil {
			return err
		}
		if rec == nil || rec.IP != c.IP.String() { // served, but by whom: record it as ours now
			rec = t.record(nil)
			if err := saveRecord(r, rec); err != nil {
				return err
			}
		}
		r.Log.Infof("%s is already served", t)
		ensureWatcher(r, name, rec, c)
		return nil
	}
	if mine != nil {
		// Ours but wrong: a label that differs, or a failed DAD. Add again.
		r.Log.Warnf("%s is present with label %q and flags %#x: adding it again", t, mine.Label, mine.Flags)
		if err := t.del(); err != nil {
			return err
		}
	}
	if other != nil && c.V6 {
		return ocf.Generic("%s is already on %s with prefix length %d, not %d: not ours, not touched", c.IP, t.pl.Nic, other.Prefix.Bits(), t.pl.Prefix)
	}
	if err := t.linkUp(r); err != nil {
		return err
	}
	loopback := strings.HasPrefix(t.pl.Nic, "lo")
	if c.RunArping && !c.V6 && !loopback {
		if err := t.sys.Probe(ctx, t.link, c.IP); err != nil {
			if errors.Is(err, errConflict) {
				return ocf.Generic("IPv4 address collision: %w; %s not added", err, c.IP)
			}
			return fmt.Errorf("collision check for %s: %w", c.IP, err)
		}
	}
	// Recorded before anything changes: a stop after a crash half way
	// still knows what to remove.
	nrec := t.record(rec)
	if err := saveRecord(r, nrec); err != nil {
		return err
	}
	if afterRecord != nil {
		afterRecord()
	}
	if c.LVS {
		if err := t.takeFromLoopback(r, nrec); err != nil {
			return err
		}
	}
	if c.AddrLabel {
		r.Log.Infof("adding IPv6 address label prefix %s label %d", c.IP, c.AddrLabelValue)
		if err := t.sys.SetAddrLabel(true, c.IP, c.AddrLabelValue); err != nil {
			r.Log.Warnf("%v", err) // as IPaddr2: a warning, the address still goes up
		}
	}
	if err := t.add(r); err != nil {
		return err
	}
	if c.V6 && !c.NoDAD {
		if err := t.waitDAD(ctx, r); err != nil {
			return err
		}
	}
	if loopback {
		return nil
	}
	t.announce(ctx, r, nrec, c.ArpCount)
	ensureWatcher(r, name, nrec, c)
	return nil
}

// record is what start sets up, keeping the LVS loopback and the
// announcer of an earlier record of the same address.
func (t *target) record(old *record) *record {
	c := t.cfg
	rec := &record{IP: c.IP.String(), Prefix: t.pl.Prefix, Nic: t.pl.Nic, Netns: c.Netns, Label: t.label(),
		FlushRoutes: c.FlushRoutes, AddrLabel: c.AddrLabel, AddrLabelValue: c.AddrLabelValue}
	if old != nil && old.IP == rec.IP && old.Netns == rec.Netns {
		rec.Loopback, rec.Announcer = old.Loopback, old.Announcer
	}
	return rec
}

// carrier fails start on a link that is up but has no carrier, when
// check_link_status is on (its default): the monitor would fail at once,
// and Pacemaker would restart the VIP in place, up to migration-threshold
// times, before it moves it; a failed start moves it at once. A link start
// brings up itself is not judged: its carrier may not be there yet.
func (t *target) carrier() error {
	if !t.cfg.CheckLink || !t.link.Up || t.link.Carrier || strings.HasPrefix(t.pl.Nic, "lo") {
		return nil
	}
	return ocf.Generic("interface %s has no carrier (link down): %s not started here", t.pl.Nic, t.cfg.IP)
}

// linkUp brings the interface up when it is down.
func (t *target) linkUp(r *ocf.Request) error {
	if t.link.Up {
		return nil
	}
	r.Log.Infof("bringing %s up", t.pl.Nic)
	if err := t.sys.SetLinkUp(t.link); err != nil {
		return fmt.Errorf("bringing %s up: %w", t.pl.Nic, err)
	}
	t.link.Up = true
	return nil
}

// add adds the address with the flags the parameters ask for.
func (t *target) add(r *ocf.Request) error {
	c := t.cfg
	a := NewAddr{Prefix: t.prefix(), HostScope: c.IP.Is4() && c.IP.As4()[0] == 127,
		NoPrefixRoute: c.NoPrefixRoute, PreferredLft: Forever, Label: t.label()}
	var flags []string
	if c.V6 {
		if c.NoDAD {
			a.NoDAD = true
			flags = append(flags, "nodad")
		}
		if c.PreferredLft != Forever {
			a.PreferredLft = c.PreferredLft
			flags = append(flags, fmt.Sprintf("preferred_lft %d", c.PreferredLft))
		}
	} else if t.pl.Broadcast.IsValid() {
		a.Broadcast = t.pl.Broadcast
		flags = append(flags, "brd "+t.pl.Broadcast.String())
	}
	if c.NoPrefixRoute {
		flags = append(flags, "noprefixroute")
	}
	if a.Label != "" {
		flags = append(flags, "label "+a.Label)
	}
	r.Log.Infof("adding %s %s", t, strings.Join(flags, " "))
	if err := t.sys.AddAddr(t.link, a); err != nil {
		return ocf.Generic("adding %s: %w", t, err)
	}
	return nil
}

// del removes exactly our address and prefix length.
func (t *target) del() error {
	if err := t.sys.DelAddr(t.link, t.prefix()); err != nil && !errors.Is(err, errAddrNotAvail) {
		return ocf.Generic("removing %s: %w", t, err)
	}
	return nil
}

// dadPoll is how often start looks whether duplicate address detection is
// over.
var dadPoll = 50 * time.Millisecond

// waitDAD waits until the kernel's duplicate address detection is over.
func (t *target) waitDAD(ctx context.Context, r *ocf.Request) error {
	tick := time.NewTicker(dadPoll)
	defer tick.Stop()
	for {
		mine, _, err := t.ours()
		if err != nil {
			return err
		}
		switch {
		case mine == nil:
			return ocf.Generic("%s disappeared during duplicate address detection", t)
		case mine.Flags&unix.IFA_F_DADFAILED != 0:
			r.Log.Errorf("IPv6 address collision %s [DAD]", t.cfg.IP)
			if err := t.del(); err != nil {
				r.Log.Errorf("%v", err)
			}
			return ocf.Generic("duplicate address detection failed for %s: another node on %s holds it; removed", t.cfg.IP, t.pl.Nic)
		case mine.Flags&unix.IFA_F_TENTATIVE == 0:
			return nil
		}
		select {
		case <-ctx.Done():
			return ocf.Generic("%s still tentative (duplicate address detection unfinished) at the operation's deadline", t)
		case <-tick.C:
		}
	}
}

// announce sends count announcements: the first now, the rest here or, with
// arp_bg, from a detached copy of the agent, recorded in rec. Failures are
// logged: the address is up, and neighbours also learn it when they next
// ask.
func (t *target) announce(ctx context.Context, r *ocf.Request, rec *record, count int) {
	c := t.cfg
	if count <= 0 {
		return
	}
	if rec.Announcer != nil {
		stopAnnouncer(r, rec) // an earlier one would interleave with ours
		if err := saveRecord(r, rec); err != nil {
			r.Log.Warnf("%v", err)
		}
	}
	a, err := t.sys.OpenAnnouncer(t.link, c.IP)
	if err != nil {
		r.Log.Errorf("could not announce %s: %v", c.IP, err)
		return
	}
	defer a.Close()
	interval := time.Duration(c.ArpInterval) * time.Millisecond
	n := count
	if c.ArpBG && count > 1 {
		n = 1
	}
	sent, err := announceLoop(ctx, a, t.sys.Do, n, interval)
	if err != nil {
		r.Log.Errorf("announced %s %d of %d times: %v", c.IP, sent, count, err)
		return
	}
	if n == count {
		r.Log.Infof("announced %s on %s %d times", c.IP, t.pl.Nic, sent)
		return
	}
	id, err := startAnnouncerFunc(r, c, t.pl.Nic, count-1, interval)
	if err != nil {
		r.Log.Errorf("announced %s once; the other %d announcements: %v", c.IP, count-1, err)
		return
	}
	rec.Announcer = id
	if err := saveRecord(r, rec); err != nil {
		r.Log.Warnf("announcer %d not recorded (stop will not end it): %v", id.PID, err)
	}
	r.Log.Infof("announced %s on %s; %d more from background process %d", c.IP, t.pl.Nic, count-1, id.PID)
}

// startAnnouncerFunc starts a background announcer; the fake tests record
// the call instead.
var startAnnouncerFunc = startAnnouncer

// afterRecord, when set (by a test), runs when start has recorded what it
// is about to set up and has not set it up yet.
var afterRecord func()
