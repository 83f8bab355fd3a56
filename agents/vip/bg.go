package vip

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/mdlayher/packet"
	"github.com/stackha/stackha/ocf"
	"github.com/urfave/cli/v2"
	"golang.org/x/sys/unix"
)

// announceCmd is the hidden subcommand a background announcer runs as.
const announceCmd = "vip-announce"

func netipPrefixToIPNet(p netip.Prefix) *net.IPNet {
	return &net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}
}

// netipv4zero asks netlink for no broadcast address at all.
var netipv4zero = net.IPv4zero.To4()

func listenARP(ifi *net.Interface) (*packet.Conn, error) {
	c, err := packet.Listen(ifi, packet.Raw, unix.ETH_P_ARP, nil)
	if err != nil {
		return nil, fmt.Errorf("opening a packet socket on %s: %w", ifi.Name, err)
	}
	return c, nil
}

// pidFile records the background announcer of one address.
func pidFile(r *ocf.Request, c *Config) string {
	return filepath.Join(r.StateDir(), "announce-"+c.IP.String()+".pid")
}

// announcerArgs is the command line of a background announcer; stop
// recognises its own by it.
func announcerArgs(self string, c *Config, nic string, count int, interval time.Duration) []string {
	return []string{self, announceCmd, "--ip=" + c.IP.String(), "--nic=" + nic, "--netns=" + c.Netns,
		"--count=" + strconv.Itoa(count), "--interval=" + interval.String(), "--delay=" + interval.String()}
}

// startAnnouncer starts a detached copy of this binary that sends count
// more announcements, the first after interval, and records its pid.
func startAnnouncer(r *ocf.Request, c *Config, nic string, count int, interval time.Duration) (int, error) {
	if r.Self == "" {
		return 0, errors.New("the path of the running binary is unknown")
	}
	if err := os.MkdirAll(r.StateDir(), 0o755); err != nil {
		return 0, fmt.Errorf("state directory: %w", err)
	}
	args := announcerArgs(r.Self, c, nic, count, interval)
	cmd := &exec.Cmd{Path: r.Self, Args: args, Env: []string{}, SysProcAttr: &syscall.SysProcAttr{Setsid: true}}
	if err := cmd.Start(); err != nil {
		return 0, fmt.Errorf("starting %s: %w", announceCmd, err)
	}
	pid := cmd.Process.Pid
	cmd.Process.Release()
	if err := os.WriteFile(pidFile(r, c), []byte(strconv.Itoa(pid)+"\n"), 0o644); err != nil {
		return pid, fmt.Errorf("recording announcer pid %d: %w", pid, err)
	}
	return pid, nil
}

// isOurAnnouncer checks, through /proc, that pid runs our binary as the
// announcer of this address.
func isOurAnnouncer(pid int, self string, c *Config) bool {
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil {
		return false
	}
	args := strings.Split(strings.TrimRight(string(cmdline), "\x00"), "\x00")
	if len(args) < 5 || args[1] != announceCmd || args[2] != "--ip="+c.IP.String() || args[4] != "--netns="+c.Netns {
		return false
	}
	exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid))
	if err != nil {
		return false
	}
	exe = strings.TrimSuffix(exe, " (deleted)")
	if self == "" {
		return false
	}
	if resolved, err := filepath.EvalSymlinks(self); err == nil {
		self = resolved
	}
	return exe == self
}

// runningAnnouncer is the pid of our background announcer of this address,
// or 0.
func runningAnnouncer(r *ocf.Request, c *Config) int {
	b, err := os.ReadFile(pidFile(r, c))
	if err != nil {
		return 0
	}
	pid, err := strconv.Atoi(string(bytes.TrimSpace(b)))
	if err != nil || pid <= 1 || !isOurAnnouncer(pid, r.Self, c) {
		return 0
	}
	return pid
}

// stopAnnouncer ends the background announcer of this address, if one we
// started still runs.
func stopAnnouncer(r *ocf.Request, c *Config) {
	f := pidFile(r, c)
	b, err := os.ReadFile(f)
	if err != nil {
		return
	}
	defer os.Remove(f)
	pid, err := strconv.Atoi(string(bytes.TrimSpace(b)))
	if err != nil || pid <= 1 {
		return
	}
	if !isOurAnnouncer(pid, r.Self, c) {
		r.Log.Debugf("pid %d from %s is no longer our announcer", pid, f)
		return
	}
	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil && !errors.Is(err, syscall.ESRCH) {
		r.Log.Warnf("ending announcer %d: %v", pid, err)
		return
	}
	r.Log.Infof("ended background announcer %d of %s", pid, c.IP)
}

// announceCommand is `stackha vip-announce`: the background announcer.
func announceCommand() *cli.Command {
	return &cli.Command{
		Name:   announceCmd,
		Usage:  "send the rest of vip's announcements (started by the vip agent)",
		Hidden: true,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "ip", Required: true},
			&cli.StringFlag{Name: "nic", Required: true},
			&cli.StringFlag{Name: "netns"},
			&cli.IntFlag{Name: "count", Value: 1},
			&cli.DurationFlag{Name: "interval", Value: 200 * time.Millisecond},
			&cli.DurationFlag{Name: "delay"},
		},
		Action: func(cc *cli.Context) error {
			ctx, cancel := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
			defer cancel()
			return runAnnouncer(ctx, cc.String("ip"), cc.String("nic"), cc.String("netns"),
				cc.Int("count"), cc.Duration("interval"), cc.Duration("delay"))
		},
	}
}

func runAnnouncer(ctx context.Context, ipS, nic, ns string, count int, interval, delay time.Duration) error {
	ip, err := ParseAddress(ipS)
	if err != nil {
		return cli.Exit(err.Error(), 2)
	}
	if err := CheckIfName(nic); err != nil {
		return cli.Exit(err.Error(), 2)
	}
	if count < 1 || interval <= 0 || delay < 0 {
		return cli.Exit("count, interval and delay must be positive", 2)
	}
	s, err := openSystem(ns)
	if err != nil {
		return err
	}
	defer s.Close()
	l, err := s.link(nic)
	if err != nil {
		return err
	}
	ifi := netInterface(l)
	var a announcer
	if err := s.do(func() error {
		var err error
		a, err = openAnnouncer(ifi, ip)
		return err
	}); err != nil {
		return err
	}
	defer a.Close()
	select {
	case <-ctx.Done():
		return nil
	case <-time.After(delay):
	}
	if _, err := announceLoop(ctx, a, s.do, count, interval); err != nil && ctx.Err() == nil {
		return err
	}
	return nil
}
