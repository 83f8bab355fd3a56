package render

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

const seedYAML = `
vip: {address: 10.10.102.45, prefix: 24}
nodes:
  - {name: mesa-virt-01, address: 10.10.102.6}
  - {name: mesa-virt-02, address: 10.10.102.7}
`

// ipmi is a fencing device for node n, in flow style.
func ipmi(n string) string {
	return "{node: " + n + ", agent: fence_ipmilan, password_file: /etc/stackha/fence/" + n + ".pw, params: {ip: 10.9.0.1, username: admin}}"
}

// manyNodes is a nodes: section of n nodes in 10.0.0.0/24.
func manyNodes(n int) string {
	s := "nodes:\n"
	for i := 1; i <= n; i++ {
		s += "  - {name: n" + strconv.Itoa(i) + ", address: 10.0.0." + strconv.Itoa(i) + "}\n"
	}
	return s
}

func TestParseErrors(t *testing.T) {
	nodes := "nodes:\n  - {name: a, address: 10.0.0.1}\n  - {name: b, address: 10.0.0.2}\n"
	vip := "vip: {address: 10.0.0.100, prefix: 24}\n"
	tests := []struct {
		name, yaml string
		want       []string // every one must appear in the error
	}{
		{"empty", "", []string{"empty file"}},
		{"not yaml", "vip: [", []string{"topology:"}},
		{"unknown top field", vip + nodes + "vipz: {}\n", []string{"field vipz not found"}},
		{"unknown nested field", vip + nodes + "haproxy: {balanse: leastconn}\n", []string{"line 5: field balanse not found in haproxy"}},
		{"two documents", vip + nodes + "---\nvip: {}\n", []string{"more than one YAML document"}},
		{"no vip", nodes, []string{"vip.address: required"}},
		{"bad vip", "vip: {address: 10.0.0.300}\n" + nodes, []string{"vip.address", `"10.0.0.300" is not an IP address`}},
		{"vip prefix", "vip: {address: 10.0.0.100, prefix: 33}\n" + nodes, []string{"vip.prefix: 33 is out of range 1-32"}},
		{"vip network", "vip: {address: 10.0.0.0, prefix: 24}\n" + nodes, []string{"vip.address", "network address"}},
		{"vip broadcast", "vip: {address: 10.0.0.255, prefix: 24}\n" + nodes, []string{"vip.address", "broadcast address"}},
		{"vip multicast", "vip: {address: 224.0.0.5}\n" + nodes, []string{"vip.address", "not a unicast"}},
		{"vip nic", "vip: {address: 10.0.0.100, nic: 'eth0; reboot'}\n" + nodes, []string{"vip.nic"}},
		{"no nodes", vip, []string{"nodes: required: 2 to 16 controllers"}},
		{"one node", vip + "nodes:\n  - {name: a, address: 10.0.0.1}\n", []string{"nodes: 1 nodes; a cluster here has 2 to 16"}},
		{"17 nodes", vip + manyNodes(17), []string{"nodes: 17 nodes; a cluster here has 2 to 16"}},
		{"duplicate node", vip + "nodes:\n  - {name: a, address: 10.0.0.1}\n  - {name: A, address: 10.0.0.2}\n", []string{"nodes[1].name", `duplicate node "A" (also nodes[0])`}},
		{"duplicate address", vip + "nodes:\n  - {name: a, address: 10.0.0.1}\n  - {name: b, address: 10.0.0.1}\n", []string{"nodes[1].address", "duplicate address 10.0.0.1"}},
		{"node not in subnet", vip + "nodes:\n  - {name: a, address: 10.0.1.1}\n", []string{"nodes[0].address", "not in the VIP's subnet 10.0.0.0/24"}},
		{"node is vip", vip + "nodes:\n  - {name: a, address: 10.0.0.100}\n", []string{"nodes[0].address", "is a VIP itself"}},
		{"node name", vip + "nodes:\n  - {name: 'a b', address: 10.0.0.1}\n", []string{"nodes[0].name", "not a host name"}},
		{"node no address", vip + "nodes:\n  - {name: a}\n", []string{"nodes[0].address: required"}},
		{"unknown service", vip + nodes + "services: [{name: swift-proxy}]\n", []string{"services[0].name", `unknown service "swift-proxy"`, "keystone"}},
		{"empty services", vip + nodes + "services: []\n", []string{"services: empty"}},
		{"duplicate service by alias", vip + nodes + "services: [{name: neutron-server}, {name: quantum-server}]\n", []string{"services[1].name", "listed twice"}},
		{"port clash", vip + nodes + "services: [{name: keystone}, {name: glance-api, port: 5000}]\n", []string{"services[1].port", "port 5000 clashes with services[0].port (keystone)"}},
		{"legacy port clash", vip + nodes + "services: [{name: keystone, legacy: true}, {name: heat-api, port: 35357}]\n", []string{"services[1].port: port 35357 clashes with services[0].legacy_port"}},
		{"port range", vip + nodes + "services: [{name: keystone, port: 70000}]\n", []string{"services[0].port: 70000 is out of range"}},
		{"no legacy", vip + nodes + "services: [{name: cinder-api, legacy: true}]\n", []string{"services[0].legacy: cinder-api has no legacy listener"}},
		{"legacy port without legacy", vip + nodes + "services: [{name: keystone, legacy_port: 35358}]\n", []string{"services[0].legacy_port: set, but legacy is not true"}},
		{"run mode", vip + nodes + "services: [{name: keystone, run_mode: docker}]\n", []string{"services[0].run_mode", "systemd or process"}},
		{"depth", vip + nodes + "services: [{name: keystone, monitor_depth: 5}]\n", []string{"services[0].monitor_depth: 5"}},
		{"depth 10 is haproxy's", vip + nodes + "services: [{name: keystone, monitor_depth: 10}]\n", []string{"services[0].monitor_depth: 10: want 0 or 20"}},
		{"deep interval without depth", vip + nodes + "services: [{name: keystone, deep_monitor_interval: 30s}]\n", []string{"services[0].deep_monitor_interval: set, but monitor_depth is 0"}},
		{"deep interval is the interval", vip + nodes + "haproxy: {monitor_depth: 10, monitor_interval: 30s}\n", []string{"haproxy.deep_monitor_interval: 30s is also monitor_interval"}},
		{"depth 20 needs credentials", vip + nodes + "services: [{name: keystone, monitor_depth: 20}]\n", []string{"services[0].credentials: required with monitor_depth 20"}},
		{"credentials path", vip + nodes + "services: [{name: keystone, credentials: 'x y'}]\n", []string{"services[0].credentials"}},
		{"interval", vip + nodes + "services: [{name: keystone, monitor_interval: soon}]\n", []string{`"soon" is not a duration`}},
		{"negative interval", vip + nodes + "haproxy: {check: {inter: -1s}}\n", []string{"negative"}},
		{"balance", vip + nodes + "haproxy: {balance: random-ish}\n", []string{"haproxy.balance", "roundrobin"}},
		{"haproxy config", vip + nodes + "haproxy: {config: 'relative.cfg'}\n", []string{"haproxy.config"}},
		{"haproxy depth", vip + nodes + "haproxy: {monitor_depth: 20}\n", []string{"haproxy.monitor_depth: 20"}},
		{"vip and vips", vip + "vips: [{name: public, address: 10.0.1.100}]\n" + nodes, []string{"give vip (one address for every endpoint) or vips (several), not both"}},
		{"vips names", "vips: [{address: 10.0.0.100}, {name: Public, address: 10.0.1.100}, {name: x, address: 10.0.2.100}, {name: x, address: 10.0.3.100}]\n" + nodes,
			[]string{"vips[0].name: required", `vips[1].name: "Public": lower case letters`, `vips[3].name: "x" also names vips[2]`}},
		{"vips address twice", "vips: [{name: internal, address: 10.0.0.100}, {name: public, address: 10.0.0.100}]\n" + nodes, []string{"vips[1].address: 10.0.0.100 is also vips[0]'s"}},
		{"vips bad address", "vips: [{name: internal, address: 10.0.0.100}, {name: public, address: 10.0.1.0, prefix: 24}]\n" + nodes, []string{"vips[1].address", "network address"}},
		{"nodes outside the internal VIP", "vips: [{name: public, address: 10.0.0.100}, {name: internal, address: 10.0.1.100}]\n" + nodes,
			[]string{"nodes[0].address: 10.0.0.1 is not in the internal VIP's subnet 10.0.1.0/24"}},
		{"vip name in vip", "vip: {name: public, address: 10.0.0.100}\n" + nodes, []string{"vip.name: only the VIPs of vips have names"}},
		{"service vips with one vip", vip + nodes + "services: [{name: keystone, vips: [public]}]\n", []string{"services[0].vips: set, but the topology has one vip"}},
		{"service vips unknown", "vips: [{name: internal, address: 10.0.0.100}, {name: public, address: 10.0.1.100}]\n" + nodes +
			"services: [{name: keystone, vips: [public, external, public]}]\n", []string{`services[0].vips: "external" is not the name`, `services[0].vips: "public" twice`}},
		{"service vips empty", "vips: [{name: internal, address: 10.0.0.100}]\n" + nodes + "services: [{name: keystone, vips: []}]\n",
			[]string{"services[0].vips: empty"}},
		{"tls without certificate", "vip: {address: 10.0.0.100, tls: {}}\n" + nodes, []string{"vip.tls.certificate: required"}},
		{"tls relative certificate", "vips: [{name: public, address: 10.0.0.100, tls: {certificate: api.pem}}]\n" + nodes,
			[]string{"vips[0].tls.certificate", "absolute path of plain characters"}},
		{"redirect without certificate", "vip: {address: 10.0.0.100, tls: {redirect_http: true}}\n" + nodes,
			[]string{"vip.tls.redirect_http: needs tls.certificate", "vip.tls.certificate: required"}},
		{"redirect on port 80", "vips: [{name: internal, address: 10.0.0.100}, {name: public, address: 10.0.1.100, tls: {certificate: /etc/api.pem, redirect_http: true}}]\n" +
			nodes + "services: [{name: keystone}, {name: glance-api, port: 80}]\n",
			[]string{"vips[1].tls.redirect_http: port 80 of the public VIP (10.0.1.100) is glance-api's (services[1].port): the redirect needs it"}},
		{"redirect on a legacy port 80", "vip: {address: 10.0.0.100, tls: {certificate: /etc/api.pem, redirect_http: true}}\n" + nodes +
			"services: [{name: keystone, legacy: true, legacy_port: 80}]\n",
			[]string{"vip.tls.redirect_http: port 80 of the VIP (10.0.0.100) is keystone's (services[0].legacy_port)"}},
		{"redirect on the database's port", "vip: {address: 10.0.0.100, tls: {certificate: /etc/api.pem, redirect_http: true}}\n" + stateNodes3 +
			"database: {password_dir: /etc/stackha/db, port: 80}\n",
			[]string{"vip.tls.redirect_http: port 80 of the VIP (10.0.0.100) is the database listener's (database.port)"}},
		{"backend tls paths", vip + nodes + "haproxy: {backend_tls: {ca_file: ca.pem, certificate: '/etc/a b.pem'}}\n",
			[]string{`haproxy.backend_tls.ca_file: "ca.pem": want an absolute path of plain characters`, "haproxy.backend_tls.certificate", "haproxy.backend_tls.key: required"}},
		{"backend tls without ca", vip + nodes + "haproxy: {backend_tls: {certificate: /etc/n.pem, key: /etc/n.key}}\n",
			[]string{"haproxy.backend_tls.ca_file: required"}},
		{"backend tls and a ca_file param", vip + nodes + "services: [{name: keystone, params: {ca_file: /etc/ca.pem}}]\n" +
			"haproxy: {backend_tls: {ca_file: /etc/ca.pem, certificate: /etc/n.pem, key: /etc/n.key}}\n",
			[]string{"services[0].params.ca_file: set by haproxy.backend_tls.ca_file"}},
		{"backend tls and uwsgi run by the agent", vip + nodes + "services: [{name: glance-api, run_mode: process}, {name: nova-api, run_mode: process}]\n" +
			"haproxy: {backend_tls: {ca_file: /etc/ca.pem, certificate: /etc/n.pem, key: /etc/n.key}}\n",
			[]string{"services[1].run_mode: process: the agent runs nova-api under uwsgi with --http-socket"}},
		{"unknown backend tls key", vip + nodes + "haproxy: {backend_tls: {ca: /etc/ca.pem}}\n", []string{"field ca not found in haproxy.backend_tls"}},
		{"vip dns name", "vips: [{name: internal, address: 10.0.0.100, dns_name: 'api example'}]\n" + nodes, []string{"vips[0].dns_name", "not a host name"}},
		{"log target", vip + nodes + "haproxy: {log: syslog.example}\n", []string{"haproxy.log", "address:port (UDP syslog)"}},
		{"log path", vip + nodes + "haproxy: {log: '/dev/l og'}\n", []string{"haproxy.log", "absolute path of plain characters"}},
		{"stats port clash", vip + nodes + "haproxy: {stats: {port: 5000}}\n", []string{"haproxy.stats.port: port 5000 clashes with keystone"}},
		{"stats port range", vip + nodes + "haproxy: {stats: {port: 70000}}\n", []string{"haproxy.stats.port: 70000 is out of range"}},
		{"stats allow", vip + nodes + "haproxy: {stats: {allow: [10.0.0.0/33, prometheus, 10.0.1.1/16]}}\n",
			[]string{"haproxy.stats.allow[0]", `"prometheus" is not an address`, "haproxy.stats.allow[2]: 10.0.1.1/16 has host bits set"}},
		{"stats off, allow set", vip + nodes + "haproxy: {stats: {port: 0, allow: [10.0.0.9]}}\n", []string{"haproxy.stats.allow: set, but haproxy.stats.port is 0"}},
		{"management address is the VIP", vip + "nodes:\n  - {name: a, address: 10.0.0.1, management_address: 10.0.0.100}\n  - {name: b, address: 10.0.0.2}\n",
			[]string{"nodes[0].management_address: 10.0.0.100 is a VIP"}},
		{"management address", vip + "nodes:\n  - {name: a, address: 10.0.0.1, management_address: mgmt-a}\n  - {name: b, address: 10.0.0.2}\n",
			[]string{"nodes[0].management_address", "not an IP address"}},
		{"rise", vip + nodes + "haproxy: {check: {rise: -1}}\n", []string{"haproxy.check.rise"}},
		{"no quorum", vip + nodes + "cluster: {no_quorum_policy: panic}\n", []string{"cluster.no_quorum_policy"}},
		{"migration", vip + nodes + "cluster: {migration_threshold: -2}\n", []string{"cluster.migration_threshold"}},
		{"transition delay", vip + nodes + "cluster: {transition_delay: 6s}\n", []string{"cluster.transition_delay: 6s is over 5s"}},
		{"region", vip + nodes + "region: 'Region One'\n", []string{"region"}},
		{"param name", vip + nodes + "services: [{name: keystone, params: {Bad-Name: x}}]\n", []string{"services[0].params", `"Bad-Name" is not a parameter name`}},
		{"param taken", vip + nodes + "services: [{name: keystone, params: {port: '1'}}]\n", []string{"services[0].params.port: set by the topology's own field"}},
		{"vip param taken", "vip: {address: 10.0.0.100, params: {nic: eth1}}\n" + nodes, []string{"vip.params.nic: set by the topology's own field"}},
		{"param value", "vip: {address: 10.0.0.100, params: {arp_count: '1; reboot'}}\n" + nodes, []string{"vip.params.arp_count", "want letters"}},
		{"haproxy param value", vip + nodes + "haproxy: {params: {extra_args: '$(x)'}}\n", []string{"haproxy.params.extra_args"}},
		{"ring1 missing on one node", vip + "nodes:\n  - {name: a, address: 10.0.0.1, ring1_addr: 10.1.0.1}\n  - {name: b, address: 10.0.0.2}\n",
			[]string{"nodes[1].ring1_addr: missing: nodes[0] has one, and a second link needs an address on every node"}},
		{"ring address", vip + "nodes:\n  - {name: a, address: 10.0.0.1, ring0_addr: 10.1.0.300}\n  - {name: b, address: 10.0.0.2}\n",
			[]string{`nodes[0].ring0_addr: "10.1.0.300" is not an IP address`}},
		{"ring families", vip + "nodes:\n  - {name: a, address: 10.0.0.1, ring1_addr: 10.1.0.1}\n  - {name: b, address: 10.0.0.2, ring1_addr: '2001:db8::2'}\n",
			[]string{"nodes[1].ring1_addr: 2001:db8::2 is IPv6, the link's other addresses IPv4"}},
		{"ring duplicate", vip + "nodes:\n  - {name: a, address: 10.0.0.1, ring1_addr: 10.1.0.1}\n  - {name: b, address: 10.0.0.2, ring1_addr: 10.1.0.1}\n",
			[]string{"nodes[1].ring1_addr: duplicate address 10.1.0.1 (also nodes[0])"}},
		{"fence unknown node", vip + nodes + "fencing: {devices: [" + ipmi("a") + ", " + ipmi("c") + "]}\n",
			[]string{`fencing.devices[1].node: "c" is not a node of nodes`, "nodes[1]: b has no fencing device"}},
		{"node without a device", vip + nodes + "fencing: {devices: [" + ipmi("a") + "]}\n",
			[]string{"nodes[1]: b has no fencing device: with fencing on, every node needs one in fencing.devices"}},
		{"two devices for a node", vip + nodes + "fencing: {devices: [" + ipmi("a") + ", " + ipmi("b") + ", {node: a, agent: fence_virsh, id: f2, password_file: /p}]}\n",
			[]string{"fencing.devices[2].node: a already has a device (fencing.devices[0])"}},
		{"device without node", vip + nodes + "fencing: {devices: [" + ipmi("a") + ", " + ipmi("b") + ", {agent: fence_ipmilan}]}\n",
			[]string{"fencing.devices[2].node: required"}},
		{"literal password", vip + nodes + "fencing: {devices: [" + ipmi("a") + ", {node: b, agent: fence_ipmilan, params: {ip: 10.9.0.2, password: hunter2}}]}\n",
			[]string{"fencing.devices[1].params.password: a literal password would be written", "fencing.devices[1].password_file"}},
		{"literal passwd", vip + nodes + "fencing: {devices: [" + ipmi("a") + ", {node: b, agent: fence_ipmilan, params: {passwd: hunter2}}]}\n",
			[]string{"fencing.devices[1].params.passwd: a literal password"}},
		{"password script in params", vip + nodes + "fencing: {devices: [" + ipmi("a") + ", {node: b, agent: fence_ipmilan, params: {password_script: /x}}]}\n",
			[]string{"fencing.devices[1].params.password_script: set by the topology's own field"}},
		{"host list in params", vip + nodes + "fencing: {devices: [" + ipmi("a") + ", {node: b, agent: fence_ipmilan, params: {pcmk_host_list: a}}]}\n",
			[]string{"fencing.devices[1].params.pcmk_host_list: set by the topology's own field"}},
		{"file and script", vip + nodes + "fencing: {devices: [" + ipmi("a") + ", {node: b, agent: fence_ipmilan, password_file: /p, password_script: /s}]}\n",
			[]string{"fencing.devices[1].password_script: set together with password_file"}},
		{"password file path", vip + nodes + "fencing: {devices: [" + ipmi("a") + ", {node: b, agent: fence_ipmilan, password_file: 'p; reboot'}]}\n",
			[]string{"fencing.devices[1].password_file: \"p; reboot\" is not an absolute path"}},
		{"redfish needs a password", vip + nodes + "fencing: {devices: [" + ipmi("a") + ", {node: b, agent: fence_redfish, params: {ip: 10.9.0.2, username: u}}]}\n",
			[]string{"fencing.devices[1].password_file: fence_redfish needs a password"}},
		{"virsh needs a password or key", vip + nodes + "fencing: {devices: [" + ipmi("a") + ", {node: b, agent: fence_virsh, params: {ip: 10.9.0.2}}]}\n",
			[]string{"fencing.devices[1].password_file: fence_virsh needs a password (required unless params.identity_file"}},
		{"sbd takes none", vip + nodes + "fencing: {devices: [" + ipmi("a") + ", {node: b, agent: fence_sbd, password_file: /p, params: {devices: /dev/sdz}}]}\n",
			[]string{"fencing.devices[1].password_file: fence_sbd takes no password"}},
		{"fence agent name", vip + nodes + "fencing: {devices: [" + ipmi("a") + ", {node: b, agent: 'ipmitool -H x'}]}\n",
			[]string{"fencing.devices[1].agent", "not a fence agent name"}},
		{"fence agent missing", vip + nodes + "fencing: {devices: [" + ipmi("a") + ", {node: b}]}\n",
			[]string{"fencing.devices[1].agent: required"}},
		{"plug", vip + nodes + "fencing: {devices: [" + ipmi("a") + ", {node: b, agent: fence_ipmilan, plug: 'x;y'}]}\n",
			[]string{"fencing.devices[1].plug"}},
		{"device id", vip + nodes + "fencing: {devices: [" + ipmi("a") + ", {node: b, agent: fence_ipmilan, id: '1x'}]}\n",
			[]string{"fencing.devices[1].id"}},
		{"duplicate device id", vip + nodes + "fencing: {devices: [" + ipmi("a") + ", {node: b, agent: fence_ipmilan, id: fence-a}]}\n",
			[]string{"fencing.devices[1].id: duplicate id fence-a"}},
		{"priority delay on three nodes", vip + "nodes:\n  - {name: a, address: 10.0.0.1}\n  - {name: b, address: 10.0.0.2}\n  - {name: c, address: 10.0.0.3}\n" +
			"fencing: {priority_delay: 5s, devices: [" + ipmi("a") + ", " + ipmi("b") + ", " + ipmi("c") + "]}\n",
			[]string{"fencing.priority_delay: set, but used on two nodes only"}},
		{"priority delay without devices", vip + nodes + "fencing: {priority_delay: 5s}\n", []string{"fencing.priority_delay: set, but there are no fencing.devices"}},
		{"stonith without devices", vip + nodes + "cluster: {stonith_enabled: true}\n", []string{"cluster.stonith_enabled: true, but there are no fencing.devices"}},
		{"devices with stonith off", vip + nodes + "cluster: {stonith_enabled: false}\nfencing: {devices: [" + ipmi("a") + ", " + ipmi("b") + "]}\n",
			[]string{"cluster.stonith_enabled: false, but fencing.devices are given"}},
		{"unknown fencing key", vip + nodes + "fencing: {devices: [{node: a, agent: fence_ipmilan, pasword_file: /p}]}\n", []string{"field pasword_file not found in fencing.devices[]"}},
		{"token", vip + nodes + "corosync: {token: 50ms}\n", []string{"corosync.token: 50ms is out of range 100ms-1m"}},
		{"consensus", vip + nodes + "corosync: {token: 2s, consensus: 2s}\n", []string{"corosync.consensus: 2s is out of range: at least 1.2 × token (2400ms)"}},
		{"cluster name", vip + nodes + "corosync: {cluster_name: 'a b'}\n", []string{"corosync.cluster_name"}},
		{"key file", vip + nodes + "corosync: {key_file: authkey}\n", []string{"corosync.key_file"}},
		{"several at once", "vip: {address: 10.0.0.100}\nnodes:\n  - {name: a, address: 10.0.9.1}\nservices: [{name: nova}]\n",
			[]string{"nodes[0].address", "services[0].name"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			topo, err := ParseBytes([]byte(tc.yaml))
			if err == nil {
				_, err = Render(topo)
			}
			if err == nil {
				t.Fatalf("no error for\n%s", tc.yaml)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
			// Nothing written: the output directory is not even created.
			dir := filepath.Join(t.TempDir(), "out")
			in := filepath.Join(t.TempDir(), "topology.yaml")
			if err := os.WriteFile(in, []byte(tc.yaml), 0o644); err != nil {
				t.Fatal(err)
			}
			if _, err := RenderFile(in, dir); err == nil {
				t.Fatal("RenderFile: no error")
			}
			if _, err := os.Stat(dir); !os.IsNotExist(err) {
				t.Errorf("output directory exists after a bad topology (stat: %v)", err)
			}
		})
	}
}

// TestSizeCap: a topology over 1 MiB is refused before it is parsed, with
// the file and the cap named, and nothing written; one just under is read.
func TestSizeCap(t *testing.T) {
	dir := t.TempDir()
	pad := func(n int) []byte {
		b := []byte(seedYAML)
		line := "# " + strings.Repeat("x", 77) + "\n"
		for len(b)+len(line) <= n {
			b = append(b, line...)
		}
		return append(b, strings.Repeat("#", n-len(b))...)
	}
	for _, tc := range []struct {
		size int
		ok   bool
	}{{MaxTopologySize, true}, {MaxTopologySize + 1, false}, {8 << 20, false}} {
		in := filepath.Join(dir, "t.yaml")
		if err := os.WriteFile(in, pad(tc.size), 0o644); err != nil {
			t.Fatal(err)
		}
		out := filepath.Join(dir, "out"+strconv.Itoa(tc.size))
		_, err := RenderFile(in, out)
		if tc.ok {
			if err != nil {
				t.Errorf("%d bytes: %v", tc.size, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), in+": topology: larger than 1048576 bytes (1 MiB)") {
			t.Errorf("%d bytes: error %v, want one naming %s and the cap", tc.size, err, in)
		}
		if _, err := os.Stat(out); !os.IsNotExist(err) {
			t.Errorf("%d bytes: output directory exists (stat: %v)", tc.size, err)
		}
	}
}

func TestDefaults(t *testing.T) {
	topo, err := ParseBytes([]byte(seedYAML))
	if err != nil {
		t.Fatal(err)
	}
	r := topo.resolved
	if again, err := topo.resolve(); err != nil || fmt.Sprint(*again) != fmt.Sprint(*r) {
		t.Errorf("resolving again gives another result (%v):\n%+v\n%+v", err, *again, *r)
	}
	// Without a services list: the how-to's set as Debian 12 ships it (no
	// glance-registry, no legacy listeners).
	var got []string
	for _, s := range r.services {
		for _, l := range s.listeners() {
			got = append(got, l.name+":"+strconv.Itoa(l.port))
		}
	}
	want := []string{"keystone:5000", "neutron:9696", "glance:9292", "nova:8774", "nova-metadata:8775", "cinder:8776"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("listeners\n got %v\nwant %v", got, want)
	}
	// crm/examples/seed.yaml names the how-to's seven: the nine frontends of
	// its haproxy.cfg, by port (its glance names swapped back).
	seedFile, err := os.ReadFile("../examples/seed.yaml")
	if err != nil {
		t.Fatal(err)
	}
	seed, err := ParseBytes(seedFile)
	if err != nil {
		t.Fatal(err)
	}
	got = nil
	for _, s := range seed.resolved.services {
		for _, l := range s.listeners() {
			got = append(got, l.name+":"+strconv.Itoa(l.port))
		}
	}
	want = []string{"keystone:5000", "keystone-admin:35357", "neutron:9696", "glance:9292", "glance-registry:9191",
		"nova:8774", "nova-ec2:8773", "nova-metadata:8775", "cinder:8776"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("seed.yaml's listeners\n got %v\nwant %v", got, want)
	}
	c := topo.Cluster
	if *c.StonithEnabled || c.NoQuorumPolicy != "ignore" || *c.Stickiness != 100 || *c.FailureTimeout != 0 || *c.MigrationThreshold != 10 {
		t.Errorf("cluster defaults are not the how-to's: %+v", c)
	}
	h := topo.HAProxy
	if h.Balance != "roundrobin" || h.MaxConn != 10000 {
		t.Errorf("haproxy balance and maxconn are not those of the how-to's haproxy.cfg: %+v", h)
	}
	// Not the how-to's: the checks and timeouts that route around a failed
	// backend in about a second (crm/README.md explains each), and the
	// monitor intervals.
	if got := fmt.Sprintf("%+v %+v", h.Check, h.Timeouts); got != "{Inter:1s FastInter:250ms DownInter:1s Rise:2 Fall:2} {Connect:250ms Client:60s Server:0s Check:500ms}" {
		t.Errorf("haproxy checks and timeouts: %s", got)
	}
	if r.vips[0].every.String() != "1s" || h.MonitorInterval.String() != "1s" || r.services[0].every.String() != "2s" {
		t.Errorf("monitor intervals: vip %s haproxy %s keystone %s, want 1s 1s 2s", r.vips[0].every, h.MonitorInterval, r.services[0].every)
	}
	for _, s := range r.services {
		want := map[string]string{"glance-api": "600s", "neutron-server": "120s"}[s.name]
		if want == "" {
			want = "60s"
		}
		if s.timeoutServer.String() != want {
			t.Errorf("%s: timeout server %s, want %s", s.name, s.timeoutServer, want)
		}
	}
	if len(r.fencing) != 0 || topo.Corosync.ClusterName != "stackha" || topo.Corosync.Token.String() != "3s" || !*topo.Corosync.Crypto {
		t.Errorf("fencing %v, corosync %+v: want none, stackha, 3s, crypto on", r.fencing, topo.Corosync)
	}
	// Rendering twice gives the same text (defaults are filled once).
	a, err := Render(topo)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Render(topo)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range a.Names() {
		if string(a[n]) != string(b[n]) {
			t.Errorf("%s differs between two renders", n)
		}
	}
}

func TestDuration(t *testing.T) {
	tests := []struct{ in, want, err string }{
		{"10s", "10s", ""}, {"500ms", "500ms", ""}, {"2m", "120s", ""}, {"1.5s", "1500ms", ""}, {"0", "0s", ""},
		{"10", "", "not a duration"}, {"-1s", "", "negative"}, {"1us", "", "finer than a millisecond"},
	}
	for _, tc := range tests {
		topo, err := ParseBytes([]byte(seedYAML + "haproxy: {check: {inter: " + tc.in + "}}\n"))
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%s: error %v, want %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tc.in, err)
			continue
		}
		got := topo.HAProxy.Check.Inter.String()
		if tc.in == "0" {
			got = "0s" // 0 means the default
		}
		if got != tc.want && tc.in != "0" {
			t.Errorf("%s: got %s, want %s", tc.in, got, tc.want)
		}
	}
}

func TestIPv6(t *testing.T) {
	topo, err := ParseBytes([]byte("vip: {address: '2001:db8::100'}\nnodes:\n  - {name: a, address: '2001:db8::11'}\n  - {name: b, address: '2001:db8::12'}\nservices: [{name: keystone}]\n"))
	if err != nil {
		t.Fatal(err)
	}
	f, err := Render(topo)
	if err != nil {
		t.Fatal(err)
	}
	for file, want := range map[string]string{
		"cluster.crm":  "ip=2001:db8::100 cidr_netmask=64",
		"haproxy.cfg":  "server a [2001:db8::11]:5000\n",
		"endpoints.sh": "endpoint identity public 'http://[2001:db8::100]:5000/v3'",
	} {
		if !strings.Contains(string(f[file]), want) {
			t.Errorf("%s lacks %q", file, want)
		}
	}
	if !strings.Contains(string(f["haproxy.cfg"]), "bind [2001:db8::100]:5000") {
		t.Error("haproxy.cfg: no IPv6 bind")
	}
}

func TestExtraParams(t *testing.T) {
	topo, err := ParseBytes([]byte(seedYAML + "services:\n  - name: keystone\n    run_mode: process\n    params: {user: keystone, config: /etc/keystone/keystone.conf}\n" +
		"haproxy: {params: {stop_timeout: 10s}}\n"))
	if err != nil {
		t.Fatal(err)
	}
	// A Topology built in Go (not from Parse) is resolved by Render.
	topo = &Topology{VIP: topo.VIP, Nodes: topo.Nodes, Services: topo.Services, HAProxy: topo.HAProxy}
	topo.VIP.Params = map[string]string{"arp_count": "3"}
	f, err := Render(topo)
	if err != nil {
		t.Fatal(err)
	}
	for file, want := range map[string][]string{
		"cluster.crm": {"params ip=10.10.102.45 cidr_netmask=24 arp_count=3", "params config=/etc/haproxy/haproxy.cfg node_attribute=haproxy-listening stop_timeout=10s",
			"params run_mode=process port=5000 probe_timeout=2s drain_timeout=20s drain_checks=3s config=/etc/keystone/keystone.conf user=keystone"},
		"cluster.pcs.sh": {"ip=10.10.102.45 cidr_netmask=24 arp_count=3", "run_mode=process port=5000 probe_timeout=2s drain_timeout=20s drain_checks=3s config=/etc/keystone/keystone.conf user=keystone"},
	} {
		for _, w := range want {
			if !strings.Contains(string(f[file]), w) {
				t.Errorf("%s lacks %q", file, w)
			}
		}
	}
}

func TestWriteReplacesAtomically(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "cluster.crm"), []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	f := Files{"cluster.crm": []byte("new\n"), "endpoints.sh": []byte("#!/bin/sh\n")}
	if err := f.Write(dir); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(filepath.Join(dir, "cluster.crm"))
	if string(b) != "new\n" {
		t.Errorf("cluster.crm = %q", b)
	}
	fi, err := os.Stat(filepath.Join(dir, "endpoints.sh"))
	if err != nil || fi.Mode().Perm() != 0o755 {
		t.Errorf("endpoints.sh mode: %v %v", fi, err)
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 2 {
		t.Errorf("left behind: %v", ents)
	}
	// A directory in the way of one file: nothing is replaced.
	dir2 := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir2, "endpoints.sh"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := f.Write(dir2); err == nil {
		t.Fatal("no error with a directory in the way")
	}
	if _, err := os.Stat(filepath.Join(dir2, "cluster.crm")); !os.IsNotExist(err) {
		t.Errorf("cluster.crm written although endpoints.sh could not be: %v", err)
	}
}

// FuzzParse: no input panics; whatever parses renders, and nothing a
// topology holds reaches the output unvalidated (no quote, newline or shell
// metacharacter beyond what the templates write).
func FuzzParse(f *testing.F) {
	f.Add([]byte(seedYAML))
	f.Add([]byte("vip: {address: '2001:db8::1', prefix: 64, nic: eth0}\nnodes: [{name: x, address: '2001:db8::2'}, {name: y, address: '2001:db8::3'}]\nservices: [{name: quantum-server, port: 1}]\n"))
	f.Add([]byte("vip: {address: 192.0.2.100, params: {arp_count: '2'}}\nnodes: [{name: n, address: 192.0.2.1}, {name: m, address: 192.0.2.2}]\nservices: [{name: heat-api, params: {user: heat}}]\n"))
	f.Add([]byte("vip: {address: 192.0.2.100}\nnodes: [{name: n, address: 192.0.2.1}, {name: m, address: 192.0.2.2}]\nhaproxy: {config: /x, check: {inter: 100ms}}\ncluster: {failure_timeout: 60s}\n"))
	f.Add([]byte("vip: {address: 192.0.2.100}\nnodes: [{name: n, address: 192.0.2.1, ring1_addr: 10.0.0.1}, {name: m, address: 192.0.2.2, ring1_addr: 10.0.0.2}]\n" +
		"fencing: {devices: [{node: n, agent: fence_ipmilan, password_file: /p, params: {ip: 10.1.1.1}}, {node: m, agent: fence_virsh, plug: vm-m, password_script: /s}]}\n" +
		"corosync: {token: 1s, crypto: false}\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		topo, err := ParseBytes(b)
		if err != nil {
			return
		}
		files, err := Render(topo)
		if err != nil {
			t.Fatalf("parsed but did not render: %v", err)
		}
		for _, n := range topo.Nodes {
			if strings.ContainsAny(n.Name, "'\"\\ \n$`;") {
				t.Fatalf("node name %q accepted", n.Name)
			}
		}
		vals := []string{topo.VIP.NIC, topo.HAProxy.Config, topo.Region}
		for _, s := range topo.Services {
			vals = append(vals, s.Credentials)
			for k, v := range s.Params {
				vals = append(vals, k, v)
			}
		}
		c := topo.Corosync
		vals = append(vals, c.ClusterName, c.KeyFile)
		maps := []map[string]string{topo.VIP.Params, topo.HAProxy.Params}
		for _, d := range topo.Fencing.Devices {
			vals = append(vals, d.Node, d.Agent, d.ID, d.Plug, d.PasswordFile, d.PasswordScript)
			maps = append(maps, d.Params)
			for _, k := range []string{"password", "passwd"} {
				if _, ok := d.Params[k]; ok {
					t.Fatalf("a literal %s accepted", k)
				}
			}
		}
		for _, n := range topo.Nodes {
			vals = append(vals, n.Ring0Addr, n.Ring1Addr)
		}
		for _, m := range maps {
			for k, v := range m {
				vals = append(vals, k, v)
				if secretWord(k) != "" && !secretRef(k) {
					t.Fatalf("a secret's name %q accepted", k)
				}
			}
		}
		for _, s := range vals {
			if strings.ContainsAny(s, "'\"\\ \n$`;") {
				t.Fatalf("value %q accepted", s)
			}
		}
		if n := len(files) - len(topo.resolved.NodeFiles()); n != 5 {
			t.Fatalf("%d files", n)
		}
	})
}

// Forms operators write that the topology reads as YAML users expect (kept
// against a change of YAML library: goccy/go-yaml refused the first two),
// and type errors said in the file's terms, never Go's.
func TestParseYAMLForms(t *testing.T) {
	head := "vip: {address: 10.0.0.100, prefix: 24}\nnodes:\n  - {name: a, address: 10.0.0.1}\n  - {name: b, address: 10.0.0.2}\n"
	topo, err := ParseBytes([]byte(head + "services:\n  - &k {name: keystone, legacy: yes}\n  - {<<: *k, name: heat-api, legacy: no}\n"))
	if err != nil {
		t.Fatalf("yes for true, a merge key overridden: %v", err)
	}
	if s := topo.Services; len(s) != 2 || s[1].Name != "heat-api" || s[0].Legacy == nil || !*s[0].Legacy || s[1].Legacy == nil || *s[1].Legacy {
		t.Errorf("services read as %+v", s)
	}
	for _, tc := range []struct{ yaml, want string }{
		{"services: keystone\n", "line 5: cannot unmarshal !!str `keystone` into the list services[]"},
		{"haproxy: lots\n", "into the mapping haproxy"},
		{"fencing: {devices: {node: a}}\n", "into the list fencing.devices[]"},
	} {
		_, err := ParseBytes([]byte(head + tc.yaml))
		if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "render.") {
			t.Errorf("%q: error %v, want %q and no Go type", tc.yaml, err, tc.want)
		}
	}
}
