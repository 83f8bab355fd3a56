package vip

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"

	"github.com/stackha/stackha/ocf"
	"github.com/stackha/stackha/ocf/ocftest"
)

func params(t testing.TB, kv map[string]string) ocf.Params {
	t.Helper()
	p, err := ocftest.Params(&Meta, kv)
	if err != nil {
		t.Fatalf("params %v: %v", kv, err)
	}
	return p
}

// parseAll is what the runtime and the agent do together: the declared
// types, ranges and options (ocftest.Params), then the agent's own checks.
func parseAll(kv map[string]string, clone ocf.Clone) (*Config, error) {
	p, err := ocftest.Params(&Meta, kv)
	if err != nil {
		return nil, err
	}
	return ParseConfig(p, clone)
}

func TestParseAddress(t *testing.T) {
	cases := []struct {
		in   string
		want string // "" = error
	}{
		{"192.0.2.10", "192.0.2.10"},
		{" 192.0.2.10 ", "192.0.2.10"},
		{"2001:db8::10", "2001:db8::10"},
		{"2001:DB8:DC28:0:0:FC57:D4C8:1FFF", "2001:db8:dc28::fc57:d4c8:1fff"},
		{"fe80::1", "fe80::1"},
		{"127.0.0.2", "127.0.0.2"},
		{"", ""},
		{"192.0.2.10/24", ""},
		{"fe80::1%eth0", ""},
		{"192.0.2", ""},
		{"192.0.2.256", ""},
		{"192.000.2.1", ""},
		{"::ffff:192.0.2.1", ""},
		{"0.0.0.0", ""},
		{"::", ""},
		{"224.0.0.1", ""},
		{"ff02::1", ""},
		{"255.255.255.255", ""},
		{"0.1.2.3", ""},
		{"host.example", ""},
	}
	for _, c := range cases {
		a, err := ParseAddress(c.in)
		switch {
		case c.want == "" && err == nil:
			t.Errorf("ParseAddress(%q) = %v, want an error", c.in, a)
		case c.want != "" && (err != nil || a.String() != c.want):
			t.Errorf("ParseAddress(%q) = %v, %v; want %s", c.in, a, err, c.want)
		}
	}
}

func TestParsePrefix(t *testing.T) {
	cases := []struct {
		in   string
		v6   bool
		want int // -1 = error
		warn bool
	}{
		{"24", false, 24, false},
		{"32", false, 32, false},
		{"1", false, 1, false},
		{"0", false, -1, false},
		{"33", false, -1, false},
		{"64", true, 64, false},
		{"128", true, 128, false},
		{"129", true, -1, false},
		{"255.255.255.0", false, 24, true},
		{"255.255.255.255", false, 32, true},
		{"255.255.0.255", false, -1, false},
		{"0.0.0.0", false, -1, false},
		{"255.255.255.0", true, -1, false},
		{"+24", false, -1, false},
		{"024", false, 24, false},
		{"0024", false, -1, false},
		{"24 ", false, 24, false},
		{"", false, -1, false},
		{"2x", false, -1, false},
	}
	for _, c := range cases {
		n, warn, err := ParsePrefix(c.in, c.v6)
		if c.want < 0 {
			if err == nil {
				t.Errorf("ParsePrefix(%q, v6=%v) = %d, want an error", c.in, c.v6, n)
			}
			continue
		}
		if err != nil || n != c.want || (warn != "") != c.warn {
			t.Errorf("ParsePrefix(%q, v6=%v) = %d, %q, %v; want %d (warning %v)", c.in, c.v6, n, warn, err, c.want, c.warn)
		}
	}
}

func TestCheckIfName(t *testing.T) {
	for _, ok := range []string{"eth0", "enp0s31f6", "shv0", "br-ex", "a234567890abcde", "vlan.10", "lo"} {
		if err := CheckIfName(ok); err != nil {
			t.Errorf("CheckIfName(%q): %v", ok, err)
		}
	}
	for _, bad := range []string{"", "a234567890abcdef", ".", "..", "eth0:1", "a/b", "a b", "eth\n0", "ethé"} {
		if err := CheckIfName(bad); err == nil {
			t.Errorf("CheckIfName(%q) accepted", bad)
		}
	}
}

func TestParseLifetime(t *testing.T) {
	for in, want := range map[string]uint32{"forever": Forever, "0": 0, "3600": 3600, "60sec": 60} {
		if got, err := ParseLifetime(in); err != nil || got != want {
			t.Errorf("ParseLifetime(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "-1", "4294967295", "1h", "never"} {
		if _, err := ParseLifetime(bad); err == nil {
			t.Errorf("ParseLifetime(%q) accepted", bad)
		}
	}
}

func TestParseConfig(t *testing.T) {
	cases := []struct {
		name   string
		params map[string]string
		clone  ocf.Clone
		err    string // substring; "" = success
		check  func(*Config) bool
	}{
		{"defaults v4", map[string]string{"ip": "192.0.2.10"}, ocf.Clone{}, "", func(c *Config) bool {
			return !c.V6 && c.Nic == "" && c.Prefix == -1 && c.ArpBG && c.ArpCount == 5 && c.ArpInterval == 200 &&
				c.PreferredLft == Forever && c.CheckLink && !c.NoDAD
		}},
		{"defaults v6", map[string]string{"ip": "2001:db8::10"}, ocf.Clone{}, "", func(c *Config) bool {
			return c.V6 && !c.ArpBG && c.Bits() == 128
		}},
		{"arp_bg set", map[string]string{"ip": "2001:db8::10", "arp_bg": "true"}, ocf.Clone{}, "", func(c *Config) bool { return c.ArpBG }},
		{"all given", map[string]string{"ip": "192.0.2.10", "nic": "eth0", "cidr_netmask": "24", "iflabel": "vip", "broadcast": "+"}, ocf.Clone{}, "",
			func(c *Config) bool {
				return c.Nic == "eth0" && c.Prefix == 24 && c.Label() == "eth0:vip" && c.Broadcast == "+"
			}},
		{"nic with label", map[string]string{"ip": "192.0.2.10", "nic": "eth0:x", "iflabel": "ignored"}, ocf.Clone{}, "",
			func(c *Config) bool { return c.Nic == "eth0" && c.Label() == "eth0:x" && len(c.Warnings) == 1 }},
		{"dotted netmask", map[string]string{"ip": "192.0.2.10", "cidr_netmask": "255.255.255.128"}, ocf.Clone{}, "",
			func(c *Config) bool { return c.Prefix == 25 && len(c.Warnings) == 1 }},
		{"v6 label ignored", map[string]string{"ip": "2001:db8::10", "iflabel": "x"}, ocf.Clone{}, "",
			func(c *Config) bool { return c.LabelSuffix == "" && len(c.Warnings) == 1 }},
		{"lifetime", map[string]string{"ip": "2001:db8::10", "preferred_lft": "0", "nodad": "yes", "noprefixroute": "1"}, ocf.Clone{}, "",
			func(c *Config) bool { return c.PreferredLft == 0 && c.NoDAD && c.NoPrefixRoute }},
		{"arp_sender", map[string]string{"ip": "192.0.2.10", "arp_sender": "iputils_arping"}, ocf.Clone{}, "", func(c *Config) bool { return len(c.Warnings) == 1 }},
		{"other family's parameters", map[string]string{"ip": "192.0.2.10", "nodad": "true", "preferred_lft": "0"}, ocf.Clone{}, "",
			func(c *Config) bool { return len(c.Warnings) == 2 && !c.V6 }},
		{"run_arping on v6", map[string]string{"ip": "2001:db8::10", "run_arping": "true"}, ocf.Clone{}, "",
			func(c *Config) bool { return len(c.Warnings) == 1 && strings.Contains(c.Warnings[0], "run_arping") }},
		{"legacy netmask", map[string]string{"ip": "192.0.2.10", "netmask": "25"}, ocf.Clone{}, "",
			func(c *Config) bool { return c.Prefix == 25 && len(c.Warnings) == 1 }},
		{"cidr_netmask wins", map[string]string{"ip": "192.0.2.10", "netmask": "25", "cidr_netmask": "24"}, ocf.Clone{}, "",
			func(c *Config) bool { return c.Prefix == 24 && len(c.Warnings) == 0 }},
		{"bad ip", map[string]string{"ip": "192.0.2.300"}, ocf.Clone{}, "ip:", nil},
		{"bad prefix", map[string]string{"ip": "192.0.2.10", "cidr_netmask": "33"}, ocf.Clone{}, "cidr_netmask", nil},
		{"v6 prefix", map[string]string{"ip": "2001:db8::1", "cidr_netmask": "129"}, ocf.Clone{}, "cidr_netmask", nil},
		{"bad nic", map[string]string{"ip": "192.0.2.10", "nic": "a2345/7890"}, ocf.Clone{}, "nic:", nil},
		{"long label", map[string]string{"ip": "192.0.2.10", "nic": "enp0s31f6", "iflabel": "toolong"}, ocf.Clone{}, "longer than 15", nil},
		{"link-local without nic", map[string]string{"ip": "fe80::10"}, ocf.Clone{}, "link-local", nil},
		{"bad broadcast", map[string]string{"ip": "192.0.2.10", "broadcast": "x"}, ocf.Clone{}, "broadcast", nil},
		{"lvs v6", map[string]string{"ip": "2001:db8::10", "lvs_support": "true"}, ocf.Clone{}, "lvs_support", nil},
		{"addrlabel", map[string]string{"ip": "2001:db8::10", "lvs_ipv6_addrlabel": "true", "lvs_ipv6_addrlabel_value": "7"}, ocf.Clone{}, "",
			func(c *Config) bool { return c.AddrLabel && c.AddrLabelValue == 7 }},
		{"addrlabel value", map[string]string{"ip": "2001:db8::10", "lvs_ipv6_addrlabel": "true", "lvs_ipv6_addrlabel_value": "-1"}, ocf.Clone{}, "lvs_ipv6_addrlabel_value", nil},
		{"addrlabel v4 ignored", map[string]string{"ip": "192.0.2.10", "lvs_ipv6_addrlabel": "true"}, ocf.Clone{}, "",
			func(c *Config) bool {
				return !c.AddrLabel && len(c.Warnings) == 1 && strings.Contains(c.Warnings[0], "lvs_ipv6_addrlabel=true is ignored for an IPv4")
			}},
		{"addrlabel by default on v6", map[string]string{"ip": "2001:db8::10"}, ocf.Clone{}, "",
			func(c *Config) bool { return c.AddrLabel && c.AddrLabelValue == 99 && len(c.Warnings) == 0 }},
		{"addrlabel off", map[string]string{"ip": "2001:db8::10", "lvs_ipv6_addrlabel": "false"}, ocf.Clone{}, "",
			func(c *Config) bool { return !c.AddrLabel }},
		{"no addrlabel by default on v4", map[string]string{"ip": "192.0.2.10"}, ocf.Clone{}, "",
			func(c *Config) bool { return !c.AddrLabel && len(c.Warnings) == 0 && c.Proto == -1 }},
		{"proto", map[string]string{"ip": "2001:db8::10", "proto": "kernel"}, ocf.Clone{}, "", func(c *Config) bool { return c.Proto == 2 }},
		{"bad proto", map[string]string{"ip": "2001:db8::10", "proto": "kernal"}, ocf.Clone{}, "proto: \"kernal\" is not a route protocol", nil},
		{"altname as nic", map[string]string{"ip": "192.0.2.10", "nic": "enx0011223344556677"}, ocf.Clone{}, "",
			func(c *Config) bool { return c.Nic == "enx0011223344556677" }},
		{"nic too long even for an altname", map[string]string{"ip": "192.0.2.10", "nic": strings.Repeat("a", 128)}, ocf.Clone{}, "longer than 127", nil},
		{"interval", map[string]string{"ip": "192.0.2.10", "arp_interval": "0"}, ocf.Clone{}, "arp_interval", nil},
		{"count", map[string]string{"ip": "192.0.2.10", "arp_count": "-1"}, ocf.Clone{}, "arp_count", nil},
		{"refresh", map[string]string{"ip": "192.0.2.10", "arp_count_refresh": "-1"}, ocf.Clone{}, "arp_count_refresh", nil},
		{"sender", map[string]string{"ip": "192.0.2.10", "arp_sender": "foo"}, ocf.Clone{}, "arp_sender", nil},
		{"lft", map[string]string{"ip": "2001:db8::10", "preferred_lft": "soon"}, ocf.Clone{}, "preferred_lft", nil},
		{"netns", map[string]string{"ip": "192.0.2.10", "network_namespace": "../x"}, ocf.Clone{}, "network_namespace", nil},
		{"clone", map[string]string{"ip": "192.0.2.10"}, ocf.Clone{IsClone: true, Max: 2}, "CLUSTERIP", nil},
		// Every number has bounds: nothing wraps (docs/security.md,
		// "Numbers and input").
		{"interval overflow", map[string]string{"ip": "192.0.2.10", "arp_interval": "9223372036854775807"}, ocf.Clone{}, "1..60000", nil},
		{"interval max", map[string]string{"ip": "192.0.2.10", "arp_interval": "60000"}, ocf.Clone{}, "", func(c *Config) bool { return c.ArpInterval == 60000 }},
		{"count overflow", map[string]string{"ip": "192.0.2.10", "arp_count": "9223372036854775807"}, ocf.Clone{}, "1..1000", nil},
		{"refresh overflow", map[string]string{"ip": "192.0.2.10", "arp_count_refresh": "1001"}, ocf.Clone{}, "0..1000", nil},
		{"addrlabel overflow", map[string]string{"ip": "2001:db8::10", "lvs_ipv6_addrlabel_value": "4294967295"}, ocf.Clone{}, "4294967294", nil},
		{"lft overflow", map[string]string{"ip": "2001:db8::10", "preferred_lft": "18446744073709551616"}, ocf.Clone{}, "preferred_lft", nil},
		{"prefix overflow", map[string]string{"ip": "192.0.2.10", "cidr_netmask": "4294967320"}, ocf.Clone{}, "cidr_netmask", nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg, err := parseAll(c.params, c.clone)
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("err = %v, want one containing %q", err, c.err)
				}
				if ocf.CodeOf(err) != ocf.ErrConfigured {
					t.Fatalf("code %d, want 6", ocf.CodeOf(err))
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !c.check(cfg) {
				t.Fatalf("config %+v", cfg)
			}
		})
	}
}

// The unsupported CLUSTERIP parameters are refused by the runtime with 6.
func TestUnsupportedParameters(t *testing.T) {
	for _, p := range []string{"mac", "clusterip_hash", "unique_clone_address"} {
		_, err := ocftest.Params(&Meta, map[string]string{"ip": "192.0.2.10", p: "1"})
		if ocf.CodeOf(err) != ocf.ErrConfigured {
			t.Errorf("%s set: %v, want a configuration error", p, err)
		}
	}
}

func FuzzParseAddress(f *testing.F) {
	for _, s := range []string{"192.0.2.1", "2001:db8::1", "fe80::1%eth0", "::ffff:1.2.3.4", "1.2.3.4/5", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a, err := ParseAddress(s)
		if err != nil {
			return
		}
		if !a.IsValid() || a.Zone() != "" || a.Is4In6() || a.IsUnspecified() || a.IsMulticast() {
			t.Fatalf("ParseAddress(%q) accepted %v", s, a)
		}
		if b, err := ParseAddress(a.String()); err != nil || b != a {
			t.Fatalf("round trip of %q: %v %v", s, b, err)
		}
	})
}

func FuzzParsePrefix(f *testing.F) {
	for _, s := range []string{"24", "255.255.255.0", "128", "0", "1.2.3", "99999999999999999999"} {
		f.Add(s, false)
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, s string, v6 bool) {
		n, _, err := ParsePrefix(s, v6)
		if err != nil {
			return
		}
		max := 32
		if v6 {
			max = 128
		}
		if n < 1 || n > max {
			t.Fatalf("ParsePrefix(%q, %v) = %d", s, v6, n)
		}
	})
}

func FuzzCheckIfName(f *testing.F) {
	for _, s := range []string{"eth0", "eth0:1", "", "..", "a234567890abcdef"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if CheckIfName(s) != nil {
			return
		}
		if len(s) == 0 || len(s) > 15 || strings.ContainsAny(s, "/: \t\n") {
			t.Fatalf("CheckIfName accepted %q", s)
		}
	})
}

// The whole parameter set as an operator writes it: never a panic, and a
// configuration error is always exit 6.
func FuzzParseConfig(f *testing.F) {
	f.Add("192.0.2.10", "eth0", "24", "", "")
	f.Add("2001:db8::1", "eth0:lbl", "64", "x", "+")
	f.Add("fe80::1", "", "", "", "")
	f.Fuzz(func(t *testing.T, ip, nic, mask, label, brd string) {
		p, err := ocftest.Params(&Meta, map[string]string{"ip": ip, "nic": nic, "cidr_netmask": mask, "iflabel": label, "broadcast": brd})
		if err != nil {
			return
		}
		c, err := ParseConfig(p, ocf.Clone{})
		if err != nil {
			if ocf.CodeOf(err) != ocf.ErrConfigured {
				t.Fatalf("code %d for %v", ocf.CodeOf(err), err)
			}
			return
		}
		if c.Nic != "" && CheckIfName(c.Nic) != nil {
			t.Fatalf("accepted nic %q", c.Nic)
		}
		if len(c.Label()) > 15 {
			t.Fatalf("accepted label %q", c.Label())
		}
		if c.Prefix > c.Bits() || c.Prefix == 0 || c.Prefix < -1 {
			t.Fatalf("accepted prefix %d", c.Prefix)
		}
		if c.Broadcast != "" && c.Broadcast != "+" && c.Broadcast != "-" {
			if a, err := netip.ParseAddr(c.Broadcast); err != nil || !a.Is4() {
				t.Fatalf("accepted broadcast %q", c.Broadcast)
			}
		}
	})
}

// The declared ranges are the ones ParseConfig enforces.
func TestDeclaredRanges(t *testing.T) {
	for _, p := range Meta.Parameters {
		if p.Type != "integer" && p.Type != "time" {
			continue
		}
		if p.Range == nil {
			t.Errorf("%s has no range", p.Name)
			continue
		}
		for _, v := range []int64{p.Range.Min - 1, p.Range.Max + 1} {
			_, err := parseAll(map[string]string{"ip": "2001:db8::10", p.Name: fmt.Sprint(v)}, ocf.Clone{})
			if ocf.CodeOf(err) != ocf.ErrConfigured {
				t.Errorf("%s=%d: %v, want exit 6", p.Name, v, err)
			}
		}
		for _, v := range []int64{p.Range.Min, p.Range.Max} {
			if _, err := ParseConfig(params(t, map[string]string{"ip": "2001:db8::10", p.Name: fmt.Sprint(v)}), ocf.Clone{}); err != nil {
				t.Errorf("%s=%d: %v", p.Name, v, err)
			}
		}
	}
}
