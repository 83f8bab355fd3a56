// Package viptest is the vip agent's test support: a throwaway network of
// two namespaces joined by a veth pair, and the sandbox the conformance walk
// and the benchmarks drive the agent in. Only tests and benchmarks import
// it; nothing here is in the shipped binary.
package viptest

import (
	"context"
	"fmt"
	"net"
	"os"
	"runtime"
	"sync/atomic"

	"github.com/stackha/stackha/internal/testutil/sandbox"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// Lab is a throwaway network: two named network namespaces joined by a veth
// pair, Nic in NS and PeerNic in Peer, each with an address in 192.0.2.0/24
// and 2001:db8:5::/64 (TEST-NET and documentation ranges only). Tests, the
// conformance sandbox and the benchmark drive the agent against it.
type Lab struct {
	NS, Peer     string
	Nic, PeerNic string
	NicMAC       net.HardwareAddr
}

// Lab addresses.
const (
	LabBase4  = "192.0.2.1"
	LabPeer4  = "192.0.2.2"
	LabBase6  = "2001:db8:5::1"
	LabPeer6  = "2001:db8:5::2"
	labPrefix = "shv-"
)

var labSeq atomic.Int64

// NewLab creates the namespaces (named shv-<tag>-<pid>-<n> and its -p
// peer) and the veth pair. Root only.
func NewLab(tag string) (*Lab, error) {
	n := labSeq.Add(1)
	l := &Lab{NS: fmt.Sprintf("%s%s-%d-%d", labPrefix, tag, os.Getpid(), n), Nic: "shv0", PeerNic: "shv1"}
	l.Peer = l.NS + "-p"
	if err := l.create(); err != nil {
		l.Close()
		return nil, err
	}
	return l, nil
}

func newNamedNetns(name string) error {
	errc := make(chan error, 1)
	go func() {
		// The thread stays locked and ends with this goroutine: the
		// namespace NewNamed moved it into never reaches other code.
		runtime.LockOSThread()
		ns, err := netns.NewNamed(name)
		if err != nil {
			errc <- fmt.Errorf("creating network namespace %s: %w", name, err)
			return
		}
		ns.Close()
		errc <- nil
	}()
	return <-errc
}

func (l *Lab) create() error {
	for _, name := range []string{l.NS, l.Peer} {
		if err := newNamedNetns(name); err != nil {
			return err
		}
	}
	ns, err := netns.GetFromName(l.NS)
	if err != nil {
		return err
	}
	defer ns.Close()
	peer, err := netns.GetFromName(l.Peer)
	if err != nil {
		return err
	}
	defer peer.Close()
	h, err := netlink.NewHandleAt(ns, unix.NETLINK_ROUTE)
	if err != nil {
		return err
	}
	defer h.Close()
	hp, err := netlink.NewHandleAt(peer, unix.NETLINK_ROUTE)
	if err != nil {
		return err
	}
	defer hp.Close()
	veth := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: l.Nic}, PeerName: l.PeerNic, PeerNamespace: netlink.NsFd(int(peer))}
	if err := h.LinkAdd(veth); err != nil {
		return fmt.Errorf("creating veth %s/%s: %w", l.Nic, l.PeerNic, err)
	}
	for _, side := range []struct {
		h        *netlink.Handle
		nic      string
		ip4, ip6 string
	}{{h, l.Nic, LabBase4, LabBase6}, {hp, l.PeerNic, LabPeer4, LabPeer6}} {
		lo, err := side.h.LinkByName("lo")
		if err != nil {
			return err
		}
		if err := side.h.LinkSetUp(lo); err != nil {
			return err
		}
		link, err := side.h.LinkByName(side.nic)
		if err != nil {
			return err
		}
		for _, a := range []string{side.ip4 + "/24", side.ip6 + "/64"} {
			addr, _ := netlink.ParseAddr(a)
			addr.Flags = unix.IFA_F_NODAD
			if err := side.h.AddrAdd(link, addr); err != nil {
				return fmt.Errorf("adding %s to %s: %w", a, side.nic, err)
			}
		}
		if err := side.h.LinkSetUp(link); err != nil {
			return err
		}
		if side.nic == l.Nic {
			l.NicMAC = link.Attrs().HardwareAddr
		}
	}
	return nil
}

// Close deletes the namespaces (and with them the veth pair).
func (l *Lab) Close() {
	for _, name := range []string{l.NS, l.Peer} {
		netns.DeleteNamed(name)
	}
}

func init() { sandbox.Register("vip", Sandbox) }

// Sandbox prepares a lab for ocf-tester: the address 192.0.2.10/24 on the
// lab's veth inside its namespace.
func Sandbox(ctx context.Context, dir string) (*sandbox.Sandbox, error) {
	l, err := NewLab("sb")
	if err != nil {
		return nil, err
	}
	return &sandbox.Sandbox{
		Params:  map[string]string{"ip": "192.0.2.10", "cidr_netmask": "24", "nic": l.Nic, "network_namespace": l.NS},
		Cleanup: l.Close,
	}, nil
}
