package vip

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"runtime"
	"time"

	"github.com/vishvananda/netns"
)

func (s *nlSystem) FlushRouteCache(v6 bool) error {
	p := "/proc/sys/net/ipv4/route/flush"
	if v6 {
		p = "/proc/sys/net/ipv6/route/flush"
	}
	return s.Do(func() error {
		if err := os.WriteFile(p, []byte("1\n"), 0); err != nil {
			return fmt.Errorf("flushing the route cache: %w", err)
		}
		return nil
	})
}

// Probe sends two RFC 5227 probes a second apart on a packet socket opened
// in the namespace.
func (s *nlSystem) Probe(ctx context.Context, l *Link, ip netip.Addr) error {
	ifi := netInterface(l)
	if len(ifi.HardwareAddr) != 6 {
		return fmt.Errorf("interface %s has no Ethernet address", ifi.Name)
	}
	var conn net.PacketConn
	if err := s.Do(func() error {
		var err error
		conn, err = listenARP(ifi)
		return err
	}); err != nil {
		return err
	}
	defer conn.Close()
	return probeARP(ctx, conn, ifi.HardwareAddr, ip, 2, time.Second)
}

func (s *nlSystem) OpenAnnouncer(l *Link, ip netip.Addr) (announcer, error) {
	var a announcer
	err := s.Do(func() error {
		var err error
		a, err = openAnnouncer(netInterface(l), ip)
		return err
	})
	return a, err
}

// Do runs f on an OS thread in the namespace: what it opens (packet and
// ICMPv6 sockets, /proc/sys/net files) belongs to that namespace for good.
// A thread that could not be moved back is never reused.
func (s *nlSystem) Do(f func() error) error {
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
