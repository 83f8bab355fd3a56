package vip

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/stackha/stackha/ocf"
)

// Config is the agent's parameters checked and turned into what the
// operations need. Nic and Prefix may still be unknown (findif fills them
// from the routing table on the node).
type Config struct {
	IP     netip.Addr
	V6     bool
	Nic    string // base interface; "" until found
	Prefix int    // prefix length; -1 until found
	// LabelSuffix is what follows "nic:" in the address label ("" for none).
	LabelSuffix string
	// Broadcast is "", "+", "-" or an IPv4 address (IPv4 only).
	Broadcast string

	LVS bool
	// Proto, when 0 or more, is the only route protocol findif considers
	// (proto); -1: every one.
	Proto int
	// AddrLabel puts ip/128 in the IPv6 address label policy table with
	// AddrLabelValue while the address is up (lvs_ipv6_addrlabel).
	AddrLabel      bool
	AddrLabelValue uint32
	ArpInterval    int // milliseconds
	ArpCount       int
	ArpRefresh     int
	ArpBG          bool
	FlushRoutes    bool
	RunArping      bool
	NoDAD          bool
	NoPrefixRoute  bool
	// PreferredLft is the IPv6 preferred lifetime in seconds; Forever for
	// "forever".
	PreferredLft uint32
	Netns        string
	CheckLink    bool
	Watch        bool // an event watcher reports failures at once (watch.go)

	// Warnings are things the operator should fix but that do not stop us.
	Warnings []string
}

// Forever is the lifetime the kernel reads as infinite.
const Forever = ^uint32(0)

// maxIfName is the longest interface name (and address label) the kernel
// accepts: IFNAMSIZ less the terminating NUL. An alternative name may be
// up to maxAltName (ALTIFNAMSIZ less the NUL).
const (
	maxIfName  = 15
	maxAltName = 127
)

// Label is the full address label ("nic:suffix"), or "" for none. It needs
// Nic known.
func (c *Config) Label() string {
	if c.LabelSuffix == "" || c.Nic == "" {
		return ""
	}
	return c.Nic + ":" + c.LabelSuffix
}

// Bits is the address family's width: 32 or 128.
func (c *Config) Bits() int {
	if c.V6 {
		return 128
	}
	return 32
}

// family is "IPv4" or "IPv6", for messages.
func (c *Config) family() string {
	if c.V6 {
		return "IPv6"
	}
	return "IPv4"
}

// ParseAddress reads the ip parameter: a dotted-quad IPv4 or an IPv6
// address, without zone or prefix; neither unspecified, multicast nor a
// broadcast address. IPv4-mapped IPv6 forms are refused: the family must be
// plain.
func ParseAddress(s string) (netip.Addr, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return netip.Addr{}, errors.New("empty address")
	}
	if strings.Contains(s, "/") {
		return netip.Addr{}, fmt.Errorf("%q: give the prefix length in cidr_netmask, not in ip", s)
	}
	if strings.Contains(s, "%") {
		return netip.Addr{}, fmt.Errorf("%q: a zone is not accepted; set nic instead", s)
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("%q is not an IPv4 or IPv6 address", s)
	}
	switch {
	case a.Is4In6():
		return netip.Addr{}, fmt.Errorf("%q: an IPv4-mapped IPv6 address; write the IPv4 address", s)
	case a.IsUnspecified():
		return netip.Addr{}, fmt.Errorf("%q is the unspecified address", s)
	case a.IsMulticast():
		return netip.Addr{}, fmt.Errorf("%q is a multicast address", s)
	case a.Is4() && a == netip.AddrFrom4([4]byte{255, 255, 255, 255}):
		return netip.Addr{}, fmt.Errorf("%q is the broadcast address", s)
	case a.Is4() && a.As4()[0] == 0:
		return netip.Addr{}, fmt.Errorf("%q is in 0.0.0.0/8, not usable as a host address", s)
	}
	return a, nil
}

// ParsePrefix reads cidr_netmask: a prefix length from 1 to the family's
// width, or, for IPv4, a dotted netmask (accepted, with a warning, as
// IPaddr2 does).
func ParsePrefix(s string, v6 bool) (bits int, warning string, err error) {
	s = strings.TrimSpace(s)
	max := 32
	if v6 {
		max = 128
	}
	if s == "" {
		return 0, "", errors.New("empty prefix length")
	}
	if strings.Contains(s, ".") {
		if v6 {
			return 0, "", fmt.Errorf("%q: a dotted netmask is for IPv4; give an IPv6 prefix length (1-128)", s)
		}
		m, err := netip.ParseAddr(s)
		if err != nil || !m.Is4() {
			return 0, "", fmt.Errorf("%q is neither a prefix length nor a dotted netmask", s)
		}
		b := m.As4()
		v := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
		n := 0
		for n < 32 && v&(1<<(31-n)) != 0 {
			n++
		}
		if n < 32 && v<<n != 0 {
			return 0, "", fmt.Errorf("%q is not a contiguous netmask", s)
		}
		if n == 0 {
			return 0, "", fmt.Errorf("%q: a netmask of length 0 is not valid", s)
		}
		return n, fmt.Sprintf("cidr_netmask %s: write the prefix length %d instead of a dotted netmask", s, n), nil
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return 0, "", fmt.Errorf("%q is not a prefix length (1-%d)", s, max)
		}
	}
	if len(s) > 3 {
		return 0, "", fmt.Errorf("%q is not a prefix length (1-%d)", s, max)
	}
	n, _ := strconv.Atoi(s)
	if n < 1 || n > max {
		family := "IPv4"
		if v6 {
			family = "IPv6"
		}
		return 0, "", fmt.Errorf("prefix length %d is out of range for %s (1-%d)", n, family, max)
	}
	return n, "", nil
}

// CheckIfName checks an interface name as the kernel would
// (dev_valid_name): 1 to 15 bytes, not "." or "..", no '/', ':' or
// white space.
func CheckIfName(s string) error { return checkName(s, maxIfName) }

// checkName checks an interface name or alternative name of at most max
// characters.
func checkName(s string, max int) error {
	if s == "" {
		return errors.New("empty interface name")
	}
	if len(s) > max {
		return fmt.Errorf("interface name %q is longer than %d characters", s, max)
	}
	if s == "." || s == ".." {
		return fmt.Errorf("%q is not an interface name", s)
	}
	for _, r := range s {
		if r == '/' || r == ':' || r <= ' ' || r == 0x7f || r > 0x7e {
			return fmt.Errorf("interface name %q contains %q", s, r)
		}
	}
	return nil
}

// checkLabel checks the part of the label after "nic:".
func checkLabel(s string) error {
	if s == "" {
		return errors.New("empty label")
	}
	for _, r := range s {
		if r <= ' ' || r == 0x7f || r > 0x7e || r == '/' {
			return fmt.Errorf("label %q contains %q", s, r)
		}
	}
	return nil
}

// CheckNetnsName checks a network namespace name (a file under
// /run/netns, as `ip netns` names them).
func CheckNetnsName(s string) error {
	if s == "" || s == "." || s == ".." || strings.ContainsAny(s, "/\x00") || len(s) > 255 {
		return fmt.Errorf("%q is not a network namespace name", s)
	}
	return nil
}

// ParseLifetime reads preferred_lft: "forever" or a number of seconds.
func ParseLifetime(s string) (uint32, error) {
	s = strings.TrimSpace(s)
	if s == "forever" {
		return Forever, nil
	}
	s = strings.TrimSuffix(s, "sec")
	n, err := strconv.ParseUint(s, 10, 32)
	if err != nil || uint32(n) == Forever {
		return 0, fmt.Errorf("%q is not a lifetime (\"forever\" or seconds below 4294967295)", s)
	}
	return uint32(n), nil
}

// The bounds of the numeric parameters, declared as their Range in meta.go:
// the runtime refuses a value outside them before ParseConfig runs.
const (
	maxArpInterval = 60_000 // milliseconds
	maxArpCount    = 1000
	maxAddrLabel   = 1<<32 - 2
)

// arpSenders are IPaddr2's ARP sender programs.
func arpSenders() []string {
	return []string{"send_arp", "iputils_arping", "libnet_arping", "ipoibarping"}
}

// ParseConfig checks every parameter, once the runtime has parsed them
// against their declared types and ranges (ocf.ParseParams). Its errors are
// configuration errors (the same everywhere: exit 6): nothing in here looks
// at the node.
func ParseConfig(p ocf.Params, clone ocf.Clone) (*Config, error) {
	c := &Config{Prefix: -1}
	ip, err := ParseAddress(p.String("ip"))
	if err != nil {
		return nil, ocf.Configured("ip: %w", err)
	}
	c.IP = ip
	c.V6 = ip.Is6()

	if clone.IsClone && clone.Max > 1 {
		return nil, ocf.Configured("a clone with clone-max=%d asks for a CLUSTERIP shared address, which vip does not support; run it as a primitive", clone.Max)
	}

	nic := strings.TrimSpace(p.String("nic"))
	if base, label, ok := strings.Cut(nic, ":"); ok {
		// nic=eth0:1 is IPaddr2's deprecated way of giving a label; it wins
		// over iflabel.
		nic, c.LabelSuffix = base, label
		if err := checkLabel(label); err != nil {
			return nil, ocf.Configured("nic: %w", err)
		}
		c.Warnings = append(c.Warnings, fmt.Sprintf("nic=%s: a label in nic is deprecated; use nic=%s iflabel=%s", p.String("nic"), base, label))
	} else if l := strings.TrimSpace(p.String("iflabel")); l != "" {
		if err := checkLabel(l); err != nil {
			return nil, ocf.Configured("iflabel: %w", err)
		}
		c.LabelSuffix = l
	}
	if nic != "" {
		if err := checkName(nic, maxAltName); err != nil {
			return nil, ocf.Configured("nic: %w", err)
		}
		c.Nic = nic
		// an alternative name longer than an interface name is checked
		// with the interface's own name, on the node (place)
		if l := c.Label(); len(nic) <= maxIfName && len(l) > maxIfName {
			return nil, ocf.Configured("interface label %q is longer than %d characters", l, maxIfName)
		}
	}
	if c.V6 && c.LabelSuffix != "" {
		c.Warnings = append(c.Warnings, fmt.Sprintf("label %q is ignored: IPv6 addresses carry no label", c.LabelSuffix))
		c.LabelSuffix = ""
	}
	if c.V6 && c.IP.IsLinkLocalUnicast() && c.Nic == "" {
		return nil, ocf.Configured("ip %s is link-local: nic is required", c.IP)
	}

	mask := strings.TrimSpace(p.String("cidr_netmask"))
	if old := strings.TrimSpace(p.String("netmask")); mask == "" && old != "" {
		mask = old
		c.Warnings = append(c.Warnings, fmt.Sprintf("netmask=%s: the parameter is called cidr_netmask", old))
	}
	if s := mask; s != "" {
		n, warn, err := ParsePrefix(s, c.V6)
		if err != nil {
			return nil, ocf.Configured("cidr_netmask: %w", err)
		}
		if warn != "" {
			c.Warnings = append(c.Warnings, warn)
		}
		c.Prefix = n
	}

	if b := strings.TrimSpace(p.String("broadcast")); b != "" {
		switch {
		case c.V6:
			c.Warnings = append(c.Warnings, fmt.Sprintf("broadcast=%s is ignored for an IPv6 address", b))
		case b == "+" || b == "-":
			c.Broadcast = b
		default:
			a, err := netip.ParseAddr(b)
			if err != nil || !a.Is4() {
				return nil, ocf.Configured("broadcast: %q is not an IPv4 address, '+' or '-'", b)
			}
			c.Broadcast = a.String()
		}
	}

	c.LVS = p.Bool("lvs_support")
	if c.LVS && c.V6 {
		return nil, ocf.Configured("lvs_support is for IPv4 only (IPv6 does not need it)")
	}
	c.AddrLabel = c.V6 && p.Bool("lvs_ipv6_addrlabel")
	c.Proto = -1
	if s := strings.TrimSpace(p.String("proto")); s != "" {
		n, err := ParseRouteProto(s)
		if err != nil {
			return nil, ocf.Configured("proto: %w", err)
		}
		c.Proto = n
	}
	// Within their declared ranges (ocf.ParseParams checked them).
	c.AddrLabelValue = uint32(p.Int("lvs_ipv6_addrlabel_value"))
	c.ArpInterval = p.Int("arp_interval")
	c.ArpCount = p.Int("arp_count")
	c.ArpRefresh = p.Int("arp_count_refresh")
	if p.IsSet("arp_bg") {
		c.ArpBG = p.Bool("arp_bg")
	} else {
		c.ArpBG = !c.V6 // IPaddr2: true for IPv4, false for IPv6
	}
	if s := strings.TrimSpace(p.String("arp_sender")); s != "" {
		if !slices.Contains(arpSenders(), s) {
			return nil, ocf.Configured("arp_sender %q: not one of send_arp, iputils_arping, libnet_arping, ipoibarping", s)
		}
		c.Warnings = append(c.Warnings, fmt.Sprintf("arp_sender=%s: vip always sends its announcements itself", s))
	}
	c.FlushRoutes = p.Bool("flush_routes")
	c.RunArping = p.Bool("run_arping")
	c.NoDAD = p.Bool("nodad")
	c.NoPrefixRoute = p.Bool("noprefixroute")
	lft, err := ParseLifetime(p.String("preferred_lft"))
	if err != nil {
		return nil, ocf.Configured("preferred_lft: %w", err)
	}
	c.PreferredLft = lft
	if ns := strings.TrimSpace(p.String("network_namespace")); ns != "" {
		if err := CheckNetnsName(ns); err != nil {
			return nil, ocf.Configured("network_namespace: %w", err)
		}
		c.Netns = ns
	}
	c.CheckLink = p.Bool("check_link_status")
	c.Watch = p.Bool("watch")
	// Parameters of one family set for the other: IPaddr2 ignores them
	// silently; say so.
	otherFamily := []string{"nodad", "preferred_lft", "lvs_ipv6_addrlabel"} // IPv6 only
	if c.V6 {
		otherFamily = []string{"run_arping", "lvs_support"} // IPv4 only
	}
	for _, name := range otherFamily {
		if p.IsSet(name) {
			c.Warnings = append(c.Warnings, fmt.Sprintf("%s=%s is ignored for an %s address", name, p.String(name), c.family()))
		}
	}
	return c, nil
}
