package haproxy

import (
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"strings"
)

// BindProblem is a bind line haproxy will not be able to bind on this node
// as things stand: its address is not local, the kernel refuses non-local
// binds, and the line does not ask for a transparent (free) bind.
type BindProblem struct {
	Pos    Pos
	Proxy  string
	Addr   netip.Addr
	Sysctl string // the sysctl that would allow it
}

func (p BindProblem) String() string {
	return fmt.Sprintf("%s: bind %s of %s is not an address of this node and %s=0; "+
		"start the VIP before haproxy (an order constraint), set %s=1 (needed for a clone that runs where the VIP is not), "+
		"or add \"transparent\" to that bind line",
		p.Pos, p.Addr, p.Proxy, p.Sysctl, p.Sysctl)
}

// nodeView is what the bind check needs to know about this node; tests
// replace it.
type nodeView struct {
	local    func() ([]netip.Addr, error)
	nonlocal func(v6 bool) (bool, error)
}

var hostView = nodeView{local: localAddrs, nonlocal: nonlocalBind}

func localAddrs() ([]netip.Addr, error) {
	as, err := net.InterfaceAddrs()
	if err != nil {
		return nil, fmt.Errorf("listing local addresses: %w", err)
	}
	var out []netip.Addr
	for _, a := range as {
		if n, ok := a.(*net.IPNet); ok {
			if ip, ok := netip.AddrFromSlice(n.IP); ok {
				out = append(out, ip.Unmap())
			}
		}
	}
	return out, nil
}

func nonlocalBind(v6 bool) (bool, error) {
	p := "/proc/sys/net/ipv4/ip_nonlocal_bind"
	if v6 {
		p = "/proc/sys/net/ipv6/ip_nonlocal_bind"
	}
	f, err := os.Open(p)
	if err != nil {
		return false, fmt.Errorf("reading %s: %w", p, err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, 64))
	if err != nil {
		return false, fmt.Errorf("reading %s: %w", p, err)
	}
	return strings.TrimSpace(string(b)) != "0", nil
}

// BindAddr extracts the IP address of one bind address, as haproxy writes
// it ("10.0.0.1:80", "ipv4@10.0.0.1:80", ":::443", "[2001:db8::1]:80",
// "*:80", "/run/x.sock", "fd@3"). ok is false for what is not a specific
// IP address: wildcards, unix sockets, inherited file descriptors, host
// names and environment variables (which the check cannot judge).
func BindAddr(s string) (netip.Addr, bool) {
	if strings.Contains(s, "$") {
		return netip.Addr{}, false
	}
	if at := strings.Index(s, "@"); at >= 0 {
		switch s[:at] {
		case "ipv4", "ipv6", "tcp", "tcp4", "tcp6", "udp", "udp4", "udp6", "quic4", "quic6":
			s = s[at+1:]
		default: // unix@, abns@, fd@, sockpair@, uxst@, ...
			return netip.Addr{}, false
		}
	}
	if strings.HasPrefix(s, "/") {
		return netip.Addr{}, false
	}
	var host string
	if strings.HasPrefix(s, "[") {
		end := strings.Index(s, "]")
		if end < 0 {
			return netip.Addr{}, false
		}
		host = s[1:end]
	} else {
		i := strings.LastIndex(s, ":")
		if i < 0 {
			host = s
		} else {
			host = s[:i]
		}
	}
	if host == "" || host == "*" {
		return netip.Addr{}, false
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}, false
	}
	ip = ip.Unmap().WithZone("")
	if ip.IsUnspecified() {
		return netip.Addr{}, false
	}
	return ip, true
}

// CheckBinds lists the bind lines of c that this node cannot bind.
func CheckBinds(c *Config, v nodeView) ([]BindProblem, error) {
	var local map[netip.Addr]bool
	var out []BindProblem
	for _, p := range c.Proxies {
		if p.Disabled {
			continue
		}
		for _, b := range p.Binds {
			if b.HasOption("transparent") {
				continue
			}
			if _, ok := b.Option("namespace"); ok {
				continue // another network namespace: not ours to judge
			}
			for _, a := range b.Addrs {
				ip, ok := BindAddr(a)
				if !ok {
					continue
				}
				if local == nil {
					addrs, err := v.local()
					if err != nil {
						return nil, err
					}
					local = map[netip.Addr]bool{}
					for _, l := range addrs {
						local[l] = true
					}
				}
				if local[ip] || ip.Is4() && ip.IsLoopback() {
					continue
				}
				v6 := ip.Is6()
				on, err := v.nonlocal(v6)
				if err != nil {
					return nil, err
				}
				if on {
					continue
				}
				sysctl := "net.ipv4.ip_nonlocal_bind"
				if v6 {
					sysctl = "net.ipv6.ip_nonlocal_bind"
				}
				out = append(out, BindProblem{Pos: b.Pos, Proxy: p.Name, Addr: ip, Sysctl: sysctl})
			}
		}
	}
	return out, nil
}
