package vip

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os/signal"
	"syscall"

	"github.com/stackha/stackha/agents/internal/watch"
	"github.com/stackha/stackha/instance"
	"github.com/stackha/stackha/ocf"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// The event watcher (`stackha vip-watch ...`, started by start with
// watch=true, see watchlife.go): it blocks on netlink link and address
// events of the VIP's interface and reports, through the shared rules of
// agents/internal/watch, the address removed, the interface gone and, with
// check_link_status, the link down or without carrier. Nothing ticks: the
// process sleeps in recvmsg until the kernel has news.

// watchCmd is the helper the watcher runs as.
const watchCmd = "vip-watch"

// watched is what the watcher looks at: the address on one interface.
type watched struct {
	index  int
	prefix netip.Prefix
	link   bool // check_link_status: a link down or without carrier fails
	// carrier: the watcher has seen the link with carrier. Until then a
	// link without one is not reported: a link start has just brought up
	// negotiates its carrier for a while (start does not judge it either),
	// and the monitor still fails one that never gets it.
	carrier bool
}

// linkFault says why a link event is a failure of the VIP, "" when it is
// not one (another interface, or a change monitor does not fail on).
func (w *watched) linkFault(index int, flags uint32, deleted bool) string {
	if index != w.index {
		return ""
	}
	up, lower := flags&unix.IFF_UP != 0, flags&unix.IFF_LOWER_UP != 0
	seen := w.carrier
	w.carrier = w.carrier || up && lower
	switch {
	case deleted:
		return fmt.Sprintf("interface %d is gone, with %s", index, w.prefix)
	case !w.link:
		return ""
	case !up:
		return fmt.Sprintf("interface %d of %s is down (administratively)", index, w.prefix)
	case !lower && seen:
		return fmt.Sprintf("interface %d of %s has no carrier (link down)", index, w.prefix)
	}
	return ""
}

// addrFault says why an address event is a failure: our address, with our
// prefix length, removed from our interface.
func (w *watched) addrFault(index int, a net.IPNet, added bool) string {
	if added || index != w.index {
		return ""
	}
	ip, ok := netip.AddrFromSlice(a.IP)
	if !ok {
		return ""
	}
	ones, _ := a.Mask.Size()
	if ip.Unmap() != w.prefix.Addr() || ones != w.prefix.Bits() {
		return ""
	}
	return fmt.Sprintf("%s was removed from interface %d", w.prefix, index)
}

// watchArgs is the watcher's command line after the helper's name.
func watchArgs(f watch.Flags, rec *record, link bool) []string {
	return append(f.Args(), "-ip="+rec.IP, fmt.Sprintf("-prefix=%d", rec.Prefix), "-nic="+rec.Nic,
		"-netns="+rec.Netns, fmt.Sprintf("-link=%t", link))
}

// watchHelper is `stackha vip-watch`.
func watchHelper(ctx context.Context, args []string) error {
	var f watch.Flags
	fs := flag.NewFlagSet(watchCmd, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	f.Register(fs)
	ipS := fs.String("ip", "", "the address")
	prefix := fs.Int("prefix", 0, "its prefix length")
	nic := fs.String("nic", "", "the interface")
	ns := fs.String("netns", "", "the network namespace")
	link := fs.Bool("link", true, "report a link down or without carrier")
	if err := fs.Parse(args); err != nil {
		return ocf.Args("%s: %w", watchCmd, err)
	}
	if fs.NArg() > 0 {
		return ocf.Args("%s: unexpected argument %s", watchCmd, instance.Quote(fs.Arg(0)))
	}
	ip, err := ParseAddress(*ipS)
	switch {
	case err != nil:
		return ocf.Args("%s: ip: %v", watchCmd, err)
	case *prefix < 1 || *prefix > ip.BitLen():
		return ocf.Args("%s: prefix %d out of range", watchCmd, *prefix)
	case CheckIfName(*nic) != nil:
		return ocf.Args("%s: nic: %v", watchCmd, CheckIfName(*nic))
	case *ns != "" && CheckNetnsName(*ns) != nil:
		return ocf.Args("%s: netns: %v", watchCmd, CheckNetnsName(*ns))
	}
	if err := f.Check(); err != nil {
		return ocf.Args("%s: %v", watchCmd, err)
	}
	ctx, cancel := signal.NotifyContext(ctx, syscall.SIGTERM, syscall.SIGINT)
	defer cancel()
	log := watch.NewLog(watchCmd, f.Resource)
	defer log.Close()
	self, err := watch.Self()
	if err != nil {
		return err
	}
	owns := func() (bool, error) {
		rec, err := loadRecord(f.Name)
		return err == nil && rec != nil && rec.Watcher.Names(self, f.Node), err
	}
	rep := watch.NewReporter(f, owns, log)
	return runWatch(ctx, rep, *ns, *nic, netip.PrefixFrom(ip, *prefix), *link)
}

// runWatch subscribes to the link and address events of the namespace,
// then looks at the interface as it is (nothing is missed between the
// two), then waits for events until ctx ends or the record no longer names
// this watcher.
func runWatch(ctx context.Context, rep *watch.Reporter, nsName, nic string, p netip.Prefix, link bool) error {
	nsh := netns.None()
	if nsName != "" {
		var err error
		if nsh, err = netns.GetFromName(nsName); err != nil {
			return fmt.Errorf("network namespace %s: %w", nsName, err)
		}
		defer nsh.Close()
	}
	done := make(chan struct{})
	defer close(done)
	links := make(chan netlink.LinkUpdate, 16)
	addrs := make(chan netlink.AddrUpdate, 16)
	lost := make(chan error, 2)
	onErr := func(err error) {
		select {
		case lost <- err:
		default:
		}
	}
	if err := netlink.LinkSubscribeWithOptions(links, done, netlink.LinkSubscribeOptions{Namespace: &nsh, ErrorCallback: onErr}); err != nil {
		return fmt.Errorf("netlink link events: %w", err)
	}
	if err := netlink.AddrSubscribeWithOptions(addrs, done, netlink.AddrSubscribeOptions{Namespace: &nsh, ErrorCallback: onErr}); err != nil {
		return fmt.Errorf("netlink address events: %w", err)
	}
	w, why, err := current(nsName, nic, p, link)
	if err != nil {
		return err
	}
	report := func(why string) bool {
		return why != "" && rep.Report(ctx, why) == watch.NotOurs
	}
	if report(why) {
		return nil
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case u, ok := <-links:
			if !ok {
				return fmt.Errorf("netlink link events ended")
			}
			if report(w.linkFault(int(u.Index), u.Flags, u.Header.Type == unix.RTM_DELLINK)) {
				return nil
			}
		case u, ok := <-addrs:
			if !ok {
				return fmt.Errorf("netlink address events ended")
			}
			if report(w.addrFault(u.LinkIndex, u.LinkAddress, u.NewAddr)) {
				return nil
			}
		case err := <-lost:
			// Events may have been lost (a full socket buffer): look again.
			now, why, cerr := current(nsName, nic, p, link)
			if cerr != nil {
				return fmt.Errorf("%v, then %w", err, cerr)
			}
			now.carrier = now.carrier || w.carrier
			w = now
			if report(why) {
				return nil
			}
		}
	}
}

// current reads the interface and the address as they are now: what to
// watch, and the failure already there ("" for none).
func current(nsName, nic string, p netip.Prefix, link bool) (*watched, string, error) {
	s, err := openSystem(nsName)
	if err != nil {
		return nil, "", err
	}
	defer s.Close()
	l, err := s.Link(nic)
	if err != nil {
		return nil, "", err
	}
	w := &watched{index: l.Index, prefix: p, link: link}
	var flags uint32
	if l.Up {
		flags |= unix.IFF_UP
	}
	if l.Carrier {
		flags |= unix.IFF_LOWER_UP
	}
	if why := w.linkFault(l.Index, flags, false); why != "" {
		return w, why, nil
	}
	as, err := s.AddrsOf(l, p.Addr())
	if err != nil {
		return w, "", err
	}
	for _, a := range as {
		if a.Prefix == p {
			return w, "", nil
		}
	}
	return w, fmt.Sprintf("%s is not on %s", p, nic), nil
}
