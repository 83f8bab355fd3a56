package harness

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/stackha/stackha/catalog"
	"github.com/stackha/stackha/internal/testutil/openstacktest/nodesvc"
	"github.com/stackha/stackha/test/sysnode"
)

// apiService is an API service besides keystone that systemd nodes can run
// from its Debian unit (Options.Services), behind haproxy on the VIP, with
// one database in BaseDir that every node shares (sqlite, as keystone's).
// The harness changes only what a node needs to run it: the files render
// writes (its /etc/default file for a uwsgi unit, or bind_host for an
// eventlet one), the shared database and the node's own paths (in a
// drop-in of the project's conf.d directory, which oslo.config reads after
// the packaged file, or, for nova and neutron, whose init scripts name
// their file with --config-file, in the packaged file itself), and uwsgi's
// processes (workersIni).
// Its monitor is render's default, depth 0 (an HTTP answer on the node's
// address, no token).
type apiService struct {
	user string // the unit's User=
	// dropIn is the conf.d file and its content (dir is the shared
	// directory in BaseDir); "" for none.
	dropIn     string
	dropInData func(dir, keystoneURL string) string
	// packaged are keys set in the packaged files themselves (node
	// addr), where a conf.d drop-in would not win: nova's and neutron's
	// init scripts name their files with --config-file, which oslo.config
	// reads after the directory.
	packaged    func(dir, addr string) []nodesvc.Setting
	bindHostIn  string // eventlet: the packaged config that gets bind_host
	nodeSetup   string // run as root in every node after its first boot
	schemaSetup string // run as root in the first node: the shared schema
	// stateful: the service runs only on the stateful tier, which sets
	// it up (stateful.go); the others only without it.
	stateful bool
}

// apiServices are the services Options.Services may name.
var apiServices = map[string]apiService{
	"placement-api": {
		user:   "placement",
		dropIn: "/etc/placement/placement.conf.d/shc.conf",
		// keystonemiddleware as the install guide sets it, through the
		// VIP (region RegionOne, as the harness bootstraps keystone: Debian
		// writes regionOne): the writes' client (SHC_WRITES) creates resource
		// providers with an admin token (placementUser makes the service user).
		dropInData: func(dir, keystoneURL string) string {
			return "[placement_database]\nconnection = sqlite:///" + dir + "/placement.db\n" +
				"[api]\nauth_strategy = keystone\n" +
				"[keystone_authtoken]\nwww_authenticate_uri = " + keystoneURL + "\nauth_url = " + keystoneURL + "\n" +
				"auth_type = password\nproject_domain_name = Default\nuser_domain_name = Default\n" +
				"project_name = service\nusername = placement\npassword = " + placementPassword + "\nregion_name = RegionOne\n"
		},
		// Then the app loaded once, as each worker does when it starts:
		// the first load writes the standard traits into the database
		// (placement's update_database). Left to the workers, the six
		// of three nodes did it at once on the one sqlite file, and one
		// that met "database is locked" answered 500 for good (uwsgi
		// keeps a worker whose app failed to load).
		schemaSetup: "runuser -u placement -- placement-manage db sync\n" +
			"runuser -u placement -- python3 -c 'from placement import wsgi; wsgi.init_application()'",
	},
	"cinder-api": {
		user:   "cinder",
		dropIn: "/etc/cinder/cinder.conf.d/shc.conf",
		dropInData: func(dir, _ string) string {
			return "[DEFAULT]\nstate_path = /var/lib/cinder\n[database]\nconnection = sqlite:///" + dir + "/cinder.db\n"
		},
		schemaSetup: "runuser -u cinder -- cinder-manage db sync",
	},
	"glance-api": {
		user:   "glance",
		dropIn: "/etc/glance/glance.conf.d/shc.conf",
		dropInData: func(dir, _ string) string {
			return "[DEFAULT]\nworkers = 1\n[database]\nconnection = sqlite:///" + dir + "/glance.db\n" +
				"[glance_store]\nstores = file\ndefault_store = file\nfilesystem_store_datadir = /var/lib/glance/images/\n" +
				"[os_glance_staging_store]\nfilesystem_store_datadir = /var/lib/glance/staging/\n" +
				"[os_glance_tasks_store]\nfilesystem_store_datadir = /var/lib/glance/tasks_work_dir/\n"
		},
		bindHostIn:  "/etc/glance/glance-api.conf",
		nodeSetup:   "install -d -o glance -g glance /var/lib/glance/images /var/lib/glance/staging /var/lib/glance/tasks_work_dir",
		schemaSetup: "runuser -u glance -- glance-manage db_sync",
	},
	// heat-api runs on the stateful tier only (Options.Stateful): its
	// database on Galera, its RPC to heat-engine through RabbitMQ
	// (stateful.go sets both up).
	"heat-api":      {user: "heat", stateful: true},
	"nova-api":      {user: "nova", packaged: novaSettings, schemaSetup: novaSchema},
	"nova-metadata": {user: "nova", packaged: novaSettings, schemaSetup: novaSchema},
	"neutron-server": {
		user: "neutron",
		packaged: func(dir, _ string) []nodesvc.Setting {
			const f = "/etc/neutron/neutron.conf"
			return []nodesvc.Setting{{File: f, Section: "DEFAULT", Key: "state_path", Value: "/var/lib/neutron"},
				{File: f, Section: "DEFAULT", Key: "notify_nova_on_port_status_changes", Value: "false"},
				{File: f, Section: "DEFAULT", Key: "notify_nova_on_port_data_changes", Value: "false"},
				{File: f, Section: "database", Key: "connection", Value: "sqlite:///" + dir + "/neutron.db"}}
		},
		// neutron's migrations refuse SQLite: the schema from its models,
		// stamped at the heads (as nodesvc does for one node).
		schemaSetup: "test -e " + BaseDir + "/neutron/neutron.db && exit 0\n" +
			"runuser -u neutron -- /usr/bin/python3 -c 'import sys, sqlalchemy\n" +
			"from neutron.db.migration.models import head\n" +
			"head.get_metadata().create_all(sqlalchemy.create_engine(sys.argv[1]))' sqlite:///" + BaseDir + "/neutron/neutron.db\n" +
			"runuser -u neutron -- neutron-db-manage --config-file /etc/neutron/neutron.conf stamp heads",
	},
}

// novaSettings are nova-api's and nova-metadata's keys in the packaged
// nova.conf: the shared API and main databases, the node's address.
func novaSettings(dir, addr string) []nodesvc.Setting {
	const f = "/etc/nova/nova.conf"
	return []nodesvc.Setting{{File: f, Section: "DEFAULT", Key: "my_ip", Value: addr},
		{File: f, Section: "api_database", Key: "connection", Value: "sqlite:///" + dir + "/nova_api.db"},
		{File: f, Section: "database", Key: "connection", Value: "sqlite:///" + dir + "/nova.db"}}
}

// novaSchema makes the API database, cell0 and the main database once for
// both nova services (each registers itself in the main one as it starts).
const novaSchema = "test -e " + BaseDir + "/nova/nova.db && exit 0\n" +
	"runuser -u nova -- nova-manage api_db sync\n" +
	"runuser -u nova -- nova-manage cell_v2 map_cell0 --database_connection sqlite:///" + BaseDir + "/nova/nova_cell0.db\n" +
	"runuser -u nova -- nova-manage db sync"

// DefaultServices are the services the systemd tier runs besides
// keystone when SHC_SERVICES does not name them: the lightest. make
// cluster-systemd (in make check) names cinder-api and glance-api too.
var DefaultServices = []string{"placement-api"}

// ServiceNames are the services Options.Services may name, sorted.
func ServiceNames() []string {
	var names []string
	for n := range apiServices {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// UnitOf is the Debian 12 unit of service name (nova-metadata's is
// nova-api-metadata.service, neutron-server's neutron-api.service).
func UnitOf(name string) string {
	if r := catalog.Lookup(name); r != nil && r.Unit != "" {
		return r.Unit
	}
	return name + ".service"
}

func lookupService(name string) (apiService, error) {
	s, ok := apiServices[name]
	if !ok {
		return apiService{}, fmt.Errorf("service %q: systemd nodes run %s besides keystone", name, strings.Join(ServiceNames(), ", "))
	}
	return s, nil
}

// serviceFiles are node n's own files for service name, listening on addr
// and reaching keystone at keystoneURL.
func serviceFiles(name string, addr, keystoneURL string) (map[string]sysnode.File, error) {
	s, err := lookupService(name)
	if err != nil {
		return nil, err
	}
	files := map[string]sysnode.File{}
	if s.dropIn != "" {
		files[s.dropIn] = sysnode.File{Mode: 0o640, Owner: "root:" + s.user, Data: []byte("# cluster harness: the shared database, this node's paths\n" +
			s.dropInData(filepath.Join(BaseDir, s.user), keystoneURL))}
	}
	if s.packaged != nil {
		byFile := map[string][]nodesvc.Setting{}
		for _, st := range s.packaged(filepath.Join(BaseDir, s.user), addr) {
			byFile[st.File] = append(byFile[st.File], st)
		}
		for name, sets := range byFile {
			f, err := nodesvc.PackagedWith(name, sets)
			if err != nil {
				return nil, err
			}
			files[name] = f
		}
	}
	if s.bindHostIn != "" {
		data, err := withBindHost(s.bindHostIn, addr)
		if err != nil {
			return nil, err
		}
		files[s.bindHostIn] = sysnode.File{Mode: 0o640, Owner: "root:" + s.user, Data: data}
	}
	return files, nil
}

// withBindHost is the packaged config file with bind_host = addr as the
// first line of its [DEFAULT] section, as render's README for the node
// says to write (the rest as shipped).
func withBindHost(path, addr string) ([]byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	head := []byte("[DEFAULT]\n")
	i := bytes.Index(data, head)
	if i < 0 || (i > 0 && data[i-1] != '\n') {
		return nil, fmt.Errorf("%s has no [DEFAULT] section", path)
	}
	at := i + len(head)
	var b []byte
	b = append(b, data[:at]...)
	b = append(b, "# Added by the cluster harness (render's README for this node): this node's address only.\nbind_host = "+addr+"\n"...)
	return append(b, data[at:]...), nil
}

// setupServices makes each service's shared directory in BaseDir (its
// user's), runs its per-node setup in every node and its schema setup in
// the first.
func (c *Cluster) setupServices(ctx context.Context) error {
	for _, name := range c.opts.Services {
		s, err := lookupService(name)
		if err != nil {
			return err
		}
		dir := filepath.Join(BaseDir, s.user)
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return err
		}
		if _, err := Run(ctx, "chown", s.user+":"+s.user, dir); err != nil {
			return err
		}
		for _, n := range c.Nodes {
			if s.nodeSetup == "" {
				break
			}
			if _, err := n.Script(ctx, s.nodeSetup); err != nil {
				return fmt.Errorf("%s on %s: %w", name, n.Name, err)
			}
		}
		if _, err := c.Nodes[0].Script(ctx, s.schemaSetup); err != nil {
			return fmt.Errorf("%s's database: %w", name, err)
		}
	}
	return nil
}
