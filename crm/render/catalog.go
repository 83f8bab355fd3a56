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

// catalog holds every service the agents of agents/openstack manage. Ports
// and version paths are the upstream defaults. Note that the seed's
// haproxy.cfg swaps the glance names: glance-api is 9292, glance-registry 9191.
var (
	catalogOnce sync.Once
	catalogMap  map[string]profile
)

// catalog returns the table below, built on first use (no init work).
func catalog() map[string]profile {
	catalogOnce.Do(func() { catalogMap = catalogTable() })
	return catalogMap
}

func catalogTable() map[string]profile {
	return map[string]profile{
		"keystone": {
			name:        "keystone",
			main:        listener{name: "keystone", port: 5000, check: "/v3"},
			monitorPath: "/",
			bindHost:    true,
			legacy:      &listener{name: "keystone-admin", port: 35357, check: "/v3"},
			legacyAdmin: true,
			catalog:     &endpoint{serviceName: "keystone", serviceType: "identity", path: "/v3", description: "OpenStack Identity"},
		},
		"glance-api": {
			name:        "glance-api",
			main:        listener{name: "glance", port: 9292, check: "/versions"},
			monitorPath: "/",
			catalog:     &endpoint{serviceName: "glance", serviceType: "image", path: "", description: "OpenStack Image"},
			slowServer:  Duration(10 * time.Minute),
			slowWhy:     "Image data: after an upload's last byte glance may still be writing to its store before it answers.",
		},
		"glance-registry": {
			name: "glance-registry",
			// The registry answers no version document without a token; its
			// oslo healthcheck middleware answers /healthcheck.
			main:        listener{name: "glance-registry", port: 9191, check: "/healthcheck"},
			monitorPath: "/healthcheck",
			why:         "glance-registry is reached by glance-api through its own configuration (registry_host = the VIP), not through the catalog",
		},
		"nova-api": {
			name:        "nova-api",
			main:        listener{name: "nova", port: 8774, check: "/"},
			monitorPath: "/",
			// The EC2 API left nova in Mitaka; the seed still balances it.
			legacy:  &listener{name: "nova-ec2", port: 8773},
			catalog: &endpoint{serviceName: "nova", serviceType: "compute", path: "/v2.1", description: "OpenStack Compute"},
		},
		"nova-metadata": {
			name: "nova-metadata",
			// The metadata service lists its versions at / without naming an
			// instance.
			main:        listener{name: "nova-metadata", port: 8775, check: "/"},
			monitorPath: "/",
			why:         "nova-metadata is reached by the neutron metadata agent (nova_metadata_host = the VIP), not through the catalog",
		},
		"cinder-api": {
			name:        "cinder-api",
			main:        listener{name: "cinder", port: 8776, check: "/"},
			monitorPath: "/",
			catalog:     &endpoint{serviceName: "cinderv3", serviceType: "volumev3", path: "/v3/%(project_id)s", description: "OpenStack Block Storage"},
		},
		"neutron-server": {
			name:        "neutron-server",
			main:        listener{name: "neutron", port: 9696, check: "/"},
			monitorPath: "/",
			catalog:     &endpoint{serviceName: "neutron", serviceType: "network", path: "", description: "OpenStack Networking"},
			slowServer:  Duration(2 * time.Minute),
			slowWhy:     "Bulk port and security-group calls on a large cloud take more than a minute.",
		},
		"placement-api": {
			name:        "placement-api",
			main:        listener{name: "placement", port: 8778, check: "/"},
			monitorPath: "/",
			bindHost:    true,
			catalog:     &endpoint{serviceName: "placement", serviceType: "placement", path: "", description: "Placement API"},
		},
		"heat-api": {
			name:        "heat-api",
			main:        listener{name: "heat", port: 8004, check: "/"},
			monitorPath: "/",
			catalog:     &endpoint{serviceName: "heat", serviceType: "orchestration", path: "/v1/%(tenant_id)s", description: "Orchestration"},
			slowServer:  Duration(2 * time.Minute),
			slowWhy:     "Validating a large template calls the other APIs while the request waits.",
		},
	}
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
