// Package catalog is the one table of the OpenStack API services stackha
// manages: what the agents of agents/openstack need (defaults of their
// parameters, what their monitors ask) and what crm/render needs (haproxy
// proxies, keystone catalog entries, the per-node listening address), with
// what Debian 12 ships for each (unit, program, uwsgi ini, the file in
// /etc/default its init script reads).
//
// It is data only: it imports nothing of stackha and does no work at init
// (a package-level slice literal), so linking it costs an agent's start-up
// nothing. Debian12Test (catalog_debian_test.go) checks every row against
// the packages.
package catalog

import "time"

// Check is how an agent's depth-0 monitor judges the answer at
// VersionPath.
type Check int

const (
	// VersionDocument wants 200 or 300 and a JSON version-discovery
	// document naming at least one version (every API service but the two
	// below).
	VersionDocument Check = iota
	// VersionList wants 200 and a plain-text list of API versions, one a
	// line: what nova's metadata service answers at "/".
	VersionList
	// Healthcheck wants 200 from oslo.middleware's healthcheck: glance's
	// registry has no version document (its "/" is the image index, behind
	// keystone).
	Healthcheck
)

// Listener is one further port a service answers on (an older release's),
// balanced by its own haproxy frontend/backend pair.
type Listener struct {
	Proxy      string // frontend <Proxy>-vip, backend <Proxy>-api
	Port       int
	HealthPath string // haproxy's httpchk path; "": a TCP check
}

// Entry is a service's keystone catalog entry.
type Entry struct {
	Type        string // identity, image, compute, ...
	Name        string // keystone, glance, ...
	Path        string // appended to http://VIP:PORT (e.g. /v3)
	Description string
}

// Service is one OpenStack API service: one agent, one clone, one haproxy
// proxy (or two, with Legacy).
type Service struct {
	// The agent.

	Name    string   // agent name, the topology's name, the resource id
	Aliases []string // further agent names (quantum-server)
	Title   string   // what the service is (the agent's short description)
	Port    string   // default API port, decimal, as the agent declares it
	Unit    string   // systemd unit (Debian 12's)
	// Binary is the service's own program: what run_mode=process starts
	// for a service without a uwsgi ini (UWSGIIni ""), or when the
	// operator empties the agent's uwsgi_ini. Under uwsgi the ini's
	// wsgi-file (UnitProgram) runs instead.
	Binary string
	Config string // configuration file (--config-file in run_mode=process)
	User   string // service user (the unit's User=)
	// VersionPath is the path of the version document the depth-0 monitor
	// GETs (also render's per-node url).
	VersionPath string
	Check       Check
	// AuthPath is the authenticated call of depth 20 ("{project_id}" is
	// replaced by the token's project); "" means depth 20 checks only that
	// keystone issues the token (the service itself takes no token).
	AuthPath string
	// WSGIScript marks a service whose Binary is a pbr-generated WSGI
	// script (keystone-wsgi-public, placement-api, nova-metadata-wsgi):
	// run directly it is pbr's single-threaded wsgiref test server ("For
	// testing only"), so the agent runs it only under uwsgi. render passes
	// each node's address in bind_host in run_mode=process.
	WSGIScript bool
	// ConfigDirEnv names the environment variable through which the WSGI
	// application under uwsgi learns its configuration directory
	// (keystone reads $OS_KEYSTONE_CONFIG_DIR/keystone.conf): the config
	// file must then keep Config's base name. "": the application parses
	// --config-file from its arguments (uwsgi's --pyargv).
	ConfigDirEnv string
	// Deprecated, when not empty, says why the service is only rendered on
	// request (and its agent's description says so).
	Deprecated string

	// What Debian 12 ships.

	Package string // the package whose unit is Unit
	// InitName is the init script's NAME: its /etc/default/<InitName> is
	// sourced after DAEMON_ARGS is built (neutron-api's is neutron-server).
	InitName string
	// UWSGIIni is the uwsgi ini the unit runs; "": not a uwsgi service
	// (eventlet: it honours BindOption in Config).
	UWSGIIni string
	// UnitProgram is what the unit runs: the ini's wsgi-file, or the init
	// script's DAEMON.
	UnitProgram string
	// BindOption is the option of Config that sets the listening address
	// of Binary (run_mode=process, unless WSGIScript: the agent passes
	// --host) and of a unit that is not run by uwsgi (glance-api).
	BindOption string

	// Drain before stop (oslo.middleware's healthcheck at /healthcheck).

	// DrainFile is the file whose presence makes the service's
	// /healthcheck answer 503 (disable_by_file_path): what Debian 12's
	// paste configuration names, or, with DrainConfDir, what render
	// configures. "": the service has no such middleware (placement), and
	// haproxy cannot be told to stop sending it requests.
	DrainFile string
	// DrainConfDir is the oslo.config directory (read after Config) where
	// render's drop-in sets DrainSettings in [healthcheck], for a service
	// whose healthcheck reads them from its configuration: keystone's flask
	// application and heat's paste filter (no options of their own) need
	// backends and disable_by_file_path; nova's healthcheck, whose paste
	// filter sets those, needs its path.
	DrainConfDir  string
	DrainSettings []string
	// HealthcheckPath is where the healthcheck answers (haproxy's check of
	// a drained service): /healthcheck, or under the API's version where
	// the paste configuration puts the healthcheck only in the versioned
	// pipelines (nova-api: /v2.1/healthcheck).
	HealthcheckPath string
	// DrainAgentPort is, for a service without DrainFile, the default port
	// of its agent's drain agent (haproxy's agent-check: agentcheck.go in
	// agents/openstack); 0: the service cannot be drained.
	DrainAgentPort int

	// haproxy and the keystone catalog (render).

	Proxy      string // frontend <Proxy>-vip, backend <Proxy>-api
	HealthPath string // haproxy's httpchk path; "": a TCP check
	// Legacy is a listener of an older release (keystone admin 35357, nova
	// EC2 8773), balanced only when the topology asks.
	Legacy *Listener
	// LegacyAdmin: with the legacy listener on, the catalog's admin
	// interface points at it (keystone's 35357).
	LegacyAdmin bool
	Entry       *Entry // nil: no catalog entry
	NoEntryWhy  string // why there is none (written into endpoints.sh)
	// SlowServer is haproxy's timeout server for a service whose slowest
	// legitimate call needs more than the default 60s; SlowWhy says why.
	SlowServer time.Duration
	SlowWhy    string
}

// Services are the services stackha manages, one agent each. Ports and
// version paths are the upstream defaults (note that the how-to's haproxy.cfg
// haproxy.cfg swaps the glance names: glance-api is 9292, glance-registry
// 9191).
var Services = []*Service{
	{
		Name: "keystone", Title: "OpenStack Identity (keystone)", Port: "5000",
		Unit: "keystone.service", Binary: "/usr/bin/keystone-wsgi-public",
		Config: "/etc/keystone/keystone.conf", User: "keystone",
		VersionPath: "/", AuthPath: "/v3/auth/tokens", WSGIScript: true, ConfigDirEnv: "OS_KEYSTONE_CONFIG_DIR",
		Package: "keystone", InitName: "keystone", UWSGIIni: "/etc/keystone/keystone-uwsgi.ini",
		DrainFile: "/etc/keystone/healthcheck_disable", DrainConfDir: "/etc/keystone/keystone.conf.d", HealthcheckPath: "/healthcheck",
		DrainSettings: []string{"backends = disable_by_file", "disable_by_file_path = /etc/keystone/healthcheck_disable"},
		UnitProgram:   "/usr/bin/keystone-wsgi-public",
		Proxy:         "keystone", HealthPath: "/v3",
		Legacy: &Listener{Proxy: "keystone-admin", Port: 35357, HealthPath: "/v3"}, LegacyAdmin: true,
		Entry: &Entry{Type: "identity", Name: "keystone", Path: "/v3", Description: "OpenStack Identity"},
	},
	{
		Name: "glance-api", Title: "OpenStack Image API (glance-api)", Port: "9292",
		Unit: "glance-api.service", Binary: "/usr/bin/glance-api",
		Config: "/etc/glance/glance-api.conf", User: "glance",
		VersionPath: "/", AuthPath: "/v2/images?limit=1",
		Package: "glance-api", InitName: "glance-api", UnitProgram: "/usr/bin/glance-api",
		DrainFile: "/etc/glance/healthcheck_disable", HealthcheckPath: "/healthcheck",
		BindOption: "[DEFAULT] bind_host",
		Proxy:      "glance", HealthPath: "/versions",
		Entry:      &Entry{Type: "image", Name: "glance", Description: "OpenStack Image"},
		SlowServer: 10 * time.Minute,
		SlowWhy:    "Image data: after an upload's last byte glance may still be writing to its store before it answers.",
	},
	{
		Name: "glance-registry", Title: "OpenStack Image registry (glance-registry, deprecated: removed in Ussuri, not in Debian 12)", Port: "9191",
		Unit: "glance-registry.service", Binary: "/usr/bin/glance-registry",
		Config: "/etc/glance/glance-registry.conf", User: "glance",
		// The registry answers no version document without a token; its
		// oslo healthcheck middleware answers /healthcheck.
		VersionPath: "/healthcheck", Check: Healthcheck, AuthPath: "/images",
		Deprecated: "glance-registry was deprecated in Queens and removed in Ussuri; Debian 12 (Zed) has no package",
		BindOption: "[DEFAULT] bind_host",
		Proxy:      "glance-registry", HealthPath: "/healthcheck",
		NoEntryWhy: "glance-registry is reached by glance-api through its own configuration (registry_host = the VIP), not through the catalog",
	},
	{
		Name: "nova-api", Title: "OpenStack Compute API (nova-api)", Port: "8774",
		Unit: "nova-api.service", Binary: "/usr/bin/nova-api",
		Config: "/etc/nova/nova.conf", User: "nova",
		VersionPath: "/", AuthPath: "/v2.1/flavors?limit=1", ConfigDirEnv: "OS_NOVA_CONFIG_DIR",
		Package: "nova-api", InitName: "nova-api", UWSGIIni: "/etc/nova/nova-api-uwsgi.ini",
		// One file for nova-api and nova-api-metadata: Debian's api-paste.ini
		// names it in the filter both pipelines share. nova-api has the
		// filter only in its versioned pipelines, which see the whole path:
		// the healthcheck answers there once its path says so (nova-metadata
		// reads the same nova.conf.d, and its pipeline takes every path).
		DrainFile: "/etc/nova/healthcheck_disable", HealthcheckPath: "/v2.1/healthcheck",
		DrainConfDir: "/etc/nova/nova.conf.d", DrainSettings: []string{"path = /v2.1/healthcheck"},
		UnitProgram: "/usr/bin/nova-api-wsgi",
		BindOption:  "[DEFAULT] osapi_compute_listen",
		Proxy:       "nova", HealthPath: "/",
		// The EC2 API left nova in Mitaka; the how-to's haproxy.cfg still balances it.
		Legacy: &Listener{Proxy: "nova-ec2", Port: 8773},
		Entry:  &Entry{Type: "compute", Name: "nova", Path: "/v2.1", Description: "OpenStack Compute"},
	},
	{
		Name: "nova-metadata", Title: "OpenStack Compute metadata service (nova-api-metadata)", Port: "8775",
		// Debian ships no nova-api-metadata program: its unit runs the WSGI
		// script under uwsgi, and the script reads nova.conf and
		// api-paste.ini from $OS_NOVA_CONFIG_DIR (so does nova-api-wsgi).
		Unit: "nova-api-metadata.service", Binary: "/usr/bin/nova-metadata-wsgi",
		Config: "/etc/nova/nova.conf", User: "nova",
		VersionPath: "/", Check: VersionList, WSGIScript: true, ConfigDirEnv: "OS_NOVA_CONFIG_DIR",
		Package: "nova-api", InitName: "nova-api-metadata", UWSGIIni: "/etc/nova/nova-api-metadata-uwsgi.ini",
		DrainFile: "/etc/nova/healthcheck_disable", HealthcheckPath: "/v2.1/healthcheck",
		DrainConfDir: "/etc/nova/nova.conf.d", DrainSettings: []string{"path = /v2.1/healthcheck"},
		UnitProgram: "/usr/bin/nova-metadata-wsgi",
		// The metadata service lists its versions at / without naming an
		// instance.
		Proxy: "nova-metadata", HealthPath: "/",
		NoEntryWhy: "nova-metadata is reached by the neutron metadata agent (nova_metadata_host = the VIP), not through the catalog",
	},
	{
		Name: "cinder-api", Title: "OpenStack Block Storage API (cinder-api)", Port: "8776",
		Unit: "cinder-api.service", Binary: "/usr/bin/cinder-api",
		Config: "/etc/cinder/cinder.conf", User: "cinder",
		VersionPath: "/", AuthPath: "/v3/{project_id}/types",
		Package: "cinder-api", InitName: "cinder-api", UWSGIIni: "/etc/cinder/cinder-api-uwsgi.ini",
		DrainFile: "/etc/cinder/healthcheck_disable", HealthcheckPath: "/healthcheck",
		UnitProgram: "/usr/bin/cinder-wsgi",
		BindOption:  "[DEFAULT] osapi_volume_listen",
		Proxy:       "cinder", HealthPath: "/",
		Entry: &Entry{Type: "volumev3", Name: "cinderv3", Path: "/v3/%(project_id)s", Description: "OpenStack Block Storage"},
	},
	{
		// Debian 12 splits neutron-server into neutron-api (the API, under
		// uwsgi) and neutron-rpc-server (the agents' RPC, no HTTP port):
		// this agent runs the API; neutron-rpc-server is not managed here
		// (docs/openstack.md).
		Name: "neutron-server", Aliases: []string{"quantum-server"},
		Title: "OpenStack Networking API (neutron-server, formerly quantum-server)", Port: "9696",
		Unit: "neutron-api.service", Binary: "/usr/bin/neutron-server",
		Config: "/etc/neutron/neutron.conf", User: "neutron",
		VersionPath: "/", AuthPath: "/v2.0/networks?limit=1",
		Package: "neutron-api", InitName: "neutron-server", UWSGIIni: "/etc/neutron/neutron-api-uwsgi.ini",
		DrainFile: "/etc/neutron/healthcheck_disable", HealthcheckPath: "/healthcheck",
		UnitProgram: "/usr/bin/neutron-api",
		BindOption:  "[DEFAULT] bind_host",
		Proxy:       "neutron", HealthPath: "/",
		Entry:      &Entry{Type: "network", Name: "neutron", Description: "OpenStack Networking"},
		SlowServer: 2 * time.Minute,
		SlowWhy:    "Bulk port and security-group calls on a large cloud take more than a minute.",
	},
	{
		Name: "placement-api", Title: "OpenStack Placement API", Port: "8778",
		Unit: "placement-api.service", Binary: "/usr/bin/placement-api",
		Config: "/etc/placement/placement.conf", User: "placement",
		VersionPath: "/", AuthPath: "/resource_providers?name=stackha-monitor", WSGIScript: true,
		ConfigDirEnv: "OS_PLACEMENT_CONFIG_DIR",
		Package:      "placement-api", InitName: "placement-api", UWSGIIni: "/etc/placement/placement-api-uwsgi.ini",
		UnitProgram: "/usr/bin/placement-api",
		// Zed's placement has no oslo.middleware healthcheck.
		DrainAgentPort: 18778,
		Proxy:          "placement", HealthPath: "/",
		Entry: &Entry{Type: "placement", Name: "placement", Description: "Placement API"},
	},
	{
		Name: "heat-api", Title: "OpenStack Orchestration API (heat-api)", Port: "8004",
		Unit: "heat-api.service", Binary: "/usr/bin/heat-api",
		Config: "/etc/heat/heat.conf", User: "heat",
		VersionPath: "/", AuthPath: "/v1/{project_id}/stacks?limit=1",
		Package: "heat-api", InitName: "heat-api", UWSGIIni: "/etc/heat/heat-api-uwsgi.ini",
		DrainFile: "/etc/heat/healthcheck_disable", DrainConfDir: "/etc/heat/heat.conf.d", HealthcheckPath: "/healthcheck",
		DrainSettings: []string{"backends = disable_by_file", "disable_by_file_path = /etc/heat/healthcheck_disable"},
		UnitProgram:   "/usr/bin/heat-wsgi-api",
		BindOption:    "[heat_api] bind_host",
		Proxy:         "heat", HealthPath: "/",
		Entry:      &Entry{Type: "orchestration", Name: "heat", Path: "/v1/%(tenant_id)s", Description: "Orchestration"},
		SlowServer: 2 * time.Minute,
		SlowWhy:    "Validating a large template calls the other APIs while the request waits.",
	},
}

// Lookup returns the service of an agent name or alias, or nil.
func Lookup(name string) *Service {
	for _, s := range Services {
		if s.Name == name {
			return s
		}
		for _, a := range s.Aliases {
			if a == name {
				return s
			}
		}
	}
	return nil
}

// DefaultsFile is the file in /etc/default the service's init script
// sources after it has built DAEMON_ARGS, or "" for a service Debian 12
// does not ship.
func (s *Service) DefaultsFile() string {
	if s.InitName == "" {
		return ""
	}
	return "/etc/default/" + s.InitName
}
