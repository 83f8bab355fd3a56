package openstack

// Check is how depth 0 judges the answer at the service's url.
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

// Profile is what distinguishes one OpenStack API service from another; the
// engine does the rest.
type Profile struct {
	Name    string   // agent name
	Aliases []string // further agent names (quantum-server)
	Title   string   // what the service is, for the docs
	Port    string   // default API port, as declared
	Unit    string   // systemd unit
	Binary  string   // program started in process mode
	Config  string   // configuration file passed as --config-file
	User    string   // service user in process mode
	// VersionPath is the path of the version document on the service.
	VersionPath string
	Check       Check
	// AuthPath is the authenticated call of depth 20 ("{project_id}" is
	// replaced by the token's project); "" means depth 20 checks only that
	// keystone issues the token (the service itself takes no token).
	AuthPath string
	// WSGIScript marks a pbr-generated WSGI script (keystone-wsgi-public,
	// placement-api): it takes --host and --port, and the service's own
	// arguments after "--".
	WSGIScript bool
	// ConfigDirEnv names the environment variable through which the
	// program learns its configuration directory, for a program that
	// ignores --config-file (placement-api reads $OS_PLACEMENT_CONFIG_DIR/
	// placement.conf). The config file must then keep Config's base name.
	ConfigDirEnv string
}

// Profiles are the services stackha manages, one agent each.
var Profiles = []*Profile{
	{
		Name: "keystone", Title: "OpenStack Identity (keystone)", Port: "5000",
		Unit: "keystone.service", Binary: "/usr/bin/keystone-wsgi-public",
		Config: "/etc/keystone/keystone.conf", User: "keystone",
		VersionPath: "/", AuthPath: "/v3/auth/tokens", WSGIScript: true,
	},
	{
		Name: "glance-api", Title: "OpenStack Image API (glance-api)", Port: "9292",
		Unit: "glance-api.service", Binary: "/usr/bin/glance-api",
		Config: "/etc/glance/glance-api.conf", User: "glance",
		VersionPath: "/", AuthPath: "/v2/images?limit=1",
	},
	{
		Name: "glance-registry", Title: "OpenStack Image registry (glance-registry, legacy)", Port: "9191",
		Unit: "glance-registry.service", Binary: "/usr/bin/glance-registry",
		Config: "/etc/glance/glance-registry.conf", User: "glance",
		VersionPath: "/healthcheck", Check: Healthcheck, AuthPath: "/images",
	},
	{
		Name: "nova-api", Title: "OpenStack Compute API (nova-api)", Port: "8774",
		Unit: "nova-api.service", Binary: "/usr/bin/nova-api",
		Config: "/etc/nova/nova.conf", User: "nova",
		VersionPath: "/", AuthPath: "/v2.1/flavors?limit=1",
	},
	{
		Name: "nova-metadata", Title: "OpenStack Compute metadata service (nova-api-metadata)", Port: "8775",
		// Debian ships no nova-api-metadata program: its unit runs the WSGI
		// script under uwsgi, and the script reads nova.conf and
		// api-paste.ini from $OS_NOVA_CONFIG_DIR.
		Unit: "nova-api-metadata.service", Binary: "/usr/bin/nova-metadata-wsgi",
		Config: "/etc/nova/nova.conf", User: "nova",
		VersionPath: "/", Check: VersionList, WSGIScript: true, ConfigDirEnv: "OS_NOVA_CONFIG_DIR",
	},
	{
		Name: "cinder-api", Title: "OpenStack Block Storage API (cinder-api)", Port: "8776",
		Unit: "cinder-api.service", Binary: "/usr/bin/cinder-api",
		Config: "/etc/cinder/cinder.conf", User: "cinder",
		VersionPath: "/", AuthPath: "/v3/{project_id}/types",
	},
	{
		Name: "neutron-server", Aliases: []string{"quantum-server"},
		Title: "OpenStack Networking API (neutron-server, formerly quantum-server)", Port: "9696",
		Unit: "neutron-server.service", Binary: "/usr/bin/neutron-server",
		Config: "/etc/neutron/neutron.conf", User: "neutron",
		VersionPath: "/", AuthPath: "/v2.0/networks?limit=1",
	},
	{
		Name: "placement-api", Title: "OpenStack Placement API", Port: "8778",
		Unit: "placement-api.service", Binary: "/usr/bin/placement-api",
		Config: "/etc/placement/placement.conf", User: "placement",
		VersionPath: "/", AuthPath: "/resource_providers?name=stackha-monitor", WSGIScript: true,
		ConfigDirEnv: "OS_PLACEMENT_CONFIG_DIR",
	},
	{
		Name: "heat-api", Title: "OpenStack Orchestration API (heat-api)", Port: "8004",
		Unit: "heat-api.service", Binary: "/usr/bin/heat-api",
		Config: "/etc/heat/heat.conf", User: "heat",
		VersionPath: "/", AuthPath: "/v1/{project_id}/stacks?limit=1",
	},
}

// profile returns the profile of an agent name (or alias), or nil.
func profile(name string) *Profile {
	for _, p := range Profiles {
		if p.Name == name {
			return p
		}
		for _, a := range p.Aliases {
			if a == name {
				return p
			}
		}
	}
	return nil
}
