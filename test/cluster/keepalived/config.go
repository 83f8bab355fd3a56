// Package keepalived is the comparison the cluster harness measures
// stackha against: keepalived (VRRP) + haproxy from Debian, configured as
// Kolla-Ansible renders it (ansible/roles/loadbalancer/templates/
// keepalived/keepalived.conf.j2): every node state BACKUP with nopreempt,
// priority = the node's index + 1, advert_int 1, multicast by default
// (Kolla's keepalived_traffic_mode; unicast on request), PASS
// authentication, and a track script that checks haproxy (Kolla's
// check_alive.sh: "show info" on haproxy's stats socket through socat,
// interval 2, fall 2, rise 10). Not track_process: it listens to the
// kernel's process connector, which answers only in the initial network
// namespace (keepalived 2.2.7 in a node's namespace logs "Failed to
// set/clear process event listen - errno 111" and stays in FAULT).
//
// Render writes one node's keepalived.conf; CheckScript writes the track
// script. Start runs keepalived in a node through the Node interface (the
// harness's way of starting a daemon inside a node; NetNS is the one for a
// bare network namespace) and returns an Instance to Stop (SIGTERM: the VIP
// is released) or Kill (SIGKILL to keepalived's process group: a crash).
//
//	peers := []keepalived.Peer{{Name: "node1", Addr: a1}, {Name: "node2", Addr: a2}}
//	conf, err := keepalived.Render(keepalived.Config{RouterID: 51, VIP: vip,
//		Interface: "eth0", Check: []string{"/var/tmp/shc/check_alive.sh"}}, peers, "node1")
//	inst, err := keepalived.Start(ctx, node, "/var/tmp/shc/node1/keepalived", conf)
//	...
//	inst.Kill() // or inst.Stop(ctx)
package keepalived

import (
	"fmt"
	"net/netip"
	"strings"
)

// Config is what every node's keepalived.conf shares.
type Config struct {
	// RouterID is the VRRP virtual_router_id, 1 to 255.
	RouterID int
	// VIP is the virtual address with its prefix length (IPv4).
	VIP netip.Prefix
	// Interface carries the VIP and the VRRP adverts.
	Interface string
	// AdvertInt is the advert interval in seconds (1 when 0: Kolla's).
	AdvertInt int
	// Unicast sends adverts to the peers (unicast_src_ip/unicast_peer)
	// instead of multicast.
	Unicast bool
	// AuthPass is the VRRP PASS authentication (at most 8 characters;
	// none when empty).
	AuthPass string
	// Check is the track script's argv (no track script when empty); each
	// element is one word of printable characters without quotes.
	Check []string
	// CheckInterval, Fall and Rise tune the track script (Kolla's 2, 2, 10
	// when 0).
	CheckInterval, Fall, Rise int
}

// Peer is one node of the VRRP group: its name and its address on
// Interface. The order is the priority order (Kolla: index + 1).
type Peer struct {
	Name string
	Addr netip.Addr
}

func word(s string) bool {
	if s == "" || len(s) > 256 {
		return false
	}
	for _, c := range []byte(s) {
		if c <= ' ' || c == 0x7f || c == '"' || c == '\'' || c == '\\' || c == '#' || c == '!' || c == '{' || c == '}' {
			return false
		}
	}
	return true
}

func (c Config) withDefaults() Config {
	if c.AdvertInt == 0 {
		c.AdvertInt = 1
	}
	if c.CheckInterval == 0 {
		c.CheckInterval = 2
	}
	if c.Fall == 0 {
		c.Fall = 2
	}
	if c.Rise == 0 {
		c.Rise = 10
	}
	return c
}

func (c Config) validate(peers []Peer) error {
	switch {
	case c.RouterID < 1 || c.RouterID > 255:
		return fmt.Errorf("keepalived: router id %d outside 1..255", c.RouterID)
	case !c.VIP.IsValid() || !c.VIP.Addr().Is4():
		return fmt.Errorf("keepalived: VIP %v is not an IPv4 prefix", c.VIP)
	case !word(c.Interface) || len(c.Interface) > 15:
		return fmt.Errorf("keepalived: bad interface %q", c.Interface)
	case c.AdvertInt < 1 || c.AdvertInt > 255:
		return fmt.Errorf("keepalived: advert_int %d outside 1..255", c.AdvertInt)
	case c.AuthPass != "" && (!word(c.AuthPass) || len(c.AuthPass) > 8):
		return fmt.Errorf("keepalived: auth_pass must be 1 to 8 plain characters")
	case c.CheckInterval < 1 || c.CheckInterval > 3600 || c.Fall < 1 || c.Fall > 100 || c.Rise < 1 || c.Rise > 100:
		return fmt.Errorf("keepalived: check interval/fall/rise %d/%d/%d out of range", c.CheckInterval, c.Fall, c.Rise)
	case len(peers) < 1 || len(peers) > 254:
		return fmt.Errorf("keepalived: %d peers, want 1 to 254", len(peers))
	}
	for _, w := range c.Check {
		if !word(w) {
			return fmt.Errorf("keepalived: check word %q: printable, no quotes, spaces or braces", w)
		}
	}
	seen := map[string]bool{}
	for _, p := range peers {
		if !word(p.Name) || seen[p.Name] {
			return fmt.Errorf("keepalived: bad or repeated peer name %q", p.Name)
		}
		if !p.Addr.Is4() || seen[p.Addr.String()] {
			return fmt.Errorf("keepalived: peer %s: bad or repeated address %v", p.Name, p.Addr)
		}
		seen[p.Name], seen[p.Addr.String()] = true, true
	}
	return nil
}

// Render returns the keepalived.conf of the peer named self.
func Render(c Config, peers []Peer, self string) (string, error) {
	c = c.withDefaults()
	if err := c.validate(peers); err != nil {
		return "", err
	}
	idx := -1
	for i, p := range peers {
		if p.Name == self {
			idx = i
		}
	}
	if idx < 0 {
		return "", fmt.Errorf("keepalived: %q is not a peer", self)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "# keepalived.conf of %s, rendered by stackha's cluster harness the way\n", self)
	b.WriteString("# Kolla-Ansible renders it (state BACKUP, nopreempt, priority index+1).\n")
	fmt.Fprintf(&b, "global_defs {\n    router_id %s\n    script_user root\n    enable_script_security\n}\n\n", self)
	if len(c.Check) > 0 {
		fmt.Fprintf(&b, "vrrp_script check_alive {\n    script \"%s\"\n    interval %d\n    fall %d\n    rise %d\n}\n\n",
			strings.Join(c.Check, " "), c.CheckInterval, c.Fall, c.Rise)
	}
	fmt.Fprintf(&b, "vrrp_instance shc_vip_%d {\n", c.RouterID)
	fmt.Fprintf(&b, "    state BACKUP\n    nopreempt\n    interface %s\n    virtual_router_id %d\n", c.Interface, c.RouterID)
	fmt.Fprintf(&b, "    priority %d\n    advert_int %d\n", idx+1, c.AdvertInt)
	if c.Unicast {
		fmt.Fprintf(&b, "    unicast_src_ip %s\n", peers[idx].Addr)
		if len(peers) > 1 {
			b.WriteString("    unicast_peer {\n")
			for i, p := range peers {
				if i != idx {
					fmt.Fprintf(&b, "        %s\n", p.Addr)
				}
			}
			b.WriteString("    }\n")
		}
	}
	fmt.Fprintf(&b, "    virtual_ipaddress {\n        %s dev %s\n    }\n", c.VIP, c.Interface)
	if c.AuthPass != "" {
		fmt.Fprintf(&b, "    authentication {\n        auth_type PASS\n        auth_pass %s\n    }\n", c.AuthPass)
	}
	if len(c.Check) > 0 {
		b.WriteString("    track_script {\n        check_alive\n    }\n")
	}
	b.WriteString("}\n")
	return b.String(), nil
}

// CheckScript returns Kolla's haproxy check as a shell script: haproxy is
// alive when its stats socket answers "show info". Needs socat.
func CheckScript(statsSocket string) (string, error) {
	if !word(statsSocket) || !strings.HasPrefix(statsSocket, "/") {
		return "", fmt.Errorf("keepalived: bad stats socket path %q", statsSocket)
	}
	return "#!/bin/sh\n# haproxy is alive when its stats socket answers (Kolla's check_alive.sh).\n" +
		"echo 'show info' | timeout 2 socat unix-connect:" + statsSocket + " stdio > /dev/null\n", nil
}
