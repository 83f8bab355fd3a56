package vip

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"

	"github.com/stackha/stackha/ocf"
)

// target is the address resolved on this node.
type target struct {
	cfg  *Config
	sys  system
	link *Link // nil when the interface is missing
	pl   Placement
}

// openSystemFunc opens the node's view; tests replace it with a fake.
var openSystemFunc = openSystem

func (t *target) Close() {
	if t.sys != nil {
		t.sys.Close()
	}
}

func (t *target) String() string {
	return fmt.Sprintf("%s/%d on %s", t.cfg.IP, t.pl.Prefix, t.pl.Nic)
}

// errFindIf says the routing table gives no place for the address.
var errFindIf = errors.New("findif")

// resolve finds the interface and prefix of the configuration on this
// node. Errors: errNoNetns, errNoLink, errFindIf, ocf.Args, or a plain
// failure.
func resolve(r *ocf.Request) (*target, error) {
	cfg := config(r)
	if r.Action != "monitor" && r.Action != "status" {
		for _, w := range cfg.Warnings {
			r.Log.Warnf("%s", w)
		}
	}
	return place(r, cfg)
}

// place finds the interface and prefix length of a parsed configuration.
func place(r *ocf.Request, cfg *Config) (*target, error) {
	s, err := openSystemFunc(cfg.Netns)
	if err != nil {
		return nil, err
	}
	t := &target{cfg: cfg, sys: s, pl: Placement{Nic: cfg.Nic, Prefix: cfg.Prefix}}
	if cfg.Nic != "" {
		l, err := s.Link(cfg.Nic)
		if err != nil {
			return t, err
		}
		t.link = l
		if l.Name != cfg.Nic {
			// nic is an alternative name: from here on the interface's
			// own name, the one routes, addresses and labels carry
			cfg.Nic, t.pl.Nic = l.Name, l.Name
		}
	}
	// The broadcast address matters only when adding the address: monitor
	// and stop with nic and cidr_netmask given need no route at all.
	adding := r.Action == "start" || r.Action == "validate-all"
	if cfg.Nic != "" && cfg.Prefix >= 0 && (cfg.V6 || cfg.Broadcast != "" || !adding) {
		t.pl, err = FindIf(cfg, nil, nil)
		return t, err
	}
	routes, err := s.Routes(cfg.IP, !cfg.V6 && cfg.IP.As4()[0] == 127)
	if err != nil {
		return t, err
	}
	var addrs []IfAddr
	if !cfg.V6 && cfg.Broadcast == "" && adding {
		if addrs, err = s.Addrs(false); err != nil {
			return t, err
		}
	}
	pl, err := FindIf(cfg, routes, addrs)
	if err != nil {
		return t, fmt.Errorf("%w: %w", errFindIf, err)
	}
	t.pl = pl
	if t.link == nil {
		l, err := s.Link(pl.Nic)
		if err != nil {
			return t, err
		}
		t.link = l
	}
	if l := cfg.Label(); l == "" && cfg.LabelSuffix != "" && len(pl.Nic)+1+len(cfg.LabelSuffix) > maxIfName {
		return t, ocf.Args("interface label %s:%s is longer than %d characters", pl.Nic, cfg.LabelSuffix, maxIfName)
	}
	return t, nil
}

// label is the label we give the address ("" for none).
func (t *target) label() string {
	if t.cfg.LabelSuffix == "" {
		return ""
	}
	return t.pl.Nic + ":" + t.cfg.LabelSuffix
}

// wantLabel is the label the kernel shows for our address: ours, or, for
// IPv4 without one, the interface name. IPv6 addresses carry none.
func (t *target) wantLabel() string {
	if t.cfg.V6 {
		return ""
	}
	if l := t.label(); l != "" {
		return l
	}
	return t.pl.Nic
}

// prefix is our address with its prefix length.
func (t *target) prefix() netip.Prefix { return netip.PrefixFrom(t.cfg.IP, t.pl.Prefix) }

// locate finds the address anywhere when findif could not place it (stop
// and monitor must still see an address whose route went away, e.g. one
// added with noprefixroute).
func (t *target) locate() (bool, error) {
	addrs, err := t.sys.Addrs(t.cfg.V6)
	if err != nil {
		return false, err
	}
	for _, a := range addrs {
		if a.Prefix.Addr() != t.cfg.IP || (t.cfg.Prefix >= 0 && a.Prefix.Bits() != t.cfg.Prefix) ||
			(t.cfg.Nic != "" && a.Dev != t.cfg.Nic) {
			continue
		}
		if t.cfg.LVS && strings.HasPrefix(a.Dev, "lo") {
			continue // LVS-DR's own loopback copy, not ours
		}
		l, err := t.sys.Link(a.Dev)
		if err != nil {
			return false, err
		}
		t.link, t.pl.Nic, t.pl.Prefix = l, a.Dev, a.Prefix.Bits()
		return true, nil
	}
	return false, nil
}

// ours returns the address on the interface: exactly our IP and prefix
// length, or nil. other is the same IP with another prefix, if any.
func (t *target) ours() (mine, other *IfAddr, err error) {
	addrs, err := t.sys.AddrsOf(t.link, t.cfg.IP)
	if err != nil {
		return nil, nil, err
	}
	for i := range addrs {
		a := &addrs[i]
		if a.Prefix.Addr() != t.cfg.IP {
			continue
		}
		if a.Prefix.Bits() == t.pl.Prefix {
			return a, nil, nil
		}
		other = a
	}
	return nil, other, nil
}

// nodeError maps what resolve found missing on this node to the exit code of
// start and validate-all: 5 for a namespace or named interface missing, 2
// when the routing table gives no place (both may differ between nodes).
func nodeError(t *target, err error) error {
	var oe *ocf.Error
	switch {
	case errors.As(err, &oe):
		return err
	case errors.Is(err, errNoNetns):
		return ocf.Installed("%w", err)
	case errors.Is(err, errNoLink):
		return ocf.Installed("%w on this node", err)
	case errors.Is(err, errFindIf):
		return ocf.Args("cannot place %s on this node: %s", t.cfg.IP, strings.TrimPrefix(err.Error(), errFindIf.Error()+": "))
	}
	return err
}
