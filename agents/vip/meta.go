package vip

import (
	"time"

	"github.com/stackha/stackha/metadata"
)

// Meta declares the agent: IPaddr2's parameters with their names, defaults
// and meaning, plus check_link_status.
var Meta = metadata.Agent{
	Name:  "vip",
	Short: "Manages a virtual IPv4 or IPv6 address (IPaddr2 drop-in on netlink)",
	Long: `Adds a virtual IP address to a network interface, announces it to the neighbours (gratuitous ARP for IPv4, unsolicited neighbour advertisements for IPv6) and removes it on stop. A drop-in replacement for ocf:heartbeat:IPaddr2: the same parameter names, defaults and meaning.

Everything is done in process through netlink and packet sockets: no ip, arping, send_arp or shell child processes. The only process it may start is a detached copy of itself that finishes the announcements when arp_bg is true.

When nic or cidr_netmask is not given, they are taken from the routing table as IPaddr2 does: the most specific route that contains the address. monitor checks that the address is on the interface with the right prefix length (and label), and, with check_link_status, that the link is up and has carrier.

start records what it set up (address, prefix length, interface, namespace, the background announcer's identity) in a root-only record in the instance's state directory; stop removes exactly that, also when the parameters no longer parse, and signals the announcer only when its owner, executable, start time and session still match the record. A record that exists but cannot be read fails stop, with a reason, once the address the parameters name is removed. A probe whose parameters do not parse answers from the record: the recorded address still up is a failure (1), never "not running".

validate-all with OCF_CHECK_LEVEL=0 checks the parameters only (safe on any node); at 10, the default, also that this node has the namespace, the interface and, when nic or cidr_netmask is not given, a route to place the address. reload-agent applies the parameters marked reloadable (the announcements and monitor's check_link_status) without a restart: each operation reads them anew.

Not supported: IPaddr2's CLUSTERIP mode (the address as a clone with clone-max above 1, and the mac, clusterip_hash and unique_clone_address parameters).`,
	Parameters: []metadata.Parameter{
		{Name: "ip", Type: metadata.String, Required: true, Unique: true, Short: "IPv4 or IPv6 address",
			Long: `The IPv4 (dotted quad, e.g. 192.168.1.1) or IPv6 (e.g. 2001:db8::10) address to manage. The address family follows it.`},
		{Name: "nic", Type: metadata.String, Short: "Network interface",
			Long: `The base network interface the address is added to. When empty, the interface is taken from the routing table (the most specific route that contains the address).

Give the base interface only (eth0, not eth0:1); for a label see iflabel. A label given here as nic=eth0:label is still accepted, with a warning. A link-local IPv6 address needs nic. An alternative name of the interface (ip link property add ... altname, up to 127 characters) names the same interface: the agent works with, and reports, the interface's own name.`},
		{Name: "cidr_netmask", Type: metadata.String, Short: "CIDR netmask",
			Long: `The prefix length (1-32 for IPv4, 1-128 for IPv6; e.g. 24, or 64 for IPv6). When empty, it is taken from the routing table. A dotted IPv4 netmask (255.255.255.0) is accepted with a warning.`},
		{Name: "netmask", Type: metadata.String, Short: "Deprecated alias of cidr_netmask",
			Deprecated: "the parameter is called cidr_netmask", ReplacedWith: "cidr_netmask",
			Long: `An old name of cidr_netmask that IPaddr2 still honours (it is not in IPaddr2's meta-data). Used, with a warning, when cidr_netmask is empty.`},
		{Name: "broadcast", Type: metadata.String, Short: "Broadcast address",
			Long: `IPv4 broadcast address of the added address. '+' sets the host bits of the prefix, '-' clears them. When empty, it is copied from the interface address that is the chosen route's preferred source, or none is set. Ignored for IPv6.`},
		{Name: "proto", Type: metadata.String, Short: "Route protocol to match when finding the interface",
			Long: `When nic or cidr_netmask is left to the routing table, consider only routes of this protocol: a name of ip-route(8) (kernel, boot, static, ra, dhcp, redirect, bird, zebra, babel, bgp, ospf, isis, rip, keepalived, ...) or a number from 0 to 255. "kernel" keeps a router-advertised or routing-daemon route from choosing the VIP's interface and prefix length (as IPaddr2's proto since resource-agents 4.16). Empty: every route.`},
		{Name: "iflabel", Type: metadata.String, Short: "Interface label",
			Long: `A label for the address, appended to the interface name (eth0:label). The whole label may be at most 15 characters.`},
		{Name: "lvs_support", Type: metadata.Boolean, Default: "false", Short: "Enable support for LVS DR",
			Long: `IPv4 only. For LVS direct routing: on start, a copy of the address held on a loopback interface (as /32) is removed and remembered; on stop it is put back, so the node keeps serving the address without advertising it.`},
		{Name: "lvs_ipv6_addrlabel", Type: metadata.Boolean, Default: "true", Short: "Enable adding IPv6 address label",
			Long: `IPv6 only (ignored, with a warning when set, for IPv4). While the address is up, put it (as a /128) in the address label policy table with lvs_ipv6_addrlabel_value, so that traffic leaving the interface does not use it as its source address (RFC 6724): without it, the most recently added IPv6 address of an interface, the VIP, becomes the source of the node's own connections, which then break when the VIP moves. Needed too for LVS-DR health checks to real servers that hold the address on their loopback. True by default, as in IPaddr2 since resource-agents 4.15.`},
		{Name: "lvs_ipv6_addrlabel_value", Type: metadata.Integer, Default: "99", Range: &metadata.Range{Min: 0, Max: maxAddrLabel}, Short: "IPv6 address label value",
			Long: `The label value lvs_ipv6_addrlabel uses: an unused label of the policy table (see ip addrlabel list).`},
		{Name: "mac", Type: metadata.String, Short: "Cluster IP MAC address (not supported)",
			Long:        `IPaddr2's MAC address for the CLUSTERIP mode. Not supported by vip.`,
			Unsupported: "vip does not implement the CLUSTERIP mode; run the address as a primitive"},
		{Name: "clusterip_hash", Type: metadata.String, Default: "sourceip-sourceport",
			Options: []string{"sourceip", "sourceip-sourceport", "sourceip-sourceport-destport"}, Short: "Cluster IP hashing function (not supported)",
			Long:        `IPaddr2's hashing for the CLUSTERIP mode. Not supported by vip.`,
			Unsupported: "vip does not implement the CLUSTERIP mode; run the address as a primitive"},
		{Name: "unique_clone_address", Type: metadata.Boolean, Default: "false", Short: "Unique address per clone (not supported)",
			Long:        `IPaddr2 adds the clone number to the address. Not supported by vip.`,
			Unsupported: "vip does not run as a clone; give each address its own primitive"},
		{Name: "arp_interval", Type: metadata.Integer, Default: "200", Range: &metadata.Range{Min: 1, Max: maxArpInterval}, Reloadable: true, Short: "ARP/NA packet interval in ms",
			Long: `Milliseconds between two announcements (gratuitous ARP for IPv4, unsolicited neighbour advertisement for IPv6).`},
		{Name: "arp_count", Type: metadata.Integer, Default: "5", Range: &metadata.Range{Min: 1, Max: maxArpCount}, Reloadable: true, Short: "ARP/NA packet count sent on start",
			Long: `How many announcements start sends; the first one at once, then one every arp_interval.`},
		{Name: "arp_count_refresh", Type: metadata.Integer, Default: "0", Range: &metadata.Range{Min: 0, Max: maxArpCount}, Reloadable: true, Short: "ARP/NA packet count sent on monitor",
			Long: `How many announcements each successful monitor sends again (0: none). Helps neighbours whose caches were left stale by a split brain.`},
		{Name: "arp_bg", Type: metadata.Boolean, Reloadable: true, Short: "ARP/NA from background",
			Long: `Whether the announcements after the first are sent by a detached copy of the agent, so that start returns at once. The default is true for IPv4 and false for IPv6. stop ends such a copy when it still runs.`},
		{Name: "arp_sender", Type: metadata.String, Reloadable: true,
			Options: []string{"send_arp", "iputils_arping", "libnet_arping", "ipoibarping"}, Short: "ARP sender (accepted, not used)",
			Long: `IPaddr2's choice of program for the gratuitous ARPs (send_arp, iputils_arping, libnet_arping, ipoibarping). Accepted for compatibility; vip always sends them itself.`},
		{Name: "send_arp_opts", Type: metadata.String, Reloadable: true, Short: "Options for ARP sender (ignored)",
			Long:    `Extra options of IPaddr2's ARP sender program. Ignored: vip always sends both an ARP request and an ARP reply.`,
			Ignored: "vip sends its own gratuitous ARP (request and reply); there is no sender program to pass options to"},
		{Name: "flush_routes", Type: metadata.Boolean, Default: "false", Reloadable: true, Short: "Flush kernel routing cache on stop",
			Long: `Flush the kernel's routing cache when the address is removed, so local applications stop taking a shortcut through the loopback interface to it.`},
		{Name: "run_arping", Type: metadata.Boolean, Default: "false", Reloadable: true, Short: "Check for an IPv4 address collision before adding",
			Long: `IPv4 only. Before adding the address, probe for it (RFC 5227 ARP probes). When another station answers, start fails and nothing is added.`},
		{Name: "nodad", Type: metadata.Boolean, Default: "false", Short: "Use nodad flag",
			Long: `IPv6 only. Add the address without duplicate address detection. Otherwise start waits for detection to end, and fails (removing the address) when it finds a duplicate.`},
		{Name: "noprefixroute", Type: metadata.Boolean, Default: "false", Short: "Use noprefixroute flag",
			Long: `Do not create the prefix route for the added address.`},
		{Name: "preferred_lft", Type: metadata.String, Default: "forever", Short: "IPv6 preferred lifetime",
			Long: `IPv6 only. The preferred lifetime of the address, in seconds (0 to 4294967294), or "forever". 0 keeps the address from being chosen as a source address.`},
		{Name: "network_namespace", Type: metadata.String, Short: "Network namespace to use",
			Long: `The network namespace (a name under /run/netns) to work in. It must exist, and hold the interface.`},
		{Name: "check_link_status", Type: metadata.Boolean, Default: "true", Reloadable: true, Short: "Fail monitor when the link is down",
			Long: `When true, monitor fails when the interface is administratively down or has no carrier, naming which, and start fails on an interface that is up without carrier (so Pacemaker moves the VIP at once instead of restarting it in place up to migration-threshold times).`},
		{Name: "watch", Type: metadata.Boolean, Default: "true", Reloadable: true, Short: "Report a lost link or address to Pacemaker at once",
			Long: `When true, start runs an event watcher: a detached copy of the agent (vip-watch), the leader of a session of its own, recorded with the instance, that blocks on netlink link and address events of the VIP's interface and, when the address is removed, the interface goes away or (with check_link_status) the link goes down or loses its carrier, reports the failure to Pacemaker at once with "crm_resource --fail --resource <OCF_RESOURCE_INSTANCE> --node <OCF_RESKEY_CRM_meta_on_node>" instead of waiting for the next monitor. It reports under the instance's lock, only while the record still names it on that node (never once stop has begun: stop removes it from the record before it ends it and removes the address), at most 3 times, 10 s apart. When crm_resource is missing or the CIB cannot be reached, it logs why (at most 20 lines) and the next monitor finds the failure: the monitors stay the ground truth. A dead watcher is never a failure of the VIP: a recurring monitor that succeeds starts a new one. No watcher runs without a node name (an agent run by hand). On by default: measured side by side (docs/faults.md, make bench-watch) it brings these outages from 0.4-1.0 s to 0.2-0.3 s on the two-node lab cluster and from 0.4-1.3 s to 0.4-0.5 s on three fenced nodes, for about 1.5 MiB of private memory and no wake-up while nothing happens; false leaves every detection to the monitors. A change takes effect at the next monitor (turned off: at once).`},
	},
	Actions: []metadata.Action{
		{Name: "start", Timeout: 20 * time.Second},
		{Name: "stop", Timeout: 20 * time.Second},
		{Name: "status", Timeout: 20 * time.Second, Interval: 10 * time.Second},
		{Name: "monitor", Timeout: 20 * time.Second, Interval: 10 * time.Second},
		{Name: "meta-data", Timeout: 5 * time.Second},
		{Name: "validate-all", Timeout: 20 * time.Second},
		{Name: "reload-agent", Timeout: 20 * time.Second},
	},
}
