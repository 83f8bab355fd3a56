package vip

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/mdlayher/arp"
	"github.com/mdlayher/ethernet"
	"github.com/mdlayher/ndp"
	"github.com/stackha/stackha/internal/testutil"
)

var (
	testMAC = net.HardwareAddr{0x02, 0x00, 0x5e, 0x10, 0x20, 0x30}
	testIP4 = netip.MustParseAddr("192.0.2.10")
	testIP6 = netip.MustParseAddr("2001:db8:5::10")
)

// The exact bytes on the wire: Ethernet frames of the gratuitous ARP and the
// probe, and the ICMPv6 body of the neighbour advertisement (the kernel
// fills in its checksum).
func TestPacketsGolden(t *testing.T) {
	var out strings.Builder
	frames, err := garpFrames(testMAC, testIP4)
	if err != nil {
		t.Fatal(err)
	}
	probe, err := probeFrame(testMAC, testIP4)
	if err != nil {
		t.Fatal(err)
	}
	na, err := ndp.MarshalMessage(unsolicitedNA(testMAC, testIP6))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []struct {
		name string
		b    []byte
	}{
		{"gratuitous ARP request (Ethernet frame)", frames[0]},
		{"gratuitous ARP reply (Ethernet frame)", frames[1]},
		{"RFC 5227 ARP probe (Ethernet frame)", probe},
		{"unsolicited neighbour advertisement (ICMPv6)", na},
	} {
		out.WriteString("# " + s.name + "\n" + hex.Dump(s.b))
	}
	testutil.Golden(t, "", []byte(out.String()))

	// And what they mean, decoded again.
	for i, op := range []arp.Operation{arp.OperationRequest, arp.OperationReply} {
		var f ethernet.Frame
		var p arp.Packet
		if err := f.UnmarshalBinary(frames[i]); err != nil {
			t.Fatal(err)
		}
		if err := p.UnmarshalBinary(f.Payload); err != nil {
			t.Fatal(err)
		}
		if f.Destination.String() != "ff:ff:ff:ff:ff:ff" || p.Operation != op || p.SenderIP != testIP4 ||
			p.TargetIP != testIP4 || p.SenderHardwareAddr.String() != testMAC.String() {
			t.Errorf("frame %d: %+v %+v", i, f, p)
		}
	}
	m, err := ndp.ParseMessage(na)
	if err != nil {
		t.Fatal(err)
	}
	adv := m.(*ndp.NeighborAdvertisement)
	lla := adv.Options[0].(*ndp.LinkLayerAddress)
	if !adv.Override || adv.Solicited || adv.Router || adv.TargetAddress != testIP6 ||
		lla.Direction != ndp.Target || lla.Addr.String() != testMAC.String() {
		t.Errorf("NA %+v %+v", adv, lla)
	}
}

// fakeConn is a net.PacketConn that records writes and hands out queued
// frames, then a timeout.
type fakeConn struct {
	net.PacketConn
	written [][]byte
	queue   [][]byte
}

type timeoutErr struct{}

func (timeoutErr) Error() string   { return "i/o timeout" }
func (timeoutErr) Timeout() bool   { return true }
func (timeoutErr) Temporary() bool { return true }

func (c *fakeConn) WriteTo(b []byte, _ net.Addr) (int, error) {
	c.written = append(c.written, append([]byte(nil), b...))
	return len(b), nil
}

func (c *fakeConn) ReadFrom(b []byte) (int, net.Addr, error) {
	if len(c.queue) == 0 {
		return 0, nil, timeoutErr{}
	}
	n := copy(b, c.queue[0])
	c.queue = c.queue[1:]
	return n, nil, nil
}

func (c *fakeConn) SetReadDeadline(time.Time) error { return nil }
func (c *fakeConn) Close() error                    { return nil }

func mustFrame(t *testing.T, op arp.Operation, hw net.HardwareAddr, sip netip.Addr, thw net.HardwareAddr, tip netip.Addr) []byte {
	t.Helper()
	p, err := arp.NewPacket(op, hw, sip, thw, tip)
	if err != nil {
		t.Fatal(err)
	}
	b, err := arpFrame(p, ethernet.Broadcast)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestProbeARP(t *testing.T) {
	other := net.HardwareAddr{0x02, 0, 0, 0, 0, 0x99}
	unrelated := netip.MustParseAddr("192.0.2.99")
	cases := []struct {
		name     string
		queue    [][]byte
		conflict bool
		probes   int // probes sent
	}{
		{"silence", nil, false, 2},
		{"our own probe echoed", [][]byte{mustFrame(t, arp.OperationRequest, testMAC, netip.IPv4Unspecified(), zeroMAC, testIP4)}, false, 2},
		{"unrelated traffic", [][]byte{mustFrame(t, arp.OperationReply, other, unrelated, testMAC, unrelated)}, false, 2},
		{"a reply", [][]byte{mustFrame(t, arp.OperationReply, other, testIP4, testMAC, netip.IPv4Unspecified())}, true, 1},
		{"a request from the holder", [][]byte{mustFrame(t, arp.OperationRequest, other, testIP4, zeroMAC, unrelated)}, true, 1},
		{"another prober", [][]byte{mustFrame(t, arp.OperationRequest, other, netip.IPv4Unspecified(), zeroMAC, testIP4)}, true, 1},
		{"garbage", [][]byte{{1, 2, 3}}, false, 2},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			conn := &fakeConn{queue: c.queue}
			err := probeARP(context.Background(), conn, testMAC, testIP4, 2, time.Millisecond)
			if got := errors.Is(err, errConflict); got != c.conflict || (err != nil && !got) {
				t.Fatalf("err = %v, want conflict %v", err, c.conflict)
			}
			if len(conn.written) != c.probes {
				t.Fatalf("%d probes sent, want %d", len(conn.written), c.probes)
			}
			want, _ := probeFrame(testMAC, testIP4)
			if !bytes.Equal(conn.written[0], want) {
				t.Fatalf("probe bytes %x", conn.written[0])
			}
		})
	}
}

type countAnnouncer struct {
	n    int
	fail int // fail on this round (1-based); 0 never
}

func (a *countAnnouncer) announce() error {
	a.n++
	if a.n == a.fail {
		return errors.New("boom")
	}
	return nil
}
func (a *countAnnouncer) Close() error { return nil }

func direct(f func() error) error { return f() }

func TestAnnounceLoop(t *testing.T) {
	a := &countAnnouncer{}
	sent, err := announceLoop(context.Background(), a, direct, 4, time.Microsecond)
	if err != nil || sent != 4 || a.n != 4 {
		t.Fatalf("sent %d (%d), %v", sent, a.n, err)
	}
	a = &countAnnouncer{fail: 2}
	sent, err = announceLoop(context.Background(), a, direct, 4, time.Microsecond)
	if err == nil || sent != 1 {
		t.Fatalf("sent %d, %v; want a failure after 1", sent, err)
	}
	// A cancelled context still lets the first one out, then stops.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	a = &countAnnouncer{}
	sent, err = announceLoop(ctx, a, direct, 4, time.Hour)
	if !errors.Is(err, context.Canceled) || sent != 1 {
		t.Fatalf("sent %d, %v", sent, err)
	}
}

func TestARPAnnouncerWrites(t *testing.T) {
	conn := &fakeConn{}
	frames, _ := garpFrames(testMAC, testIP4)
	a := &arpAnnouncer{conn: conn, frames: frames}
	if err := a.announce(); err != nil {
		t.Fatal(err)
	}
	if len(conn.written) != 2 || !bytes.Equal(conn.written[0], frames[0]) || !bytes.Equal(conn.written[1], frames[1]) {
		t.Fatalf("written %x", conn.written)
	}
}
