package main

import (
	"fmt"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// addAddresses puts n addresses of 2001:db8:6::/64 (as /128, without
// duplicate address detection) on nic in the namespace.
func addAddresses(ns, nic string, n int) error {
	return eachAddress(ns, nic, n, func(h *netlink.Handle, l netlink.Link, a *netlink.Addr) error {
		a.Flags = unix.IFA_F_NODAD
		return h.AddrAdd(l, a)
	})
}

func delAddresses(ns, nic string, n int) error {
	return eachAddress(ns, nic, n, func(h *netlink.Handle, l netlink.Link, a *netlink.Addr) error { return h.AddrDel(l, a) })
}

func eachAddress(ns, nic string, n int, f func(*netlink.Handle, netlink.Link, *netlink.Addr) error) error {
	nsh, err := netns.GetFromName(ns)
	if err != nil {
		return fmt.Errorf("namespace %s: %w", ns, err)
	}
	defer nsh.Close()
	h, err := netlink.NewHandleAt(nsh)
	if err != nil {
		return fmt.Errorf("netlink in %s: %w", ns, err)
	}
	defer h.Close()
	l, err := h.LinkByName(nic)
	if err != nil {
		return err
	}
	for i := 1; i <= n; i++ {
		a, err := netlink.ParseAddr(fmt.Sprintf("2001:db8:6::%x/128", i))
		if err != nil {
			return err
		}
		if err := f(h, l, a); err != nil {
			return fmt.Errorf("address %d of %d: %w", i, n, err)
		}
	}
	return nil
}
