package haproxy

import (
	"net/netip"
	"strings"
	"testing"
)

func TestBindAddr(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want string // "" when not a specific address
	}{
		{"10.10.102.45:5000", "10.10.102.45"},
		{"ipv4@192.0.2.1:80", "192.0.2.1"},
		{"tcp6@2001:db8::1:443", "2001:db8::1"},
		{"[2001:db8::5]:80", "2001:db8::5"},
		{"2001:db8::5:80", "2001:db8::5"},
		{":80", ""},
		{"*:80", ""},
		{"0.0.0.0:80", ""},
		{":::80", ""},
		{"/run/haproxy.sock", ""},
		{"unix@/run/x.sock", ""},
		{"abns@x", ""},
		{"fd@3", ""},
		{"sockpair@4", ""},
		{"${VIP}:80", ""},
		{"localhost:80", ""},
		{"[::ffff:192.0.2.7]:80", "192.0.2.7"},
		{"192.0.2.1:8000-8010", "192.0.2.1"},
		{"[2001:db8::1", ""},
	} {
		ip, ok := BindAddr(tc.in)
		got := ""
		if ok {
			got = ip.String()
		}
		if got != tc.want {
			t.Errorf("BindAddr(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func fakeView(local []string, v4, v6 bool) nodeView {
	return nodeView{
		local: func() ([]netip.Addr, error) {
			var out []netip.Addr
			for _, l := range local {
				out = append(out, netip.MustParseAddr(l))
			}
			return out, nil
		},
		nonlocal: func(is6 bool) (bool, error) {
			if is6 {
				return v6, nil
			}
			return v4, nil
		},
	}
}

func TestCheckBinds(t *testing.T) {
	cfg := `frontend keystone
    bind 10.10.102.45:5000
    bind 10.10.102.6:5001
    bind 127.0.0.2:5002
    bind :5003
frontend tproxy
    bind 10.10.102.46:80 transparent
frontend v6
    bind [2001:db8::45]:80
frontend other-ns
    bind 10.10.102.47:80 namespace blue
frontend off
    disabled
    bind 10.10.102.48:80
`
	c, err := ParseConfig("h.cfg", strings.NewReader(cfg))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		view   nodeView
		expect []string
	}{
		{"vip elsewhere, no sysctl", fakeView([]string{"10.10.102.6"}, false, false),
			[]string{"h.cfg:2 10.10.102.45 net.ipv4.ip_nonlocal_bind", "h.cfg:9 2001:db8::45 net.ipv6.ip_nonlocal_bind"}},
		{"vip here", fakeView([]string{"10.10.102.6", "10.10.102.45", "2001:db8::45"}, false, false), nil},
		{"nonlocal bind on", fakeView([]string{"10.10.102.6"}, true, true), nil},
		{"only v4 allowed", fakeView([]string{"10.10.102.6"}, true, false), []string{"h.cfg:9 2001:db8::45 net.ipv6.ip_nonlocal_bind"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ps, err := CheckBinds(c, tc.view)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, p := range ps {
				got = append(got, p.Pos.String()+" "+p.Addr.String()+" "+p.Sysctl)
			}
			if strings.Join(got, "|") != strings.Join(tc.expect, "|") {
				t.Errorf("got %q, want %q", got, tc.expect)
			}
		})
	}
	ps, _ := CheckBinds(c, fakeView(nil, false, false))
	msg := ps[0].String()
	for _, want := range []string{"h.cfg:2", "10.10.102.45", "keystone", "net.ipv4.ip_nonlocal_bind=1", "transparent", "order"} {
		if !strings.Contains(msg, want) {
			t.Errorf("message %q lacks %q", msg, want)
		}
	}
}

func FuzzBindAddr(f *testing.F) {
	for _, s := range []string{"10.0.0.1:80", "[::1]:80", "ipv6@::1:80", "unix@/x", "*:1", "[", "@", ":"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ip, ok := BindAddr(s)
		if ok && (!ip.IsValid() || ip.IsUnspecified() || ip.Zone() != "") {
			t.Fatalf("BindAddr(%q) = %v", s, ip)
		}
	})
}
