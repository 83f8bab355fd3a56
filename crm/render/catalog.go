package render

import (
	"sort"
	"sync"
	"time"
)

// The names of the stackha agents and of the parameters this package writes
// into the cluster configuration. They are kept here, in one place, so that
// aligning with the agents' declarations (agents/vip, agents/haproxy,
// agents/openstack) is one edit; TestParamsMatchAgents checks every name
// against the meta-data of the agents linked into the binary.
const (
	provider = "stackha"

	agentVIP     = "vip"
	agentHAProxy = "haproxy"

	// vip: IPaddr2's parameter names.
	paramVIPAddress = "ip"
	paramVIPPrefix  = "cidr_netmask"
	paramVIPNIC     = "nic"

	// haproxy.
	paramHAProxyConfig   = "config"
	paramHAProxyBackends = "check_level_10_backends" // which backends depth 10 requires a server up in

	// openstack API agents.
	paramMode        = "run_mode"    // systemd | process
	paramBindHost    = "bind_host"   // the address a WSGI script listens on (run_mode=process)
	paramPort        = "port"        // the port the service listens on
	paramURL         = "url"         // the version document the monitor GETs
	paramCredentials = "credentials" // file read by a depth-20 monitor
	// How long the monitor's version request may take (the agents' Time
	// parameter): a hung service fails its monitor in about that time.
	paramProbeTimeout = "probe_timeout"

	// The op attribute that sets a monitor's depth.
	opCheckLevel = "OCF_CHECK_LEVEL"
)

// listener is one port a service answers on, balanced by one haproxy
// frontend/backend pair.
type listener struct {
	// name is the base of the haproxy proxy names: frontend <name>-vip,
	// backend <name>-api (the seed's naming).
	name string
	port int
	// check is the path of a version document answered without a token,
	// used by haproxy's `option httpchk`; "" means a plain TCP check.
	check string
}

// endpoint is one catalog entry: `openstack endpoint create` for every
// interface, at the VIP.
type endpoint struct {
	serviceName string // the catalog's service name: keystone, glance, ...
	serviceType string // identity, image, compute, ...
	path        string // appended to http://VIP:PORT (e.g. /v3)
	description string
}

// profile is what this package knows about one OpenStack API service.
type profile struct {
	name    string // the topology's name, the agent's name, the resource id
	main    listener
	legacy  *listener // a listener of an older release (keystone admin, nova ec2)
	catalog *endpoint // nil: the service has no catalog entry
	// legacyAdmin: when the legacy listener is enabled, the catalog's admin
	// interface points at it (keystone's 35357).
	legacyAdmin bool
	// why explains, in the generated endpoints.sh, a missing catalog entry.
	why string
	// monitorPath is what the agent's depth-0 monitor GETs (its url's path).
	monitorPath string
	// bindHost: run as a process, the agent passes the listening address
	// (bind_host) to the program; other services read it from their own
	// configuration file.
	bindHost bool
	// slowServer is haproxy's timeout server for a service whose slowest
	// legitimate call needs more than the default 60s, and slowWhy says
	// why (written into haproxy.cfg).
	slowServer Duration
	slowWhy    string
}

// catalog returns what this package knows of every service the agents of
// agents/openstack manage, built on first use (no init work). Ports and
// version paths are the upstream defaults. Note that the seed's
// haproxy.cfg swaps the glance names: glance-api is 9292, glance-registry
// 9191.
func catalog() map[string]profile {
	catalogOnce.Do(func() { catalogMap = catalogTable() })
	return catalogMap
}

var (
	catalogOnce sync.Once
	catalogMap  map[string]profile
)

func catalogTable() map[string]profile {
	// One row per service: its name, its listener (haproxy name, port,
	// health-check path), the path its agent's monitor GETs, and its
	// catalog entry (type, name, URL path, description; none: no entry).
	rows := []struct {
		name, proxy string
		port        int
		check, mon  string
		entry       [4]string
	}{
		{"keystone", "keystone", 5000, "/v3", "/", [4]string{"identity", "keystone", "/v3", "OpenStack Identity"}},
		{"glance-api", "glance", 9292, "/versions", "/", [4]string{"image", "glance", "", "OpenStack Image"}},
		// The registry answers no version document without a token; its
		// oslo healthcheck middleware answers /healthcheck.
		{"glance-registry", "glance-registry", 9191, "/healthcheck", "/healthcheck", [4]string{}},
		{"nova-api", "nova", 8774, "/", "/", [4]string{"compute", "nova", "/v2.1", "OpenStack Compute"}},
		// The metadata service lists its versions at / without naming an
		// instance.
		{"nova-metadata", "nova-metadata", 8775, "/", "/", [4]string{}},
		{"cinder-api", "cinder", 8776, "/", "/", [4]string{"volumev3", "cinderv3", "/v3/%(project_id)s", "OpenStack Block Storage"}},
		{"neutron-server", "neutron", 9696, "/", "/", [4]string{"network", "neutron", "", "OpenStack Networking"}},
		{"placement-api", "placement", 8778, "/", "/", [4]string{"placement", "placement", "", "Placement API"}},
		{"heat-api", "heat", 8004, "/", "/", [4]string{"orchestration", "heat", "/v1/%(tenant_id)s", "Orchestration"}},
	}
	m := map[string]profile{}
	for _, r := range rows {
		p := profile{name: r.name, main: listener{name: r.proxy, port: r.port, check: r.check}, monitorPath: r.mon}
		if r.entry[0] != "" {
			p.catalog = &endpoint{serviceType: r.entry[0], serviceName: r.entry[1], path: r.entry[2], description: r.entry[3]}
		}
		m[r.name] = p
	}
	set := func(name string, f func(p *profile)) {
		p := m[name]
		f(&p)
		m[name] = p
	}
	set("keystone", func(p *profile) {
		p.bindHost = true
		p.legacy = &listener{name: "keystone-admin", port: 35357, check: "/v3"}
		p.legacyAdmin = true
	})
	set("placement-api", func(p *profile) { p.bindHost = true })
	// The EC2 API left nova in Mitaka; the seed still balances it.
	set("nova-api", func(p *profile) { p.legacy = &listener{name: "nova-ec2", port: 8773} })
	set("glance-registry", func(p *profile) {
		p.why = "glance-registry is reached by glance-api through its own configuration (registry_host = the VIP), not through the catalog"
	})
	set("nova-metadata", func(p *profile) {
		p.why = "nova-metadata is reached by the neutron metadata agent (nova_metadata_host = the VIP), not through the catalog"
	})
	set("glance-api", func(p *profile) {
		p.slowServer = Duration(10 * time.Minute)
		p.slowWhy = "Image data: after an upload's last byte glance may still be writing to its store before it answers."
	})
	set("neutron-server", func(p *profile) {
		p.slowServer = Duration(2 * time.Minute)
		p.slowWhy = "Bulk port and security-group calls on a large cloud take more than a minute."
	})
	set("heat-api", func(p *profile) {
		p.slowServer = Duration(2 * time.Minute)
		p.slowWhy = "Validating a large template calls the other APIs while the request waits."
	})
	return m
}

// alias maps an older name accepted in a topology file to the current one.
func alias(name string) string {
	if name == "quantum-server" {
		return "neutron-server"
	}
	return name
}

// seedServices is the seed's set, in the seed's order, used when a topology
// names no services: its nine frontends, legacy ports included.
var seedServices = []string{"keystone", "neutron-server", "glance-api", "glance-registry", "nova-api", "nova-metadata", "cinder-api"}

func serviceNames() []string {
	var n []string
	for k := range catalog() {
		n = append(n, k)
	}
	sort.Strings(n)
	return n
}
