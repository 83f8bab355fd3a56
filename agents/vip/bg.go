package vip

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/mdlayher/packet"
	"github.com/stackha/stackha/instance"
	"github.com/stackha/stackha/ocf"
	"golang.org/x/sys/unix"
)

// announceCmd is the helper a background announcer runs as
// (`stackha vip-announce ...`).
const announceCmd = "vip-announce"

func listenARP(ifi *net.Interface) (*packet.Conn, error) {
	c, err := packet.Listen(ifi, packet.Raw, unix.ETH_P_ARP, nil)
	if err != nil {
		return nil, fmt.Errorf("opening a packet socket on %s: %w", ifi.Name, err)
	}
	return c, nil
}

// announcerArgs is the command line of a background announcer.
func announcerArgs(c *Config, nic string, count int, interval time.Duration) []string {
	return []string{announceCmd, "-ip=" + c.IP.String(), "-nic=" + nic, "-netns=" + c.Netns,
		"-count=" + strconv.Itoa(count), "-interval=" + interval.String(), "-delay=" + interval.String()}
}

// startAnnouncer starts a detached copy of this binary (in a session of
// its own) that sends count more announcements, the first after interval,
// and returns its identity for the state record. It inherits nothing but
// its standard streams (/dev/null): the instance's lock is close-on-exec.
func startAnnouncer(r *ocf.Request, c *Config, nic string, count int, interval time.Duration) (*instance.Identity, error) {
	id, err := instance.SpawnSelf(r.Self, announcerArgs(c, nic, count, interval), nil, "")
	if err != nil {
		return nil, fmt.Errorf("starting %s: %w", announceCmd, err)
	}
	return &id, nil
}

// announcerRuns reports whether the recorded announcer still runs.
func announcerRuns(rec *record) bool {
	return rec != nil && rec.Announcer != nil && rec.Announcer.Check() == nil
}

// stopAnnouncer ends the recorded background announcer, only when the
// process at its pid has the recorded owner, executable, start time and
// session; it clears the record's entry either way.
func stopAnnouncer(r *ocf.Request, rec *record) {
	if rec == nil || rec.Announcer == nil {
		return
	}
	a := *rec.Announcer
	rec.Announcer = nil
	if err := a.Check(); err != nil {
		r.Log.Debugf("announcer %d has ended: %v", a.PID, err)
		return
	}
	if err := a.Signal(syscall.SIGTERM); err != nil {
		r.Log.Warnf("ending announcer %d: %v", a.PID, err)
		return
	}
	r.Log.Infof("ended background announcer %d of %s", a.PID, rec.IP)
}

// announceHelper is `stackha vip-announce`: the background announcer.
func announceHelper(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet(announceCmd, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	ip := fs.String("ip", "", "the address")
	nic := fs.String("nic", "", "the interface")
	ns := fs.String("netns", "", "the network namespace")
	count := fs.Int("count", 1, "announcements to send")
	interval := fs.Duration("interval", 200*time.Millisecond, "between two announcements")
	delay := fs.Duration("delay", 0, "before the first")
	if err := fs.Parse(args); err != nil {
		return ocf.Args("%s: %w", announceCmd, err)
	}
	if fs.NArg() > 0 {
		return ocf.Args("%s: unexpected argument %s", announceCmd, instance.Quote(fs.Arg(0)))
	}
	ctx, cancel := signal.NotifyContext(ctx, syscall.SIGTERM, syscall.SIGINT)
	defer cancel()
	return runAnnouncer(ctx, *ip, *nic, *ns, *count, *interval, *delay)
}

func runAnnouncer(ctx context.Context, ipS, nic, ns string, count int, interval, delay time.Duration) error {
	ip, err := ParseAddress(ipS)
	if err != nil {
		return ocf.Args("%s: ip: %v", announceCmd, err)
	}
	if err := CheckIfName(nic); err != nil {
		return ocf.Args("%s: nic: %v", announceCmd, err)
	}
	if ns != "" {
		if err := CheckNetnsName(ns); err != nil {
			return ocf.Args("%s: netns: %v", announceCmd, err)
		}
	}
	if count < 1 || count > maxArpCount || interval < time.Millisecond || interval > maxArpInterval*time.Millisecond ||
		delay < 0 || delay > maxArpInterval*time.Millisecond {
		return ocf.Args("%s: count (1-%d), interval and delay (up to %dms) out of range", announceCmd, maxArpCount, maxArpInterval)
	}
	s, err := openSystem(ns)
	if err != nil {
		return err
	}
	defer s.Close()
	l, err := s.Link(nic)
	if err != nil {
		return err
	}
	a, err := s.OpenAnnouncer(l, ip)
	if err != nil {
		return err
	}
	defer a.Close()
	select {
	case <-ctx.Done():
		return nil
	case <-time.After(delay):
	}
	if _, err := announceLoop(ctx, a, s.Do, count, interval); err != nil && ctx.Err() == nil {
		return err
	}
	return nil
}
