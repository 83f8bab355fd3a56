package vip

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"time"

	"github.com/mdlayher/arp"
	"github.com/mdlayher/ethernet"
	"github.com/mdlayher/ndp"
	"github.com/mdlayher/packet"
	"golang.org/x/net/ipv6"
	"golang.org/x/sys/unix"
)

var zeroMAC = net.HardwareAddr{0, 0, 0, 0, 0, 0}

// arpFrame is one Ethernet frame carrying an ARP packet to dst.
func arpFrame(p *arp.Packet, dst net.HardwareAddr) ([]byte, error) {
	pb, err := p.MarshalBinary()
	if err != nil {
		return nil, fmt.Errorf("encoding ARP: %w", err)
	}
	f := &ethernet.Frame{Destination: dst, Source: p.SenderHardwareAddr, EtherType: ethernet.EtherTypeARP, Payload: pb}
	fb, err := f.MarshalBinary()
	if err != nil {
		return nil, fmt.Errorf("encoding Ethernet frame: %w", err)
	}
	return fb, nil
}

// garpFrames are the two frames of one gratuitous ARP announcement of ip
// from mac, both to the broadcast address with sender and target IP the
// address itself: a request (RFC 5227 "ARP Announcement", target hardware
// address zero) and a reply (target hardware address broadcast), since
// neighbours differ in which one updates their caches.
func garpFrames(mac net.HardwareAddr, ip netip.Addr) ([][]byte, error) {
	req, err := arp.NewPacket(arp.OperationRequest, mac, ip, zeroMAC, ip)
	if err != nil {
		return nil, fmt.Errorf("ARP request for %s: %w", ip, err)
	}
	rep, err := arp.NewPacket(arp.OperationReply, mac, ip, ethernet.Broadcast, ip)
	if err != nil {
		return nil, fmt.Errorf("ARP reply for %s: %w", ip, err)
	}
	var out [][]byte
	for _, p := range []*arp.Packet{req, rep} {
		fb, err := arpFrame(p, ethernet.Broadcast)
		if err != nil {
			return nil, err
		}
		out = append(out, fb)
	}
	return out, nil
}

// probeFrame is an RFC 5227 ARP probe for ip: a request with sender IP
// 0.0.0.0, so that nobody's cache learns anything from it.
func probeFrame(mac net.HardwareAddr, ip netip.Addr) ([]byte, error) {
	p, err := arp.NewPacket(arp.OperationRequest, mac, netip.IPv4Unspecified(), zeroMAC, ip)
	if err != nil {
		return nil, fmt.Errorf("ARP probe for %s: %w", ip, err)
	}
	return arpFrame(p, ethernet.Broadcast)
}

// unsolicitedNA is the neighbour advertisement announcing ip at mac:
// Override set, Solicited clear, with the target link-layer address option
// (RFC 4861 7.2.6).
func unsolicitedNA(mac net.HardwareAddr, ip netip.Addr) *ndp.NeighborAdvertisement {
	return &ndp.NeighborAdvertisement{
		Override:      true,
		TargetAddress: ip,
		Options:       []ndp.Option{&ndp.LinkLayerAddress{Direction: ndp.Target, Addr: mac}},
	}
}

// allNodes is ff02::1.
func allNodes() netip.Addr {
	return netip.AddrFrom16([16]byte{0: 0xff, 1: 0x02, 15: 0x01})
}

// announcer sends one announcement round of the address.
type announcer interface {
	announce() error
	Close() error
}

// arpAnnouncer writes gratuitous ARP frames on a packet socket.
type arpAnnouncer struct {
	conn   net.PacketConn
	frames [][]byte
}

func (a *arpAnnouncer) announce() error {
	for _, f := range a.frames {
		if _, err := a.conn.WriteTo(f, &packet.Addr{HardwareAddr: ethernet.Broadcast}); err != nil {
			return fmt.Errorf("sending gratuitous ARP: %w", err)
		}
	}
	return nil
}

func (a *arpAnnouncer) Close() error { return a.conn.Close() }

// naAnnouncer writes unsolicited neighbour advertisements to all nodes.
type naAnnouncer struct {
	conn *ndp.Conn
	msg  *ndp.NeighborAdvertisement
}

func (a *naAnnouncer) announce() error {
	if err := a.conn.WriteTo(a.msg, nil, allNodes()); err != nil {
		return fmt.Errorf("sending unsolicited neighbour advertisement: %w", err)
	}
	return nil
}

func (a *naAnnouncer) Close() error { return a.conn.Close() }

// openAnnouncer opens the socket that announces ip on ifi. It must run in
// the interface's network namespace. An IPv6 address must no longer be
// tentative: the advertisement is sent from it.
func openAnnouncer(ifi *net.Interface, ip netip.Addr) (announcer, error) {
	if len(ifi.HardwareAddr) != 6 {
		return nil, fmt.Errorf("interface %s has no Ethernet address to announce", ifi.Name)
	}
	if ip.Is4() {
		frames, err := garpFrames(ifi.HardwareAddr, ip)
		if err != nil {
			return nil, err
		}
		c, err := packet.Listen(ifi, packet.Raw, unix.ETH_P_ARP, nil)
		if err != nil {
			return nil, fmt.Errorf("opening a packet socket on %s: %w", ifi.Name, err)
		}
		return &arpAnnouncer{conn: c, frames: frames}, nil
	}
	c, _, err := ndp.Listen(ifi, ndp.Addr(ip.String()))
	if err != nil {
		return nil, fmt.Errorf("opening an ICMPv6 socket on %s from %s: %w", ifi.Name, ip, err)
	}
	var f ipv6.ICMPFilter
	f.SetAll(true) // we only send
	if err := c.SetICMPFilter(&f); err != nil {
		c.Close()
		return nil, fmt.Errorf("ICMPv6 filter: %w", err)
	}
	return &naAnnouncer{conn: c, msg: unsolicitedNA(ifi.HardwareAddr, ip)}, nil
}

// announceLoop sends count rounds, interval apart, the first at once.
// ctx ends it early. The round runs through do (in the namespace).
func announceLoop(ctx context.Context, a announcer, do func(func() error) error, count int, interval time.Duration) (sent int, err error) {
	t := time.NewTimer(0)
	defer t.Stop()
	for sent < count {
		if sent > 0 {
			t.Reset(interval)
			select {
			case <-ctx.Done():
				return sent, ctx.Err()
			case <-t.C:
			}
		}
		if err := do(a.announce); err != nil {
			return sent, err
		}
		sent++
	}
	return sent, nil
}

// errConflict says an ARP probe was answered.
var errConflict = errors.New("address in use")

// probeARP runs RFC 5227 duplicate address detection for ip on conn:
// probes probes, gap apart, and listens until gap after the last one. Any
// ARP from another station that claims ip (a reply or request with sender
// ip, or a probe of its own for ip) is a conflict: errConflict, naming the
// station's hardware address.
func probeARP(ctx context.Context, conn net.PacketConn, mac net.HardwareAddr, ip netip.Addr, probes int, gap time.Duration) error {
	frame, err := probeFrame(mac, ip)
	if err != nil {
		return err
	}
	buf := make([]byte, 1600)
	for i := 0; i < probes; i++ {
		if _, err := conn.WriteTo(frame, &packet.Addr{HardwareAddr: ethernet.Broadcast}); err != nil {
			return fmt.Errorf("sending ARP probe: %w", err)
		}
		until := time.Now().Add(gap)
		if d, ok := ctx.Deadline(); ok && d.Before(until) {
			until = d
		}
		for {
			if err := conn.SetReadDeadline(until); err != nil {
				return fmt.Errorf("ARP probe: %w", err)
			}
			n, _, err := conn.ReadFrom(buf)
			if err != nil {
				var ne net.Error
				if errors.As(err, &ne) && ne.Timeout() {
					break
				}
				return fmt.Errorf("reading ARP replies: %w", err)
			}
			if hw, ok := claims(buf[:n], mac, ip); ok {
				return fmt.Errorf("%w: %s answered for %s", errConflict, hw, ip)
			}
		}
		if ctx.Err() != nil {
			return fmt.Errorf("ARP probe: %w", ctx.Err())
		}
	}
	return nil
}

// claims reports whether an Ethernet frame is ARP from another station that
// holds or wants ip.
func claims(frame []byte, mac net.HardwareAddr, ip netip.Addr) (net.HardwareAddr, bool) {
	var f ethernet.Frame
	if err := f.UnmarshalBinary(frame); err != nil || f.EtherType != ethernet.EtherTypeARP {
		return nil, false
	}
	var p arp.Packet
	if err := p.UnmarshalBinary(f.Payload); err != nil {
		return nil, false
	}
	if p.SenderHardwareAddr.String() == mac.String() {
		return nil, false
	}
	if p.SenderIP == ip {
		return p.SenderHardwareAddr, true
	}
	if p.Operation == arp.OperationRequest && p.SenderIP == netip.IPv4Unspecified() && p.TargetIP == ip {
		return p.SenderHardwareAddr, true
	}
	return nil, false
}
