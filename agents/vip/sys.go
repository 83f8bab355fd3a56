package vip

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"runtime"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// errNoNetns says the network_namespace does not exist on this node.
var errNoNetns = errors.New("network namespace does not exist")

// system is the node seen through netlink, in our own network namespace or
// in network_namespace.
type system struct {
	nsName string
	ns     netns.NsHandle // -1: the current namespace
	h      *netlink.Handle
}

// openSystem opens a netlink handle in the named namespace ("" = ours).
func openSystem(nsName string) (*system, error) {
	s := &system{nsName: nsName, ns: netns.None()}
	if nsName != "" {
		ns, err := netns.GetFromName(nsName)
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				return nil, fmt.Errorf("%w: %s (/run/netns/%s)", errNoNetns, nsName, nsName)
			}
			return nil, fmt.Errorf("opening network namespace %s: %w", nsName, err)
		}
		s.ns = ns
	}
	h, err := netlink.NewHandleAt(s.ns, unix.NETLINK_ROUTE)
	if err != nil {
		s.ns.Close()
		return nil, fmt.Errorf("netlink socket: %w", err)
	}
	s.h = h
	return s, nil
}

func (s *system) Close() {
	if s.h != nil {
		s.h.Close()
	}
	if s.ns.IsOpen() {
		s.ns.Close()
	}
}

// retry runs a netlink dump again when the kernel says it was interrupted
// (the results would be inconsistent).
func retry[T any](f func() (T, error)) (T, error) {
	var v T
	var err error
	for i := 0; i < 5; i++ {
		v, err = f()
		if !errors.Is(err, netlink.ErrDumpInterrupted) {
			return v, err
		}
	}
	return v, err
}

func family(v6 bool) int {
	if v6 {
		return netlink.FAMILY_V6
	}
	return netlink.FAMILY_V4
}

// linkNames maps interface indexes to names.
func (s *system) linkNames() (map[int]string, error) {
	links, err := retry(s.h.LinkList)
	if err != nil {
		return nil, fmt.Errorf("listing interfaces: %w", err)
	}
	m := make(map[int]string, len(links))
	for _, l := range links {
		m[l.Attrs().Index] = l.Attrs().Name
	}
	return m, nil
}

// routes lists the main table (and the local table, for IPv4 loopback
// addresses: loopback) in findif's terms.
func (s *system) routes(v6, loopback bool, names map[int]string) ([]Route, error) {
	var out []Route
	tables := []int{unix.RT_TABLE_MAIN}
	if loopback {
		tables = append(tables, unix.RT_TABLE_LOCAL)
	}
	for _, table := range tables {
		rs, err := retry(func() ([]netlink.Route, error) {
			return s.h.RouteListFiltered(family(v6), &netlink.Route{Table: table}, netlink.RT_FILTER_TABLE)
		})
		if err != nil {
			return nil, fmt.Errorf("listing routes: %w", err)
		}
		for _, r := range rs {
			local := r.Type == unix.RTN_LOCAL
			if (table == unix.RT_TABLE_MAIN && r.Type != unix.RTN_UNICAST) || (table == unix.RT_TABLE_LOCAL && !local) {
				continue
			}
			x := Route{Dev: names[r.LinkIndex], Scope: uint8(r.Scope), Local: local, Metric: r.Priority}
			if r.Dst != nil {
				if p, ok := prefixOf(r.Dst); ok {
					x.Dst = p
				}
			}
			if a, ok := netip.AddrFromSlice(r.Src); ok && r.Src != nil {
				x.Src = a.Unmap()
			}
			out = append(out, x)
		}
	}
	return out, nil
}

func prefixOf(n *net.IPNet) (netip.Prefix, bool) {
	a, ok := netip.AddrFromSlice(n.IP)
	if !ok {
		return netip.Prefix{}, false
	}
	ones, _ := n.Mask.Size()
	return netip.PrefixFrom(a.Unmap(), ones), true
}

// addrs lists the family's addresses (on one link when link is not nil).
func (s *system) addrs(link netlink.Link, v6 bool, names map[int]string) ([]IfAddr, error) {
	as, err := retry(func() ([]netlink.Addr, error) { return s.h.AddrList(link, family(v6)) })
	if err != nil {
		return nil, fmt.Errorf("listing addresses: %w", err)
	}
	out := make([]IfAddr, 0, len(as))
	for _, a := range as {
		if a.IPNet == nil {
			continue
		}
		p, ok := prefixOf(a.IPNet)
		if !ok {
			continue
		}
		x := IfAddr{Prefix: p, Label: a.Label, Flags: uint32(a.Flags)}
		if link != nil {
			x.Dev = link.Attrs().Name
		} else {
			x.Dev = names[a.LinkIndex]
		}
		if b, ok := netip.AddrFromSlice(a.Broadcast); ok && a.Broadcast != nil {
			x.Broadcast = b.Unmap()
		}
		out = append(out, x)
	}
	return out, nil
}

// link finds an interface; a missing one is errNoLink.
func (s *system) link(name string) (netlink.Link, error) {
	l, err := s.h.LinkByName(name)
	if err != nil {
		var nf netlink.LinkNotFoundError
		if errors.As(err, &nf) || errors.Is(err, unix.ENODEV) {
			return nil, fmt.Errorf("%w: %s", errNoLink, name)
		}
		return nil, fmt.Errorf("looking up interface %s: %w", name, err)
	}
	return l, nil
}

var errNoLink = errors.New("no such interface")

// do runs f on an OS thread in the namespace: what it opens (packet and
// ICMPv6 sockets, /proc/sys/net files) belongs to that namespace for good.
// A thread that could not be moved back is never reused.
func (s *system) do(f func() error) error {
	return inNetns(s.ns, f)
}

func inNetns(ns netns.NsHandle, f func() error) error {
	if !ns.IsOpen() {
		return f()
	}
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := netns.Get()
		if err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("reading the current network namespace: %w", err)
			return
		}
		defer orig.Close()
		if err := netns.Set(ns); err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("entering the network namespace: %w", err)
			return
		}
		ferr := f()
		if err := netns.Set(orig); err != nil {
			// Leave the thread locked: it ends with this goroutine.
			errc <- fmt.Errorf("returning from the network namespace: %w", err)
			return
		}
		runtime.UnlockOSThread()
		errc <- ferr
	}()
	return <-errc
}

// netInterface turns a netlink link into the net.Interface the packet
// libraries want, without asking the kernel again (which would look in the
// calling thread's namespace).
func netInterface(l netlink.Link) *net.Interface {
	a := l.Attrs()
	return &net.Interface{Index: a.Index, MTU: a.MTU, Name: a.Name, HardwareAddr: a.HardwareAddr, Flags: a.Flags}
}

// linkState says whether a link is up and has carrier.
func linkState(l netlink.Link) (up, carrier bool) {
	a := l.Attrs()
	return a.Flags&net.FlagUp != 0, a.RawFlags&unix.IFF_LOWER_UP != 0
}
