// Package vip is the ocf:stackha:vip agent: a virtual IPv4 or IPv6 address,
// a drop-in for ocf:heartbeat:IPaddr2 done in process with netlink, packet
// sockets (gratuitous ARP) and ICMPv6 (neighbour advertisements).
package vip

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/mdlayher/packet"
	"github.com/stackha/stackha/ocf"
	"github.com/urfave/cli/v2"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

func init() {
	ocf.Register(&ocf.Agent{
		Meta: Meta,
		Handlers: map[string]ocf.Handler{
			"start":        start,
			"stop":         stop,
			"monitor":      monitor,
			"status":       monitor,
			"validate-all": validate,
		},
	})
	ocf.RegisterHelper(announceCmd, func(ctx context.Context, args []string) error {
		app := &cli.App{Name: "stackha", Commands: []*cli.Command{announceCommand()}, ExitErrHandler: func(*cli.Context, error) {}}
		return app.RunContext(ctx, append([]string{"stackha", announceCmd}, args...))
	})
}

// target is the address resolved on this node.
type target struct {
	cfg  *Config
	sys  *system
	link netlink.Link // nil when the interface is missing
	pl   Placement
}

func (t *target) Close() {
	if t.sys != nil {
		t.sys.Close()
	}
}

func (t *target) String() string {
	return fmt.Sprintf("%s/%d on %s", t.cfg.IP, t.pl.Prefix, t.pl.Nic)
}

// resolution errors, mapped to exit codes per action by the callers.
var (
	errFindIf = errors.New("findif")
)

// resolve parses the configuration and finds the interface and prefix on
// this node. Errors: ocf.Configured (bad everywhere), errNoNetns, errNoLink,
// errFindIf, or a plain failure.
func resolve(r *ocf.Request) (*target, error) {
	cfg, err := ParseConfig(r.Params, r.Clone)
	if err != nil {
		return nil, err
	}
	if r.Action != "monitor" && r.Action != "status" {
		for _, w := range cfg.Warnings {
			r.Log.Warnf("%s", w)
		}
	}
	s, err := openSystem(cfg.Netns)
	if err != nil {
		return nil, err
	}
	t := &target{cfg: cfg, sys: s, pl: Placement{Nic: cfg.Nic, Prefix: cfg.Prefix}}
	if cfg.Nic != "" {
		l, err := s.link(cfg.Nic)
		if err != nil {
			return t, err
		}
		t.link = l
	}
	// The broadcast address matters only when adding the address: monitor
	// and stop with nic and cidr_netmask given need no route at all.
	adding := r.Action == "start" || r.Action == "validate-all"
	if cfg.Nic != "" && cfg.Prefix >= 0 && (cfg.V6 || cfg.Broadcast != "" || !adding) {
		t.pl, err = FindIf(cfg, nil, nil)
		return t, err
	}
	names, err := s.linkNames()
	if err != nil {
		return t, err
	}
	routes, err := s.routes(cfg.V6, !cfg.V6 && cfg.IP.As4()[0] == 127, names)
	if err != nil {
		return t, err
	}
	var addrs []IfAddr
	if !cfg.V6 && cfg.Broadcast == "" && adding {
		if addrs, err = s.addrs(nil, false, names); err != nil {
			return t, err
		}
	}
	pl, err := FindIf(cfg, routes, addrs)
	if err != nil {
		return t, fmt.Errorf("%w: %w", errFindIf, err)
	}
	t.pl = pl
	if t.link == nil {
		l, err := s.link(pl.Nic)
		if err != nil {
			return t, err
		}
		t.link = l
	}
	if l := cfg.Label(); l == "" && cfg.LabelSuffix != "" && len(pl.Nic)+1+len(cfg.LabelSuffix) > maxIfName {
		return t, ocf.Args("interface label %s:%s is longer than %d characters", pl.Nic, cfg.LabelSuffix, maxIfName)
	}
	return t, nil
}

// label is the label we give the address ("" for none).
func (t *target) label() string {
	if t.cfg.LabelSuffix == "" {
		return ""
	}
	return t.pl.Nic + ":" + t.cfg.LabelSuffix
}

// wantLabel is the label the kernel shows for our address: ours, or, for
// IPv4 without one, the interface name. IPv6 addresses carry none.
func (t *target) wantLabel() string {
	if t.cfg.V6 {
		return ""
	}
	if l := t.label(); l != "" {
		return l
	}
	return t.pl.Nic
}

// locate finds the address anywhere when findif could not place it (stop
// and monitor must still see an address whose route went away, e.g. one
// added with noprefixroute).
func (t *target) locate() (bool, error) {
	names, err := t.sys.linkNames()
	if err != nil {
		return false, err
	}
	addrs, err := t.sys.addrs(nil, t.cfg.V6, names)
	if err != nil {
		return false, err
	}
	for _, a := range addrs {
		if a.Prefix.Addr() != t.cfg.IP || (t.cfg.Prefix >= 0 && a.Prefix.Bits() != t.cfg.Prefix) ||
			(t.cfg.Nic != "" && a.Dev != t.cfg.Nic) {
			continue
		}
		if t.cfg.LVS && strings.HasPrefix(a.Dev, "lo") {
			continue // LVS-DR's own loopback copy, not ours
		}
		l, err := t.sys.link(a.Dev)
		if err != nil {
			return false, err
		}
		t.link, t.pl.Nic, t.pl.Prefix = l, a.Dev, a.Prefix.Bits()
		return true, nil
	}
	return false, nil
}

// ours returns the address on the interface: exactly our IP and prefix
// length, or nil. other is the same IP with another prefix, if any.
func (t *target) ours() (mine, other *IfAddr, err error) {
	addrs, err := t.sys.addrs(t.link, t.cfg.V6, nil)
	if err != nil {
		return nil, nil, err
	}
	for i := range addrs {
		a := &addrs[i]
		if a.Prefix.Addr() != t.cfg.IP {
			continue
		}
		if a.Prefix.Bits() == t.pl.Prefix {
			return a, nil, nil
		}
		other = a
	}
	return nil, other, nil
}

// nodeError maps what resolve found missing on this node to the exit code of
// start and validate-all: 5 for a namespace or named interface missing, 2
// when the routing table gives no place (both may differ between nodes).
func nodeError(t *target, err error) error {
	var oe *ocf.Error
	switch {
	case errors.As(err, &oe):
		return err
	case errors.Is(err, errNoNetns):
		return ocf.Installed("%v", err)
	case errors.Is(err, errNoLink):
		return ocf.Installed("%v on this node", err)
	case errors.Is(err, errFindIf):
		return ocf.Args("cannot place %s on this node: %s", t.cfg.IP, strings.TrimPrefix(err.Error(), errFindIf.Error()+": "))
	}
	return err
}

func validate(ctx context.Context, r *ocf.Request) error {
	t, err := resolve(r)
	if t != nil {
		defer t.Close()
	}
	if err != nil {
		return nodeError(t, err)
	}
	r.Log.Debugf("%s: %s", r.Action, t)
	return nil
}

func start(ctx context.Context, r *ocf.Request) error {
	if os.Geteuid() != 0 {
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
	if mine != nil && mine.Label == t.wantLabel() && mine.Flags&unix.IFA_F_DADFAILED == 0 {
		if err := t.linkUp(r); err != nil {
			return err
		}
		r.Log.Infof("%s is already served", t)
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
		if err := t.probe(ctx); err != nil {
			if errors.Is(err, errConflict) {
				return ocf.Generic("IPv4 address collision: %v; %s not added", err, c.IP)
			}
			return fmt.Errorf("collision check for %s: %w", c.IP, err)
		}
	}
	if c.LVS {
		if err := t.takeFromLoopback(r); err != nil {
			return err
		}
	}
	if c.AddrLabel {
		r.Log.Infof("adding IPv6 address label prefix %s label %d", c.IP, c.AddrLabelValue)
		if err := t.sys.setAddrLabel(true, c.IP, c.AddrLabelValue); err != nil {
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
	t.announce(ctx, r, c.ArpCount)
	return nil
}

// linkUp brings the interface up when it is down.
func (t *target) linkUp(r *ocf.Request) error {
	if up, _ := linkState(t.link); up {
		return nil
	}
	r.Log.Infof("bringing %s up", t.pl.Nic)
	if err := t.sys.h.LinkSetUp(t.link); err != nil {
		return fmt.Errorf("bringing %s up: %w", t.pl.Nic, err)
	}
	return nil
}

func (t *target) nlAddr() *netlink.Addr {
	c := t.cfg
	a := &netlink.Addr{IPNet: netipPrefixToIPNet(netip.PrefixFrom(c.IP, t.pl.Prefix))}
	if c.IP.Is4() && c.IP.As4()[0] == 127 {
		a.Scope = unix.RT_SCOPE_HOST // as ip(8) does; the kernel wants it
	}
	return a
}

// add adds the address with the flags the parameters ask for.
func (t *target) add(r *ocf.Request) error {
	c := t.cfg
	a := t.nlAddr()
	var flags []string
	if c.V6 {
		if c.NoDAD {
			a.Flags |= unix.IFA_F_NODAD
			flags = append(flags, "nodad")
		}
		if c.PreferredLft != Forever {
			a.PreferedLft = int(c.PreferredLft)
			a.ValidLft = int(Forever)
			flags = append(flags, fmt.Sprintf("preferred_lft %d", c.PreferredLft))
		}
	} else {
		if t.pl.Broadcast.IsValid() {
			a.Broadcast = t.pl.Broadcast.AsSlice()
			flags = append(flags, "brd "+t.pl.Broadcast.String())
		} else {
			a.Broadcast = netipv4zero // no broadcast, as `ip addr add` without brd
		}
	}
	if c.NoPrefixRoute {
		a.Flags |= unix.IFA_F_NOPREFIXROUTE
		flags = append(flags, "noprefixroute")
	}
	if l := t.label(); l != "" {
		a.Label = l
		flags = append(flags, "label "+l)
	}
	r.Log.Infof("adding %s %s", t, strings.Join(flags, " "))
	if err := t.sys.h.AddrAdd(t.link, a); err != nil {
		return ocf.Generic("adding %s: %v", t, err)
	}
	return nil
}

// del removes exactly our address and prefix length.
func (t *target) del() error {
	if err := t.sys.h.AddrDel(t.link, t.nlAddr()); err != nil && !errors.Is(err, unix.EADDRNOTAVAIL) {
		return ocf.Generic("removing %s: %v", t, err)
	}
	return nil
}

// waitDAD waits until the kernel's duplicate address detection is over.
func (t *target) waitDAD(ctx context.Context, r *ocf.Request) error {
	tick := time.NewTicker(50 * time.Millisecond)
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

// probe runs the RFC 5227 collision check: two probes, a second apart.
func (t *target) probe(ctx context.Context) error {
	ifi := netInterface(t.link)
	if len(ifi.HardwareAddr) != 6 {
		return fmt.Errorf("interface %s has no Ethernet address", ifi.Name)
	}
	var conn *packet.Conn
	if err := t.sys.do(func() error {
		var err error
		conn, err = listenARP(ifi)
		return err
	}); err != nil {
		return err
	}
	defer conn.Close()
	return probeARP(ctx, conn, ifi.HardwareAddr, t.cfg.IP, 2, time.Second)
}

// announce sends count announcements: the first now, the rest here or, with
// arp_bg, from a detached copy of the agent. Failures are logged: the
// address is up, and neighbours also learn it when they next ask.
func (t *target) announce(ctx context.Context, r *ocf.Request, count int) {
	c := t.cfg
	if count <= 0 {
		return
	}
	stopAnnouncer(r, c) // an earlier one would interleave with ours
	ifi := netInterface(t.link)
	var a announcer
	if err := t.sys.do(func() error {
		var err error
		a, err = openAnnouncer(ifi, c.IP)
		return err
	}); err != nil {
		r.Log.Errorf("could not announce %s: %v", c.IP, err)
		return
	}
	defer a.Close()
	interval := time.Duration(c.ArpInterval) * time.Millisecond
	n := count
	if c.ArpBG && count > 1 {
		n = 1
	}
	sent, err := announceLoop(ctx, a, t.sys.do, n, interval)
	if err != nil {
		r.Log.Errorf("announced %s %d of %d times: %v", c.IP, sent, count, err)
		return
	}
	if n == count {
		r.Log.Infof("announced %s on %s %d times", c.IP, t.pl.Nic, sent)
		return
	}
	pid, err := startAnnouncer(r, c, t.pl.Nic, count-1, interval)
	if err != nil {
		r.Log.Errorf("announced %s once; the other %d announcements: %v", c.IP, count-1, err)
		return
	}
	r.Log.Infof("announced %s on %s; %d more from background process %d", c.IP, t.pl.Nic, count-1, pid)
}

func stop(ctx context.Context, r *ocf.Request) error {
	err := stopAddress(ctx, r)
	if err == nil {
		os.Remove(r.StateDir()) // only when empty: nothing of ours is left
	}
	return err
}

func stopAddress(ctx context.Context, r *ocf.Request) error {
	cfg, err := ParseConfig(r.Params, r.Clone)
	if err != nil {
		r.Log.Warnf("stop with an invalid configuration (%v): nothing of ours can be running", err)
		return nil
	}
	stopAnnouncer(r, cfg)
	t, err := resolve(r)
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
	mine, _, err := t.ours()
	if err != nil {
		return err
	}
	if mine == nil && cfg.Nic == "" {
		// The routing table may have changed since start: our address
		// must not stay behind on another interface.
		if found, err := t.locate(); err != nil {
			return err
		} else if found {
			if mine, _, err = t.ours(); err != nil {
				return err
			}
		}
	}
	if mine == nil {
		r.Log.Infof("%s is not present: nothing to stop", t)
	} else {
		r.Log.Infof("removing %s", t)
		if err := t.del(); err != nil {
			return err
		}
		if cfg.FlushRoutes {
			if err := t.flushRouteCache(); err != nil {
				r.Log.Warnf("%v", err)
			}
		}
		if cfg.AddrLabel {
			if err := t.sys.setAddrLabel(false, cfg.IP, cfg.AddrLabelValue); err != nil {
				r.Log.Debugf("%v", err)
			}
		}
	}
	if cfg.LVS {
		return t.restoreLoopback(r)
	}
	return nil
}

// flushRouteCache does `ip route flush cache` for the family.
func (t *target) flushRouteCache() error {
	p := "/proc/sys/net/ipv4/route/flush"
	if t.cfg.V6 {
		p = "/proc/sys/net/ipv6/route/flush"
	}
	return t.sys.do(func() error {
		if err := os.WriteFile(p, []byte("1\n"), 0); err != nil {
			return fmt.Errorf("flushing the route cache: %w", err)
		}
		return nil
	})
}

func monitor(ctx context.Context, r *ocf.Request) error {
	err := check(ctx, r)
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
	case errors.As(err, &oe) && oe.Code == ocf.ErrConfigured:
		if r.Probe() {
			return ocf.Stopped("%v", err)
		}
		return ocf.Generic("%v", err)
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
		if up, carrier := linkState(t.link); !up {
			why = " (the interface is down)"
		} else if !carrier {
			why = " (the interface has no carrier)"
		}
		return ocf.Stopped("%s is not on %s%s", netip.PrefixFrom(t.cfg.IP, t.pl.Prefix), t.pl.Nic, why)
	case mine.Label != t.wantLabel():
		return ocf.Stopped("%s has label %q, not %q", t, mine.Label, t.wantLabel())
	case mine.Flags&unix.IFA_F_DADFAILED != 0:
		return ocf.Generic("%s failed duplicate address detection: another node holds it", t)
	}
	if t.cfg.CheckLink {
		up, carrier := linkState(t.link)
		switch {
		case !up:
			return ocf.Generic("interface %s is down (administratively)", t.pl.Nic)
		case !carrier:
			return ocf.Generic("interface %s has no carrier (link down)", t.pl.Nic)
		}
	}
	if r.Action == "monitor" && t.cfg.ArpRefresh > 0 && !strings.HasPrefix(t.pl.Nic, "lo") {
		if pid := runningAnnouncer(r, t.cfg); pid > 0 {
			// The first monitor often runs while start's announcements
			// are still going out: let them finish.
			r.Log.Debugf("announcer %d still runs: no refresh this time", pid)
		} else {
			t.announce(ctx, r, t.cfg.ArpRefresh)
		}
	}
	return nil
}

// lvsFile remembers a loopback copy of the address taken away by start.
func lvsFile(r *ocf.Request, c *Config) string {
	return filepath.Join(r.StateDir(), "lvs-"+c.IP.String())
}

// takeFromLoopback removes the address from loopback interfaces (lo*, as a
// /32) and remembers where it was, for stop to put back.
func (t *target) takeFromLoopback(r *ocf.Request) error {
	names, err := t.sys.linkNames()
	if err != nil {
		return err
	}
	addrs, err := t.sys.addrs(nil, false, names)
	if err != nil {
		return err
	}
	for _, a := range addrs {
		if a.Prefix.Addr() != t.cfg.IP || a.Prefix.Bits() != 32 || !strings.HasPrefix(a.Dev, "lo") {
			continue
		}
		l, err := t.sys.link(a.Dev)
		if err != nil {
			return err
		}
		r.Log.Infof("removing conflicting loopback %s/32 from %s", t.cfg.IP, a.Dev)
		if err := os.MkdirAll(r.StateDir(), 0o755); err != nil {
			return fmt.Errorf("state directory: %w", err)
		}
		if err := os.WriteFile(lvsFile(r, t.cfg), []byte(a.Dev+"\n"), 0o644); err != nil {
			return fmt.Errorf("remembering the loopback address: %w", err)
		}
		if err := t.sys.h.AddrDel(l, &netlink.Addr{IPNet: netipPrefixToIPNet(a.Prefix)}); err != nil {
			return ocf.Generic("removing loopback %s from %s: %v", a.Prefix, a.Dev, err)
		}
	}
	return nil
}

func (t *target) restoreLoopback(r *ocf.Request) error {
	f := lvsFile(r, t.cfg)
	b, err := os.ReadFile(f)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("reading %s: %w", f, err)
	}
	dev := strings.TrimSpace(string(b))
	if CheckIfName(dev) != nil {
		os.Remove(f)
		return nil
	}
	l, err := t.sys.link(dev)
	if err != nil {
		r.Log.Warnf("cannot restore the loopback address: %v", err)
		os.Remove(f)
		return nil
	}
	r.Log.Infof("restoring loopback %s/32 on %s", t.cfg.IP, dev)
	a := &netlink.Addr{IPNet: netipPrefixToIPNet(netip.PrefixFrom(t.cfg.IP, 32)), Broadcast: netipv4zero}
	if err := t.sys.h.AddrAdd(l, a); err != nil && !errors.Is(err, syscall.EEXIST) {
		return ocf.Generic("restoring loopback %s on %s: %v", t.cfg.IP, dev, err)
	}
	os.Remove(f)
	return nil
}
