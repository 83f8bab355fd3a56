package vip

import (
	"net"
	"testing"

	"github.com/stackha/stackha/ocf"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// nic given by an alternative name (ip link property add ... altname),
// longer than an interface name can be: the address goes on the interface,
// and the record, the label and monitor use the interface's own name.
func TestRootAltName(t *testing.T) {
	const alt = "shv-uplink-to-the-api-network-by-its-alternative-name"
	rg := newRig(t, "192.0.2.43", "nic", alt, "cidr_netmask", "24", "iflabel", "api", "arp_count", "1")
	h := rg.handle(false)
	if err := h.LinkAddAltName(rg.link(h, rg.lab.Nic), alt); err != nil {
		t.Skipf("this kernel does not take alternative names: %v", err)
	}
	rg.want("validate-all", 0, ocf.Success)
	rg.want("monitor", 0, ocf.NotRunning)
	rg.want("start", 0, ocf.Success)
	as := rg.addrsOf(false, rg.lab.Nic, "192.0.2.43")
	if len(as) != 1 || as[0].Label != rg.lab.Nic+":api" {
		t.Fatalf("addresses on %s: %+v, want one labelled %s:api", rg.lab.Nic, as, rg.lab.Nic)
	}
	if rec := rg.record(); rec == nil || rec.Nic != rg.lab.Nic {
		t.Fatalf("record: %+v, want nic %s", rec, rg.lab.Nic)
	}
	rg.want("monitor", 0, ocf.Success)
	rg.want("stop", 0, ocf.Success)
	if as := rg.addrsOf(false, rg.lab.Nic, "192.0.2.43"); len(as) != 0 {
		t.Fatalf("left after stop: %+v", as)
	}
	// an alternative name of no interface is a missing interface
	rg.want("start", 0, ocf.ErrInstalled, "nic", "shv-no-such-alternative-name-here")
}

// proto: a router-advertised /64 inside the kernel's /48 takes the address
// unless proto=kernel keeps findif to the kernel's routes.
func TestRootProto(t *testing.T) {
	rg := newRig(t, "2001:db8:9::43", "nodad", "true", "arp_count", "1")
	h := rg.handle(false)
	l := rg.link(h, rg.lab.Nic)
	for _, r := range []struct {
		dst   string
		proto netlink.RouteProtocol
	}{{"2001:db8:9::/48", unix.RTPROT_KERNEL}, {"2001:db8:9::/64", unix.RTPROT_RA}} {
		_, dst, _ := net.ParseCIDR(r.dst)
		if err := h.RouteAdd(&netlink.Route{LinkIndex: l.Attrs().Index, Dst: dst, Protocol: r.proto}); err != nil {
			t.Fatalf("route %s: %v", r.dst, err)
		}
	}
	for _, c := range []struct {
		proto string
		bits  int
	}{{"", 64}, {"kernel", 48}, {"ra", 64}} {
		rg.want("start", 0, ocf.Success, "proto", c.proto)
		as := rg.addrsOf(false, rg.lab.Nic, "2001:db8:9::43")
		if ones, _ := as[0].Mask.Size(); len(as) != 1 || ones != c.bits {
			t.Fatalf("proto %q: %+v, want /%d", c.proto, as, c.bits)
		}
		rg.want("stop", 0, ocf.Success, "proto", c.proto)
	}
	rg.want("start", 0, ocf.ErrArgs, "proto", "bird")
}
