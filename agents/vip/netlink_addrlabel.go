package vip

import (
	"errors"
	"fmt"
	"net/netip"

	"github.com/vishvananda/netlink/nl"
	"golang.org/x/sys/unix"
)

// The IPv6 address label policy table (RFC 6724, `ip addrlabel`), used by
// lvs_ipv6_addrlabel so that the virtual address is not picked as a source
// address. vishvananda/netlink has no call for it: these are the raw
// RTM_*ADDRLABEL messages.

// ifAddrLblMsg is struct ifaddrlblmsg for one IPv6 prefix.
type ifAddrLblMsg struct{ prefixLen uint8 }

func (m ifAddrLblMsg) Len() int { return unix.SizeofIfAddrlblmsg }

func (m ifAddrLblMsg) Serialize() []byte {
	b := make([]byte, unix.SizeofIfAddrlblmsg)
	b[0] = unix.AF_INET6
	b[2] = m.prefixLen
	return b
}

// AddrLabel is one entry of the policy table.
type AddrLabel struct {
	Prefix netip.Prefix
	Label  uint32
}

// addrLabelRequest builds the message that adds (or deletes) the label of
// one prefix.
func addrLabelRequest(add bool, p netip.Prefix, label uint32) *nl.NetlinkRequest {
	typ, flags := unix.RTM_DELADDRLABEL, unix.NLM_F_ACK
	if add {
		typ, flags = unix.RTM_NEWADDRLABEL, unix.NLM_F_ACK|unix.NLM_F_CREATE|unix.NLM_F_EXCL
	}
	req := nl.NewNetlinkRequest(typ, flags)
	req.AddData(ifAddrLblMsg{prefixLen: uint8(p.Bits())})
	req.AddData(nl.NewRtAttr(unix.IFAL_ADDRESS, p.Addr().AsSlice()))
	lb := make([]byte, 4)
	nl.NativeEndian().PutUint32(lb, label)
	req.AddData(nl.NewRtAttr(unix.IFAL_LABEL, lb))
	return req
}

// SetAddrLabel adds (or deletes) the label of ip/128, as `ip addrlabel add
// prefix IP label N` does. Adding an entry that exists is not an error.
func (s *nlSystem) SetAddrLabel(add bool, ip netip.Addr, label uint32) error {
	_, err := s.execute(addrLabelRequest(add, netip.PrefixFrom(ip, 128), label), 0)
	if add && errors.Is(err, unix.EEXIST) {
		return nil
	}
	if err != nil {
		verb := "adding"
		if !add {
			verb = "deleting"
		}
		return fmt.Errorf("%s address label %d for %s: %w", verb, label, ip, err)
	}
	return nil
}

// addrLabels lists the policy table.
func (s *nlSystem) addrLabels() ([]AddrLabel, error) {
	req := nl.NewNetlinkRequest(unix.RTM_GETADDRLABEL, unix.NLM_F_DUMP)
	req.AddData(ifAddrLblMsg{})
	msgs, err := retry(func() ([][]byte, error) { return s.execute(req, unix.RTM_NEWADDRLABEL) })
	if err != nil {
		return nil, fmt.Errorf("listing address labels: %w", err)
	}
	var out []AddrLabel
	for _, m := range msgs {
		if len(m) < unix.SizeofIfAddrlblmsg {
			continue
		}
		attrs, err := nl.ParseRouteAttr(m[unix.SizeofIfAddrlblmsg:])
		if err != nil {
			return nil, fmt.Errorf("parsing an address label: %w", err)
		}
		var e AddrLabel
		for _, a := range attrs {
			switch a.Attr.Type {
			case unix.IFAL_ADDRESS:
				if ip, ok := netip.AddrFromSlice(a.Value); ok {
					e.Prefix = netip.PrefixFrom(ip, int(m[2]))
				}
			case unix.IFAL_LABEL:
				if len(a.Value) == 4 {
					e.Label = nl.NativeEndian().Uint32(a.Value)
				}
			}
		}
		out = append(out, e)
	}
	return out, nil
}
