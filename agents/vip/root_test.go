package vip

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/mdlayher/arp"
	"github.com/mdlayher/ethernet"
	"github.com/mdlayher/ndp"
	"github.com/mdlayher/packet"
	"github.com/stackha/stackha/instance"
	"github.com/stackha/stackha/internal/testutil/require"
	"github.com/stackha/stackha/internal/testutil/sandbox"
	"github.com/stackha/stackha/internal/testutil/viptest"
	"github.com/stackha/stackha/ocf"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// Root tests: the agent against veth pairs in private network namespaces,
// through network_namespace (the test process itself never leaves the
// host's namespace).

var (
	binOnce sync.Once
	binPath string
	binErr  error
	binDir  string
)

// stackhaBinary builds the real binary once, in a directory everyone can
// read (ocf-tester runs meta-data as nobody). The background announcer is
// a copy of it.
func stackhaBinary(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		binDir, binErr = os.MkdirTemp("/tmp", "shv-bin-")
		if binErr != nil {
			return
		}
		os.Chmod(binDir, 0o755)
		binPath = filepath.Join(binDir, "stackha")
		cmd := exec.Command("go", "build", "-o", binPath, "github.com/stackha/stackha/cmd/stackha")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			binErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

type logWriter struct{ t *testing.T }

func (w logWriter) Write(b []byte) (int, error) {
	w.t.Logf("%s", strings.TrimRight(string(b), "\n"))
	return len(b), nil
}

// rig is one lab plus the agent's fixed parameters.
type rig struct {
	t    *testing.T
	lab  *viptest.Lab
	base map[string]string
	inst string
}

func newRig(t *testing.T, ip string, extra ...string) *rig {
	t.Helper()
	require.Root(t)
	l, err := viptest.NewLab("t")
	if err != nil {
		t.Fatalf("lab: %v", err)
	}
	t.Cleanup(l.Close)
	rg := &rig{t: t, lab: l, inst: "shv-test-" + l.NS,
		base: map[string]string{"ip": ip, "network_namespace": l.NS}}
	for i := 0; i+1 < len(extra); i += 2 {
		rg.base[extra[i]] = extra[i+1]
	}
	return rg
}

// run runs one action through the runtime, in process (see ocfRun), with
// the base parameters and the overrides (k, v, ...), as a recurring
// operation when interval > 0; it returns the code and the error.
func (rg *rig) run(action string, interval time.Duration, kv ...string) (ocf.Code, error) {
	rg.t.Helper()
	err := ocfRun(logWriter{rg.t}, rg.inst, action, interval, 10, rg.params(kv...))
	return ocf.CodeOf(err), err
}

// params are the base parameters with the overrides (k, v, ...).
func (rg *rig) params(kv ...string) map[string]string {
	m := map[string]string{}
	for k, v := range rg.base {
		m[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return m
}

// inStateRoot is a command that runs argv in a mount namespace of its own
// where /run/stackha is this process's instance.Root (read-only with ro):
// the binary sees the state the in-process actions wrote, and the host's
// /run/stackha is never touched (it is only created, empty, when missing,
// to be mounted over).
func inStateRoot(t *testing.T, ro bool, argv ...string) *exec.Cmd {
	t.Helper()
	return inStateRootCtx(context.Background(), t, ro, argv...)
}

func inStateRootCtx(ctx context.Context, t *testing.T, ro bool, argv ...string) *exec.Cmd {
	t.Helper()
	if err := os.MkdirAll(instance.Root, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll("/run/stackha", 0o755); err != nil {
		t.Fatal(err)
	}
	script := `mount --bind "$1" /run/stackha || exit 125; shift; exec "$@"`
	if ro {
		script = `mount --bind "$1" /run/stackha && mount -o remount,bind,ro /run/stackha || exit 125; shift; exec "$@"`
	}
	args := append([]string{"--mount", "--propagation", "private", "--", "sh", "-c", script, "sh", instance.Root}, argv...)
	return exec.CommandContext(ctx, "unshare", args...)
}

// binary runs the built binary's action (in inStateRoot) with the base
// parameters and the overrides, and returns its exit code and output.
func (rg *rig) binary(ro bool, action string, kv ...string) (int, string) {
	rg.t.Helper()
	cmd := inStateRoot(rg.t, ro, stackhaBinary(rg.t), "vip", action)
	cmd.Env = []string{"OCF_RESOURCE_INSTANCE=" + rg.inst, "HA_LOGFACILITY=none"}
	for k, v := range rg.params(kv...) {
		cmd.Env = append(cmd.Env, "OCF_RESKEY_"+k+"="+v)
	}
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0, string(out)
	case errors.As(err, &ee) && ee.ExitCode() != 125:
		return ee.ExitCode(), string(out)
	}
	rg.t.Fatalf("running %s: %v\n%s", action, err, out)
	return 0, ""
}

// selfExe is this test binary: the background announcer of in-process
// starts.
func selfExe(t *testing.T) string {
	t.Helper()
	p, err := os.Executable()
	if err == nil {
		p, err = filepath.EvalSymlinks(p)
	}
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func (rg *rig) want(action string, interval time.Duration, code ocf.Code, kv ...string) error {
	rg.t.Helper()
	got, err := rg.run(action, interval, kv...)
	if got != code {
		rg.t.Fatalf("%s %v: code %d (%v), want %d", action, kv, got, err, code)
	}
	return err
}

// handle is a netlink handle in the lab's namespace (or its peer).
func (rg *rig) handle(peer bool) *netlink.Handle {
	rg.t.Helper()
	name := rg.lab.NS
	if peer {
		name = rg.lab.Peer
	}
	ns, err := netns.GetFromName(name)
	if err != nil {
		rg.t.Fatal(err)
	}
	defer ns.Close()
	h, err := netlink.NewHandleAt(ns, unix.NETLINK_ROUTE)
	if err != nil {
		rg.t.Fatal(err)
	}
	rg.t.Cleanup(h.Close)
	return h
}

func (rg *rig) link(h *netlink.Handle, name string) netlink.Link {
	rg.t.Helper()
	l, err := h.LinkByName(name)
	if err != nil {
		rg.t.Fatal(err)
	}
	return l
}

// addrsOf lists the addresses with this IP on the interface.
func (rg *rig) addrsOf(peer bool, nic, ip string) []netlink.Addr {
	rg.t.Helper()
	h := rg.handle(peer)
	as, err := h.AddrList(rg.link(h, nic), netlink.FAMILY_ALL)
	if err != nil {
		rg.t.Fatal(err)
	}
	var out []netlink.Addr
	for _, a := range as {
		if a.IP.Equal(net.ParseIP(ip)) {
			out = append(out, a)
		}
	}
	return out
}

func (rg *rig) addAddr(peer bool, nic, cidr string, flags int) {
	rg.t.Helper()
	h := rg.handle(peer)
	a, err := netlink.ParseAddr(cidr)
	if err != nil {
		rg.t.Fatal(err)
	}
	a.Flags = flags
	if err := h.AddrAdd(rg.link(h, nic), a); err != nil {
		rg.t.Fatalf("adding %s: %v", cidr, err)
	}
}

func (rg *rig) setLink(peer bool, nic string, up bool) {
	rg.t.Helper()
	h := rg.handle(peer)
	l := rg.link(h, nic)
	var err error
	if up {
		err = h.LinkSetUp(l)
	} else {
		err = h.LinkSetDown(l)
	}
	if err != nil {
		rg.t.Fatal(err)
	}
}

// sniffer captures frames of one EtherType on the peer's side of the veth.
type sniffer struct {
	conn *packet.Conn
}

func (rg *rig) sniff(etherType int) *sniffer {
	rg.t.Helper()
	ns, err := netns.GetFromName(rg.lab.Peer)
	if err != nil {
		rg.t.Fatal(err)
	}
	defer ns.Close()
	pl := rg.link(rg.handle(true), rg.lab.PeerNic).Attrs()
	ifi := &net.Interface{Index: pl.Index, MTU: pl.MTU, Name: pl.Name, HardwareAddr: pl.HardwareAddr, Flags: pl.Flags}
	var c *packet.Conn
	if err := inNetns(ns, func() error {
		var err error
		c, err = packet.Listen(ifi, packet.Raw, etherType, nil)
		return err
	}); err != nil {
		rg.t.Fatal(err)
	}
	rg.t.Cleanup(func() { c.Close() })
	return &sniffer{conn: c}
}

// frames reads what arrives until quiet has passed without a frame.
func (s *sniffer) frames(quiet time.Duration) []ethernet.Frame {
	var out []ethernet.Frame
	buf := make([]byte, 2000)
	for {
		s.conn.SetReadDeadline(time.Now().Add(quiet))
		n, _, err := s.conn.ReadFrom(buf)
		if err != nil {
			return out
		}
		var f ethernet.Frame
		if f.UnmarshalBinary(buf[:n]) == nil {
			out = append(out, f)
		}
	}
}

// garps counts gratuitous ARP requests and replies for ip from mac.
func garps(frames []ethernet.Frame, mac net.HardwareAddr, ip netip.Addr) (req, rep int) {
	for _, f := range frames {
		var p arp.Packet
		if f.EtherType != ethernet.EtherTypeARP || p.UnmarshalBinary(f.Payload) != nil {
			continue
		}
		if p.SenderIP != ip || p.TargetIP != ip || p.SenderHardwareAddr.String() != mac.String() {
			continue
		}
		switch p.Operation {
		case arp.OperationRequest:
			req++
		case arp.OperationReply:
			rep++
		}
	}
	return
}

// unsolicitedNAs counts neighbour advertisements of ip to all nodes with
// Override and the target link-layer address mac, hop limit 255.
func unsolicitedNAs(frames []ethernet.Frame, mac net.HardwareAddr, ip netip.Addr) int {
	n := 0
	for _, f := range frames {
		b := f.Payload
		if f.EtherType != ethernet.EtherTypeIPv6 || len(b) < 48 || b[6] != 58 || b[7] != 255 {
			continue
		}
		dst, _ := netip.AddrFromSlice(b[24:40])
		if dst != allNodes() {
			continue
		}
		m, err := ndp.ParseMessage(b[40:])
		if err != nil {
			continue
		}
		na, ok := m.(*ndp.NeighborAdvertisement)
		if !ok || !na.Override || na.Solicited || na.TargetAddress != ip || len(na.Options) != 1 {
			continue
		}
		if lla, ok := na.Options[0].(*ndp.LinkLayerAddress); ok && lla.Direction == ndp.Target && lla.Addr.String() == mac.String() {
			n++
		}
	}
	return n
}

type fam struct {
	name, ip, prefix string
	v6               bool
}

var families = []fam{
	{"IPv4", "192.0.2.10", "24", false},
	{"IPv6", "2001:db8:5::10", "64", true},
}

func TestRootLifecycle(t *testing.T) {
	for _, f := range families {
		t.Run(f.name, func(t *testing.T) {
			rg := newRig(t, f.ip, "nic", "shv0", "cidr_netmask", f.prefix)
			rg.want("validate-all", 0, ocf.Success)
			rg.want("monitor", 0, ocf.NotRunning)
			rg.want("stop", 0, ocf.Success)
			rg.want("start", 0, ocf.Success, "arp_bg", "false", "arp_interval", "10")
			as := rg.addrsOf(false, "shv0", f.ip)
			if len(as) != 1 {
				t.Fatalf("addresses after start: %v", as)
			}
			if ones, _ := as[0].Mask.Size(); fmt.Sprint(ones) != f.prefix || as[0].Flags&unix.IFA_F_TENTATIVE != 0 {
				t.Fatalf("address %v flags %#x", as[0], as[0].Flags)
			}
			rg.want("monitor", 10*time.Second, ocf.Success)
			rg.want("monitor", 0, ocf.Success)
			rg.want("status", 10*time.Second, ocf.Success)
			rg.want("start", 0, ocf.Success)
			rg.want("stop", 0, ocf.Success)
			if as := rg.addrsOf(false, "shv0", f.ip); len(as) != 0 {
				t.Fatalf("addresses after stop: %v", as)
			}
			rg.want("monitor", 10*time.Second, ocf.NotRunning)
			rg.want("stop", 0, ocf.Success)
		})
	}
}

// nic and cidr_netmask found from the routing table; broadcast copied from
// the interface's address.
func TestRootFindIf(t *testing.T) {
	for _, f := range families {
		t.Run(f.name, func(t *testing.T) {
			rg := newRig(t, f.ip, "arp_bg", "false", "arp_interval", "10", "nodad", "true")
			rg.want("validate-all", 0, ocf.Success)
			rg.want("start", 0, ocf.Success)
			as := rg.addrsOf(false, "shv0", f.ip)
			if len(as) != 1 {
				t.Fatalf("addresses: %v", as)
			}
			if ones, _ := as[0].Mask.Size(); fmt.Sprint(ones) != f.prefix {
				t.Fatalf("prefix %v", as[0])
			}
			if !f.v6 && !as[0].Broadcast.Equal(net.ParseIP("192.0.2.255")) {
				t.Fatalf("broadcast %v", as[0].Broadcast)
			}
			rg.want("monitor", time.Second, ocf.Success)
			rg.want("stop", 0, ocf.Success)
			rg.want("monitor", time.Second, ocf.NotRunning)
		})
	}
	t.Run("loopback", func(t *testing.T) {
		rg := newRig(t, "127.0.0.5")
		rg.want("start", 0, ocf.Success)
		as := rg.addrsOf(false, "lo", "127.0.0.5")
		if len(as) != 1 {
			t.Fatalf("addresses on lo: %v", as)
		}
		if ones, _ := as[0].Mask.Size(); ones != 8 {
			t.Fatalf("prefix %v", as[0])
		}
		rg.want("monitor", time.Second, ocf.Success)
		rg.want("stop", 0, ocf.Success)
		if as := rg.addrsOf(false, "lo", "127.0.0.5"); len(as) != 0 {
			t.Fatalf("left %v", as)
		}
	})
	t.Run("no route", func(t *testing.T) {
		rg := newRig(t, "198.51.100.5")
		err := rg.want("validate-all", 0, ocf.ErrArgs)
		if !strings.Contains(err.Error(), "set nic and cidr_netmask") {
			t.Errorf("reason %v", err)
		}
		rg.want("start", 0, ocf.ErrArgs)
		rg.want("monitor", 0, ocf.NotRunning)
		rg.want("monitor", time.Second, ocf.NotRunning)
		rg.want("stop", 0, ocf.Success)
	})
}

// The flags the parameters ask for reach the kernel.
func TestRootAddressFlags(t *testing.T) {
	t.Run("IPv4 label noprefixroute broadcast", func(t *testing.T) {
		rg := newRig(t, "198.51.100.7", "nic", "shv0", "cidr_netmask", "24", "iflabel", "api", "noprefixroute", "true", "broadcast", "+", "arp_count", "1")
		rg.want("start", 0, ocf.Success)
		as := rg.addrsOf(false, "shv0", "198.51.100.7")
		if len(as) != 1 || as[0].Label != "shv0:api" || as[0].Flags&unix.IFA_F_NOPREFIXROUTE == 0 || !as[0].Broadcast.Equal(net.ParseIP("198.51.100.255")) {
			t.Fatalf("address %+v", as)
		}
		// No prefix route: findif could not place it, but monitor and stop
		// still find it without nic.
		rg.want("monitor", time.Second, ocf.Success)
		delete(rg.base, "nic")
		rg.want("monitor", time.Second, ocf.Success)
		rg.want("stop", 0, ocf.Success)
		if as := rg.addrsOf(false, "shv0", "198.51.100.7"); len(as) != 0 {
			t.Fatalf("left %v", as)
		}
	})
	t.Run("IPv4 wrong label", func(t *testing.T) {
		rg := newRig(t, "192.0.2.11", "nic", "shv0", "cidr_netmask", "24", "arp_count", "1")
		rg.addAddr(false, "shv0", "192.0.2.11/24 shv0:other", 0)
		err := rg.want("monitor", time.Second, ocf.NotRunning)
		if !strings.Contains(err.Error(), "label") {
			t.Errorf("reason %v", err)
		}
		rg.want("start", 0, ocf.Success)
		if as := rg.addrsOf(false, "shv0", "192.0.2.11"); len(as) != 1 || as[0].Label != "shv0" {
			t.Fatalf("after start %+v", as)
		}
	})
	t.Run("IPv6 nodad preferred_lft", func(t *testing.T) {
		rg := newRig(t, "2001:db8:5::11", "nic", "shv0", "cidr_netmask", "64", "nodad", "true", "preferred_lft", "0", "arp_count", "1")
		rg.want("start", 0, ocf.Success)
		as := rg.addrsOf(false, "shv0", "2001:db8:5::11")
		if len(as) != 1 || as[0].Flags&unix.IFA_F_NODAD == 0 || as[0].PreferedLft != 0 || as[0].Flags&unix.IFA_F_DEPRECATED == 0 {
			t.Fatalf("address %+v", as)
		}
		rg.want("monitor", time.Second, ocf.Success)
		rg.want("stop", 0, ocf.Success)
	})
}

// The announcements reach the other end of the wire.
func TestRootAnnouncements(t *testing.T) {
	for _, f := range families {
		for _, bg := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s arp_bg=%v", f.name, bg), func(t *testing.T) {
				rg := newRig(t, f.ip, "nic", "shv0", "cidr_netmask", f.prefix, "arp_count", "3", "arp_interval", "50",
					"arp_bg", fmt.Sprint(bg), "nodad", "true")
				et := unix.ETH_P_ARP
				if f.v6 {
					et = unix.ETH_P_IPV6
				}
				s := rg.sniff(et)
				rg.want("start", 0, ocf.Success)
				frames := s.frames(time.Second)
				ip := netip.MustParseAddr(f.ip)
				if f.v6 {
					if n := unsolicitedNAs(frames, rg.lab.NicMAC, ip); n != 3 {
						t.Fatalf("%d neighbour advertisements seen, want 3", n)
					}
				} else if req, rep := garps(frames, rg.lab.NicMAC, ip); req != 3 || rep != 3 {
					t.Fatalf("%d requests, %d replies seen; want 3 and 3", req, rep)
				}
				// arp_count_refresh: each monitor announces again.
				rg.want("monitor", time.Second, ocf.Success, "arp_count_refresh", "2", "arp_bg", "false")
				frames = s.frames(500 * time.Millisecond)
				if f.v6 {
					if n := unsolicitedNAs(frames, rg.lab.NicMAC, ip); n != 2 {
						t.Fatalf("refresh: %d advertisements, want 2", n)
					}
				} else if req, rep := garps(frames, rg.lab.NicMAC, ip); req != 2 || rep != 2 {
					t.Fatalf("refresh: %d requests, %d replies; want 2 and 2", req, rep)
				}
				rg.want("stop", 0, ocf.Success)
			})
		}
	}
}

// stop ends a background announcer we started, and only that.
func TestRootStopEndsAnnouncer(t *testing.T) {
	for _, f := range []fam{{"IPv4", "192.0.2.12", "24", false}, {"IPv6", "2001:db8:5::12", "64", true}} {
		t.Run(f.name, func(t *testing.T) {
			rg := newRig(t, f.ip, "nic", "shv0", "cidr_netmask", f.prefix, "arp_count", "1000", "arp_interval", "100", "arp_bg", "true", "nodad", "true")
			rg.want("start", 0, ocf.Success)
			rec := rg.record()
			if rec == nil || rec.Announcer == nil {
				t.Fatalf("no announcer recorded: %+v", rec)
			}
			a := *rec.Announcer
			if a.Check() != nil || a.Exe != selfExe(t) || a.Session != a.PID || a.UID != 0 {
				t.Fatalf("recorded announcer %+v is not running as recorded", a)
			}
			// A refreshing monitor leaves a running announcer alone.
			rg.want("monitor", time.Second, ocf.Success, "arp_count_refresh", "3")
			if a.Check() != nil {
				t.Fatalf("monitor ended announcer %d", a.PID)
			}
			rg.want("stop", 0, ocf.Success)
			deadline := time.Now().Add(5 * time.Second)
			for a.Check() == nil {
				if time.Now().After(deadline) {
					syscall.Kill(a.PID, syscall.SIGKILL)
					t.Fatalf("announcer %d still runs after stop", a.PID)
				}
				time.Sleep(20 * time.Millisecond)
			}
			if rec := rg.record(); rec != nil {
				t.Fatalf("record left after stop: %+v", rec)
			}
			// A record naming a process whose start time, executable or
			// session differ from the recorded ones: left alone.
			sleeper := exec.Command("sleep", "30")
			sleeper.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
			if err := sleeper.Start(); err != nil {
				t.Fatal(err)
			}
			defer func() { sleeper.Process.Kill(); sleeper.Wait() }()
			real, err := instance.Identify(sleeper.Process.Pid, true)
			if err != nil {
				t.Fatal(err)
			}
			for _, forged := range []instance.Identity{
				{PID: real.PID, UID: real.UID, Exe: selfExe(t), Start: real.Start, Session: real.Session},
				{PID: real.PID, UID: real.UID, Exe: real.Exe, Start: real.Start + 1, Session: real.Session},
				{PID: real.PID, UID: real.UID + 1, Exe: real.Exe, Start: real.Start, Session: real.Session},
				{PID: real.PID, UID: real.UID, Exe: real.Exe, Start: real.Start, Session: real.Session + 1},
			} {
				rg.writeRecord(&record{IP: f.ip, Prefix: 24, Nic: "shv0", Netns: rg.lab.NS, Announcer: &forged})
				rg.want("stop", 0, ocf.Success)
				if err := sleeper.Process.Signal(syscall.Signal(0)); err != nil {
					t.Fatalf("stop signalled a process that is not ours (%+v): %v", forged, err)
				}
			}
		})
	}
}

// stop removes what start recorded even when the parameters no longer
// parse, in the agent (cidr_netmask) or in the runtime (StopFromState).
func TestRootStopFromRecord(t *testing.T) {
	for _, f := range families {
		t.Run(f.name, func(t *testing.T) {
			rg := newRig(t, f.ip, "nic", "shv0", "cidr_netmask", f.prefix, "arp_count", "1", "nodad", "true")
			rg.want("start", 0, ocf.Success)
			rg.want("stop", 0, ocf.Success, "cidr_netmask", "200")
			if as := rg.addrsOf(false, "shv0", f.ip); len(as) != 0 {
				t.Fatalf("left with broken parameters: %v", as)
			}
			// Through the binary: a boolean the runtime cannot parse.
			rg.want("start", 0, ocf.Success)
			code, out := rg.binary(false, "stop", "arp_bg", "maybe")
			if code != 0 {
				t.Fatalf("stop with arp_bg=maybe: exit %d\n%s", code, out)
			} else if !strings.Contains(out, "stopping what start recorded") {
				t.Errorf("stop did not go through StopFromState:\n%s", out)
			}
			if as := rg.addrsOf(false, "shv0", f.ip); len(as) != 0 {
				t.Fatalf("left by the binary's stop: %v", as)
			}
			rg.want("start", 0, ocf.Success)
			r := &ocf.Request{Agent: "vip", Action: "stop", Instance: rg.inst,
				Log: ocf.NewLogger(ocf.LogConfig{Agent: "vip", Instance: rg.inst, Stderr: logWriter{rg.t}})}
			if err := StopFromState(context.Background(), r); err != nil {
				t.Fatal(err)
			}
			if as := rg.addrsOf(false, "shv0", f.ip); len(as) != 0 {
				t.Fatalf("left by StopFromState: %v", as)
			}
			if rec := rg.record(); rec != nil {
				t.Fatalf("record left: %+v", rec)
			}
		})
	}
}

// record reads the instance's state record (nil when there is none).
func (rg *rig) record() *record {
	rg.t.Helper()
	rec, err := loadRecord(rg.inst)
	if err != nil {
		rg.t.Fatal(err)
	}
	return rec
}

func (rg *rig) writeRecord(rec *record) {
	rg.t.Helper()
	if err := instance.Save(rg.inst, recordKind, rec); err != nil {
		rg.t.Fatal(err)
	}
}

// Monitor sees a deleted address and a link that is down.
func TestRootMonitorFaults(t *testing.T) {
	for _, f := range families {
		t.Run(f.name, func(t *testing.T) {
			rg := newRig(t, f.ip, "nic", "shv0", "cidr_netmask", f.prefix, "arp_count", "1", "nodad", "true")
			rg.want("start", 0, ocf.Success)
			// Deleted behind our back.
			h := rg.handle(false)
			a, _ := netlink.ParseAddr(f.ip + "/" + f.prefix)
			if err := h.AddrDel(rg.link(h, "shv0"), a); err != nil {
				t.Fatal(err)
			}
			err := rg.want("monitor", time.Second, ocf.NotRunning)
			if !strings.Contains(err.Error(), "is not on shv0") {
				t.Errorf("reason %v", err)
			}
			rg.want("start", 0, ocf.Success)
			// No carrier: the peer is down.
			rg.setLink(true, "shv1", false)
			err = rg.want("monitor", time.Second, ocf.ErrGeneric)
			if !strings.Contains(err.Error(), "shv0 has no carrier") {
				t.Errorf("reason %v", err)
			}
			rg.want("monitor", time.Second, ocf.Success, "check_link_status", "false")
			rg.setLink(true, "shv1", true)
			rg.want("monitor", time.Second, ocf.Success)
			// Administratively down (IPv6 addresses go with it).
			rg.setLink(false, "shv0", false)
			code, err := rg.run("monitor", time.Second)
			if code == ocf.Success || !strings.Contains(err.Error(), "shv0") || !strings.Contains(err.Error(), "down") {
				t.Errorf("monitor with shv0 down: %d %v", code, err)
			}
			if !f.v6 {
				if code != ocf.ErrGeneric {
					t.Errorf("code %d, want 1", code)
				}
			}
			rg.want("start", 0, ocf.Success)
			rg.want("monitor", time.Second, ocf.Success)
		})
	}
}

// stop removes exactly our address: the same IP with another prefix length
// stays.
func TestRootStopExact(t *testing.T) {
	rg := newRig(t, "192.0.2.13", "nic", "shv0", "cidr_netmask", "24", "arp_count", "1")
	rg.addAddr(false, "shv0", "192.0.2.13/28", 0)
	err := rg.want("monitor", time.Second, ocf.NotRunning)
	if !strings.Contains(err.Error(), "prefix length 28") {
		t.Errorf("reason %v", err)
	}
	rg.want("start", 0, ocf.Success)
	rg.want("monitor", time.Second, ocf.Success)
	rg.want("stop", 0, ocf.Success)
	as := rg.addrsOf(false, "shv0", "192.0.2.13")
	if len(as) != 1 {
		t.Fatalf("left %v", as)
	}
	if ones, _ := as[0].Mask.Size(); ones != 28 {
		t.Fatalf("left %v", as)
	}
	// IPv6 keys addresses without their prefix: someone else's is refused.
	rg6 := newRig(t, "2001:db8:5::13", "nic", "shv0", "cidr_netmask", "64", "arp_count", "1")
	rg6.addAddr(false, "shv0", "2001:db8:5::13/120", unix.IFA_F_NODAD)
	err = rg6.want("start", 0, ocf.ErrGeneric)
	if !strings.Contains(err.Error(), "not ours") {
		t.Errorf("reason %v", err)
	}
	rg6.want("stop", 0, ocf.Success)
	if as := rg6.addrsOf(false, "shv0", "2001:db8:5::13"); len(as) != 1 {
		t.Fatalf("stop touched another prefix: %v", as)
	}
}

// IPv6 duplicate address detection: a peer holding the address makes start
// fail and take its address back.
func TestRootDADFailed(t *testing.T) {
	rg := newRig(t, "2001:db8:5::20", "nic", "shv0", "cidr_netmask", "64", "arp_count", "1")
	rg.addAddr(true, "shv1", "2001:db8:5::20/64", unix.IFA_F_NODAD)
	err := rg.want("start", 0, ocf.ErrGeneric)
	if !strings.Contains(err.Error(), "duplicate address detection failed") {
		t.Errorf("reason %v", err)
	}
	if as := rg.addrsOf(false, "shv0", "2001:db8:5::20"); len(as) != 0 {
		t.Fatalf("left %v", as)
	}
	rg.want("monitor", time.Second, ocf.NotRunning)
	rg.want("stop", 0, ocf.Success)
}

// run_arping: an RFC 5227 probe answered means nothing is added.
func TestRootRunArping(t *testing.T) {
	rg := newRig(t, "192.0.2.30", "nic", "shv0", "cidr_netmask", "24", "run_arping", "true", "arp_count", "1")
	rg.addAddr(true, "shv1", "192.0.2.30/24", 0)
	err := rg.want("start", 0, ocf.ErrGeneric)
	if !strings.Contains(err.Error(), "collision") {
		t.Errorf("reason %v", err)
	}
	if as := rg.addrsOf(false, "shv0", "192.0.2.30"); len(as) != 0 {
		t.Fatalf("added despite the collision: %v", as)
	}
	rg.want("start", 0, ocf.Success, "ip", "192.0.2.31")
	if as := rg.addrsOf(false, "shv0", "192.0.2.31"); len(as) != 1 {
		t.Fatalf("not added: %v", as)
	}
}

// Missing namespace, missing interface: per-node errors, never 6; probe 7,
// stop 0.
func TestRootMissing(t *testing.T) {
	for _, c := range []struct {
		name string
		kv   []string
	}{
		{"namespace", []string{"network_namespace", "shv-does-not-exist"}},
		{"interface", []string{"nic", "shv9"}},
	} {
		for _, f := range families {
			t.Run(c.name+" "+f.name, func(t *testing.T) {
				rg := newRig(t, f.ip, append([]string{"cidr_netmask", f.prefix}, c.kv...)...)
				rg.want("validate-all", 0, ocf.ErrInstalled)
				rg.want("start", 0, ocf.ErrInstalled)
				rg.want("monitor", 0, ocf.NotRunning)
				rg.want("monitor", time.Second, ocf.NotRunning)
				rg.want("stop", 0, ocf.Success)
			})
		}
	}
	t.Run("bad configuration", func(t *testing.T) {
		rg := newRig(t, "192.0.2.14", "cidr_netmask", "40")
		rg.want("validate-all", 0, ocf.ErrConfigured)
		rg.want("start", 0, ocf.ErrConfigured)
		rg.want("monitor", 0, ocf.NotRunning)
		rg.want("monitor", time.Second, ocf.ErrGeneric)
		rg.want("stop", 0, ocf.Success)
	})
}

// lvs_support: a loopback copy of the address is taken away on start and
// put back on stop.
func TestRootLVS(t *testing.T) {
	rg := newRig(t, "192.0.2.40", "nic", "shv0", "cidr_netmask", "24", "lvs_support", "true", "arp_count", "1", "flush_routes", "true")
	rg.addAddr(false, "lo", "192.0.2.40/32", 0)
	rg.want("start", 0, ocf.Success)
	if as := rg.addrsOf(false, "lo", "192.0.2.40"); len(as) != 0 {
		t.Fatalf("loopback copy kept: %v", as)
	}
	if as := rg.addrsOf(false, "shv0", "192.0.2.40"); len(as) != 1 {
		t.Fatalf("not added: %v", as)
	}
	rg.want("stop", 0, ocf.Success)
	if as := rg.addrsOf(false, "lo", "192.0.2.40"); len(as) != 1 {
		t.Fatalf("loopback copy not restored: %v", as)
	}
	if as := rg.addrsOf(false, "shv0", "192.0.2.40"); len(as) != 0 {
		t.Fatalf("not removed: %v", as)
	}
}

// ocf-tester passes for IPv4 and IPv6, running the real binary through an
// agent symlink.
func TestRootOCFTester(t *testing.T) {
	require.Root(t)
	require.Command(t, "ocf-tester")
	bin := stackhaBinary(t)
	agent := filepath.Join(binDir, "vip")
	if _, err := os.Lstat(agent); err != nil {
		if err := os.Symlink(bin, agent); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range families {
		t.Run(f.name, func(t *testing.T) {
			rg := newRig(t, f.ip)
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
			defer cancel()
			args := []string{"-n", "shv-oct-" + strings.ToLower(f.name), "-o", "ip=" + f.ip, "-o", "cidr_netmask=" + f.prefix,
				"-o", "nic=" + rg.lab.Nic, "-o", "network_namespace=" + rg.lab.NS, agent}
			out, err := inStateRootCtx(ctx, t, false, append([]string{"ocf-tester"}, args...)...).CombinedOutput()
			if err != nil || !strings.Contains(string(out), "passed all tests") {
				t.Fatalf("ocf-tester %s: %v\n%s", strings.Join(args, " "), err, out)
			}
			if as := rg.addrsOf(false, "shv0", f.ip); len(as) != 0 {
				t.Fatalf("left behind: %v", as)
			}
		})
	}
}

func TestRootSandbox(t *testing.T) {
	require.Root(t)
	f, ok := sandbox.Lookup("vip")
	if !ok {
		t.Fatal("viptest registers no vip sandbox")
	}
	sb, err := f(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	ns := sb.Params["network_namespace"]
	if _, err := os.Stat("/run/netns/" + ns); err != nil {
		t.Fatalf("sandbox namespace: %v", err)
	}
	sb.Cleanup()
	if _, err := os.Stat("/run/netns/" + ns); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("sandbox namespace left: %v", err)
	}
}

// lvs_ipv6_addrlabel: the address/128 is in the label policy table while
// the address is up.
func TestRootAddrLabel(t *testing.T) {
	rg := newRig(t, "2001:db8:5::41", "nic", "shv0", "cidr_netmask", "64", "nodad", "true", "arp_count", "1",
		"lvs_ipv6_addrlabel", "true", "lvs_ipv6_addrlabel_value", "77")
	has := func() bool {
		s, err := openSystem(rg.lab.NS)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		ls, err := s.(*nlSystem).addrLabels()
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range ls {
			if l.Prefix == netip.MustParsePrefix("2001:db8:5::41/128") && l.Label == 77 {
				return true
			}
		}
		return false
	}
	if has() {
		t.Fatal("label before start")
	}
	rg.want("start", 0, ocf.Success)
	if !has() {
		t.Fatal("no label after start")
	}
	rg.want("start", 0, ocf.Success)
	rg.want("stop", 0, ocf.Success)
	if has() {
		t.Fatal("label left after stop")
	}
}

// No ip, arping or shell: the binary run under strace creates no process at
// all, except the one background announcer (a copy of itself) when arp_bg
// is on.
func TestRootNoChildProcesses(t *testing.T) {
	require.Command(t, "strace")
	rg := newRig(t, "192.0.2.60", "cidr_netmask", "24", "arp_count", "3", "arp_interval", "20")
	bin := stackhaBinary(t)
	trace := func(action string, kv ...string) (forks int, execs []string) {
		t.Helper()
		out := filepath.Join(t.TempDir(), "strace")
		cmd := inStateRoot(t, false, "strace", "-f", "-qq", "-e", "trace=fork,vfork,clone,clone3,execve", "-e", "signal=none", "-o", out, bin, "vip", action)
		cmd.Env = []string{"OCF_RESOURCE_INSTANCE=" + rg.inst, "HA_LOGFACILITY=none", "OCF_RESKEY_CRM_meta_interval=0"}
		for k, v := range rg.params(kv...) {
			cmd.Env = append(cmd.Env, "OCF_RESKEY_"+k+"="+v)
		}
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%s: %v\n%s", action, err, b)
		}
		b, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(string(b), "\n") {
			if strings.Contains(line, "resumed>") {
				continue
			}
			switch {
			case strings.Contains(line, "execve("):
				execs = append(execs, line)
			case strings.Contains(line, "CLONE_THREAD"):
			case strings.Contains(line, "clone(") || strings.Contains(line, "clone3(") || strings.Contains(line, "fork("):
				forks++
			}
		}
		return forks, execs[1:] // the first is the traced binary itself
	}
	for _, action := range []string{"validate-all", "start", "monitor", "stop"} {
		if forks, execs := trace(action, "arp_bg", "false"); forks != 0 || len(execs) != 0 {
			t.Errorf("%s: %d processes created, programs run: %v", action, forks, execs)
		}
	}
	forks, execs := trace("start", "arp_bg", "true")
	// Go's os/exec clones once, the first time, to check for pidfd
	// support: that process exits at once and runs nothing.
	if forks > 2 || len(execs) != 1 || !strings.Contains(execs[0], announceCmd) || !strings.Contains(execs[0], bin) {
		t.Errorf("start with arp_bg: %d processes, programs run: %v", forks, execs)
	}
	trace("stop")
}

// A link-local IPv6 address, on the nic given, announced from itself.
func TestRootLinkLocal(t *testing.T) {
	rg := newRig(t, "fe80::5:10", "nic", "shv0", "arp_count", "2", "arp_interval", "20")
	s := rg.sniff(unix.ETH_P_IPV6)
	rg.want("validate-all", 0, ocf.Success)
	rg.want("start", 0, ocf.Success)
	if as := rg.addrsOf(false, "shv0", "fe80::5:10"); len(as) != 1 {
		t.Fatalf("addresses: %v", as)
	} else if ones, _ := as[0].Mask.Size(); ones != 64 {
		t.Fatalf("prefix %v", as[0])
	}
	if n := unsolicitedNAs(s.frames(500*time.Millisecond), rg.lab.NicMAC, netip.MustParseAddr("fe80::5:10")); n != 2 {
		t.Fatalf("%d advertisements, want 2", n)
	}
	rg.want("monitor", time.Second, ocf.Success)
	rg.want("stop", 0, ocf.Success)
	rg.want("monitor", time.Second, ocf.NotRunning)
	delete(rg.base, "nic")
	rg.want("validate-all", 0, ocf.ErrConfigured)
}

// Without nic, stop finds our address even where the routing table no
// longer points.
func TestRootStopFindsMovedAddress(t *testing.T) {
	rg := newRig(t, "198.51.100.9", "cidr_netmask", "24")
	// Put it on lo by hand: findif places 198.51.100.9 nowhere (no route),
	// as after a routing change.
	rg.addAddr(false, "lo", "198.51.100.9/24", 0)
	rg.want("stop", 0, ocf.Success)
	if as := rg.addrsOf(false, "lo", "198.51.100.9"); len(as) != 0 {
		t.Fatalf("left on lo: %v", as)
	}
	// Where findif does place it, the one elsewhere goes too.
	rg2 := newRig(t, "192.0.2.90", "cidr_netmask", "28")
	rg2.addAddr(false, "lo", "192.0.2.90/28", 0)
	rg2.want("stop", 0, ocf.Success)
	if as := rg2.addrsOf(false, "lo", "192.0.2.90"); len(as) != 0 {
		t.Fatalf("left on lo: %v", as)
	}
}
