package render

import (
	"sort"
	"strconv"
	"sync"

	svccatalog "github.com/stackha/stackha/catalog"
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
	// backend <name>-api (the how-to's haproxy.cfg naming).
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
	// service is the catalog's row.
	service *svccatalog.Service
}

// catalog returns what this package knows of every service the agents of
// agents/openstack manage, read from the one table (stackha/catalog) on
// first use (no init work).
func catalog() map[string]profile {
	catalogOnce.Do(func() { catalogMap = catalogTable() })
	return catalogMap
}

var (
	catalogOnce sync.Once
	catalogMap  map[string]profile
)

func catalogTable() map[string]profile {
	m := map[string]profile{}
	for _, c := range svccatalog.Services {
		port, err := strconv.Atoi(c.Port)
		if err != nil {
			panic("catalog: " + c.Name + ": port " + c.Port + " is not a number")
		}
		p := profile{
			name:        c.Name,
			main:        listener{name: c.Proxy, port: port, check: c.HealthPath},
			legacyAdmin: c.LegacyAdmin,
			why:         c.NoEntryWhy,
			monitorPath: c.VersionPath,
			bindHost:    c.WSGIScript,
			slowServer:  Duration(c.SlowServer),
			slowWhy:     c.SlowWhy,
			service:     c,
		}
		if l := c.Legacy; l != nil {
			p.legacy = &listener{name: l.Proxy, port: l.Port, check: l.HealthPath}
		}
		if e := c.Entry; e != nil {
			p.catalog = &endpoint{serviceType: e.Type, serviceName: e.Name, path: e.Path, description: e.Description}
		}
		m[c.Name] = p
	}
	return m
}

// alias maps an older name accepted in a topology file to the current one.
func alias(name string) string {
	if c := svccatalog.Lookup(name); c != nil {
		return c.Name
	}
	return name
}

// defaultServices, used when a topology names no services, is the how-to's
// set as Debian 12 ships it: its services but glance-registry (removed
// upstream in Ussuri) and without the legacy listeners (keystone's admin
// 35357, nova's EC2 8773) that nothing serves any more. The how-to's own nine
// frontends are crm/examples/seed.yaml's, which names them.
var defaultServices = []string{"keystone", "neutron-server", "glance-api", "nova-api", "nova-metadata", "cinder-api"}

func serviceNames() []string {
	var n []string
	for k := range catalog() {
		n = append(n, k)
	}
	sort.Strings(n)
	return n
}
