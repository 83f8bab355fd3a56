// Package nodesvc sets up Debian 12's OpenStack API services in a node
// that boots systemd (test/sysnode), each to be run by its own packaged
// unit as on a controller: a per-node sqlite database under the service's
// /var/lib (the node's overlay: never shared between nodes), the package's
// own schema tool, keystonemiddleware's auth_token against a keystone in
// the same node, and the service bound to the node's address only through
// the /etc/default/<name> file that `stackha render` writes (bind_host of
// the config file for glance-api, which is not run by uwsgi).
//
// The node's configuration file is the package's own with a few keys set
// (as an operator, or openstack-pkg-tools' pkgos_inifile, sets them), not a
// file of oslo.config's <project>.conf.d: oslo parses that directory
// before a --config-file given on the command line, so what glance-api's,
// heat-engine's and neutron-api's init scripts pass would win over it.
//
// One spec per catalog row (catalog.Services): adding a service to the
// real-services tier is adding its row here. What the harness changes in
// the packaged configuration is said in one place, Changes, which the
// tests print.
//
// This is test support: no binary of stackha imports it.
package nodesvc

import (
	"fmt"
	"net/netip"
	"os"
	"os/user"
	"sort"
	"strconv"
	"strings"
	"syscall"

	"github.com/stackha/stackha/catalog"
	"github.com/stackha/stackha/test/sysnode"
)

// ServicePassword is every service user's keystone password.
const ServicePassword = "sysnode-service"

// Processes is uwsgi's processes for every uwsgi service (Debian's inis say
// 8, nova-api's 16, each worker loading the whole application with
// lazy-apps: on 2 cores a start would cost minutes of CPU).
const Processes = 2

// ownIni is the harness's own uwsgi ini, read after Debian's.
const ownIni = "stackha-test-uwsgi.ini"

// Env is what a service's configuration depends on.
type Env struct {
	Addr     netip.Addr // the node's address, the only one the service listens on
	Keystone string     // keystone's base URL in the node, http://ADDR:5000
}

// Setting is one key set in a packaged configuration file.
type Setting struct{ File, Section, Key, Value string }

// Service is one catalog row made ready to run in a node.
type Service struct {
	Row *catalog.Service
	// Project is the directory name under /etc, /var/lib, /var/log.
	Project string
	// User is the unit's User= (the row's User).
	User string
	// Needs are the units the harness starts, in this order, before the
	// service and stops after it: what its authenticated call needs
	// beyond keystone (heat-api asks heat-engine over RabbitMQ).
	Needs []string
	// Ready, when set, is a shell check run in the node until it exits
	// 0 once Needs are started (heat-engine consuming its RPC queue).
	Ready string
	// settings are the keys set in the packaged files.
	settings func(Env) []Setting
	// setup is run in the node as root once the files are there: the
	// schema, as the service user.
	setup string
	// changes says what else differs from the package as shipped.
	changes []string
	// broken: a file that makes the unit fail to start, and what its
	// journal then says; "" file: the uwsgi case (DAEMON_ARGS naming an ini
	// that does not exist).
	brokenFile, brokenData, brokenSays string
}

// authtoken is keystonemiddleware's section of file: the service's own
// user in project service, against keystone in the node.
func authtoken(file string, e Env, user string) []Setting {
	var s []Setting
	for _, kv := range [][2]string{{"www_authenticate_uri", e.Keystone}, {"auth_url", e.Keystone}, {"auth_type", "password"},
		{"project_domain_name", "Default"}, {"user_domain_name", "Default"}, {"project_name", "service"},
		{"username", user}, {"password", ServicePassword}, {"region_name", "RegionOne"}} {
		s = append(s, Setting{file, "keystone_authtoken", kv[0], kv[1]})
	}
	return s
}

func sqlite(project, name string) string { return "sqlite:////var/lib/" + project + "/" + name }

var specs = map[string]*Service{
	"glance-api": {
		Project: "glance",
		settings: func(e Env) []Setting {
			const f = "/etc/glance/glance-api.conf"
			return append([]Setting{
				// the agent reads bind_host here (render's README says so)
				{f, "DEFAULT", "bind_host", e.Addr.String()},
				{f, "DEFAULT", "enabled_backends", "fs:file"},
				{f, "database", "connection", sqlite("glance", "glance.db")},
				{f, "glance_store", "default_backend", "fs"},
				{f, "fs", "filesystem_store_datadir", "/var/lib/glance/images/"},
				{f, "os_glance_staging_store", "filesystem_store_datadir", "/var/lib/glance/staging/"},
				{f, "os_glance_tasks_store", "filesystem_store_datadir", "/var/lib/glance/tasks_work_dir/"},
				{f, "paste_deploy", "flavor", "keystone"},
			}, authtoken(f, e, "glance")...)
		},
		setup: "install -d -o glance -g glance /var/lib/glance/images /var/lib/glance/staging /var/lib/glance/tasks_work_dir\n" +
			"runuser -u glance -- glance-manage --config-file /etc/glance/glance-api.conf db_sync",
		brokenFile: "/etc/glance/glance.conf.d/zz-broken.conf", brokenData: "this line is not ini\n",
		brokenSays: "zz-broken.conf",
	},
	"placement-api": {
		Project: "placement",
		settings: func(e Env) []Setting {
			const f = "/etc/placement/placement.conf"
			return append([]Setting{{f, "api", "auth_strategy", "keystone"},
				{f, "placement_database", "connection", sqlite("placement", "placement.db")}}, authtoken(f, e, "placement")...)
		},
		// Then the traits sync each lazy-apps worker runs as it loads, once:
		// two workers doing it at once on SQLite most likely left one
		// unloaded, answering 500 (one run in four; a server database
		// takes concurrent syncs).
		setup: "runuser -u placement -- placement-manage db sync\n" +
			"runuser -u placement -- /usr/bin/python3 -c 'from oslo_config import cfg; from placement import conf, db_api, deploy\n" +
			"c = cfg.ConfigOpts(); conf.register_opts(c); c([], project=\"placement\", default_config_files=[\"/etc/placement/placement.conf\"])\n" +
			"db_api.configure(c); deploy.update_database(c)'",
	},
	"cinder-api": {
		Project: "cinder",
		settings: func(e Env) []Setting {
			const f = "/etc/cinder/cinder.conf"
			return append([]Setting{{f, "DEFAULT", "my_ip", e.Addr.String()}, {f, "DEFAULT", "state_path", "/var/lib/cinder"},
				{f, "database", "connection", sqlite("cinder", "cinder.db")}}, authtoken(f, e, "cinder")...)
		},
		setup: "runuser -u cinder -- cinder-manage db sync",
	},
	"heat-api": {
		Project: "heat",
		Needs:   []string{"rabbitmq-server.service", "heat-engine.service"},
		Ready:   `runuser -u rabbitmq -- rabbitmqctl -q list_queues name consumers | grep -Eq '^engine[[:space:]]+[1-9]'`,
		settings: func(e Env) []Setting {
			const f = "/etc/heat/heat.conf"
			return append([]Setting{{f, "DEFAULT", "transport_url", "rabbit://guest:guest@127.0.0.1:5672/"},
				{f, "DEFAULT", "num_engine_workers", "1"},
				{f, "database", "connection", sqlite("heat", "heat.db")},
				{f, "clients_keystone", "auth_uri", e.Keystone}}, authtoken(f, e, "heat")...)
		},
		setup: "runuser -u heat -- heat-manage db_sync",
		changes: []string{"RabbitMQ (Debian's rabbitmq-server unit, its guest user on 127.0.0.1) and heat-engine (its unit) " +
			"run beside heat-api: its authenticated call lists stacks through the engine"},
	},
	"nova-api":      {Project: "nova", settings: novaSettings, setup: novaSetup},
	"nova-metadata": {Project: "nova", settings: novaSettings, setup: novaSetup},
	"neutron-server": {
		Project: "neutron",
		settings: func(e Env) []Setting {
			const f = "/etc/neutron/neutron.conf"
			return append([]Setting{{f, "DEFAULT", "state_path", "/var/lib/neutron"},
				{f, "DEFAULT", "notify_nova_on_port_status_changes", "false"},
				{f, "DEFAULT", "notify_nova_on_port_data_changes", "false"},
				{f, "database", "connection", sqlite("neutron", "neutron.db")}}, authtoken(f, e, "neutron")...)
		},
		// neutron's migrations do not run on SQLite ("No support for ALTER
		// of constraints in SQLite dialect"): the schema is made from its
		// models (neutron.db.migration.models.head, as neutron's own
		// functional tests do) and stamped at the heads.
		setup: "runuser -u neutron -- /usr/bin/python3 -c 'import sys, sqlalchemy\n" +
			"from neutron.db.migration.models import head\n" +
			"head.get_metadata().create_all(sqlalchemy.create_engine(sys.argv[1]))' " + sqlite("neutron", "neutron.db") + "\n" +
			"runuser -u neutron -- neutron-db-manage --config-file /etc/neutron/neutron.conf stamp heads",
		changes: []string{"schema from neutron's models + `neutron-db-manage stamp heads` (its migrations refuse SQLite)"},
	},
}

func novaSettings(e Env) []Setting {
	const f = "/etc/nova/nova.conf"
	return append([]Setting{{f, "DEFAULT", "my_ip", e.Addr.String()}, {f, "api", "auth_strategy", "keystone"},
		{f, "api_database", "connection", sqlite("nova", "nova_api.db")},
		{f, "database", "connection", sqlite("nova", "nova.db")}}, authtoken(f, e, "nova")...)
}

// novaSetup: the API database, cell0 and the main database (both APIs
// register themselves in the main one at start). Run once for both.
const novaSetup = "test -e /var/lib/nova/nova.db && exit 0\n" +
	"runuser -u nova -- nova-manage api_db sync\n" +
	"runuser -u nova -- nova-manage cell_v2 map_cell0 --database_connection " + "sqlite:////var/lib/nova/nova_cell0.db\n" +
	"runuser -u nova -- nova-manage db sync"

// For returns the spec of a catalog row, or an error naming what to add.
func For(row *catalog.Service) (*Service, error) {
	sp, ok := specs[row.Name]
	if !ok {
		return nil, fmt.Errorf("catalog row %s (package %s) has no spec in internal/testutil/openstacktest/nodesvc: add one", row.Name, row.Package)
	}
	s := *sp
	s.Row, s.User = row, row.User
	return &s, nil
}

// Rows are the catalog's services that Debian 12 packages, keystone
// first.
func Rows() []*catalog.Service {
	var rows []*catalog.Service
	for _, s := range catalog.Services {
		if s.Package != "" {
			rows = append(rows, s)
		}
	}
	sort.SliceStable(rows, func(i, j int) bool { return rows[i].Name == "keystone" && rows[j].Name != "keystone" })
	return rows
}

// Defaults renders the /etc/default/<name> files of the uwsgi rows for a
// node at addr, with `stackha render` (crm/render), one node of a
// two-node topology. The file is render's, with the harness's own ini
// (Processes) added after Debian's in DAEMON_ARGS.
func Defaults(addr netip.Addr, rows []*catalog.Service) (map[string][]byte, error) {
	files, err := renderNode(addr, rows)
	if err != nil {
		return nil, err
	}
	out := map[string][]byte{}
	for _, r := range rows {
		if r.UWSGIIni == "" {
			continue
		}
		b, ok := files["nodes/n1"+r.DefaultsFile()]
		if !ok {
			return nil, fmt.Errorf("render wrote no %s for %s", r.DefaultsFile(), r.Name)
		}
		ini := "--ini " + r.UWSGIIni + "\""
		if !strings.Contains(string(b), ini) {
			return nil, fmt.Errorf("render's %s has no %s", r.DefaultsFile(), ini)
		}
		own := "/etc/" + project(r) + "/" + ownIni
		out[r.DefaultsFile()] = []byte(strings.Replace(string(b), ini, "--ini "+r.UWSGIIni+" --ini "+own+"\"", 1))
	}
	return out, nil
}

func project(r *catalog.Service) string { return strings.Split(r.Config, "/")[2] }

// Files are the node's own files for s: its packaged configuration file(s)
// with the settings, the harness's uwsgi ini, and its /etc/default file
// (from defaults).
func (s *Service) Files(e Env, defaults map[string][]byte) (map[string]sysnode.File, error) {
	f := map[string]sysnode.File{}
	byFile := map[string][]Setting{}
	var order []string
	for _, st := range s.settings(e) {
		if _, ok := byFile[st.File]; !ok {
			order = append(order, st.File)
		}
		byFile[st.File] = append(byFile[st.File], st)
	}
	for _, name := range order {
		nf, err := PackagedWith(name, byFile[name])
		if err != nil {
			return nil, fmt.Errorf("%s: %w", s.Row.Name, err)
		}
		f[name] = nf
	}
	if s.Row.UWSGIIni != "" {
		d, ok := defaults[s.Row.DefaultsFile()]
		if !ok {
			return nil, fmt.Errorf("%s: no rendered %s", s.Row.Name, s.Row.DefaultsFile())
		}
		f[s.Row.DefaultsFile()] = sysnode.File{Data: d}
		f["/etc/"+s.Project+"/"+ownIni] = sysnode.File{Data: []byte(fmt.Sprintf(
			"# stackha sysnode: read after Debian's ini (DAEMON_ARGS in /etc/default/<name>)\n[uwsgi]\nprocesses = %d\n", Processes))}
	}
	return f, nil
}

// PackagedWith is the machine's packaged file (the node's lower layer)
// with the settings, its mode and owner kept.
func PackagedWith(name string, sets []Setting) (sysnode.File, error) {
	b, err := os.ReadFile(name)
	if err != nil {
		return sysnode.File{}, err
	}
	fi, err := os.Stat(name)
	if err != nil {
		return sysnode.File{}, err
	}
	owner := "root:root"
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		u, uerr := user.LookupId(strconv.Itoa(int(st.Uid)))
		g, gerr := user.LookupGroupId(strconv.Itoa(int(st.Gid)))
		if uerr != nil || gerr != nil {
			return sysnode.File{}, fmt.Errorf("%s: owner %d:%d: %v %v", name, st.Uid, st.Gid, uerr, gerr)
		}
		owner = u.Username + ":" + g.Name
	}
	text := string(b)
	for _, st := range sets {
		text = SetIni(text, st.Section, st.Key, st.Value)
	}
	return sysnode.File{Data: []byte(text), Mode: fi.Mode().Perm(), Owner: owner}, nil
}

// SetIni sets key = value in [section] of an ini text: the first
// uncommented assignment of key in the section's first occurrence is
// replaced, else the line goes right after the section's header (a new
// section at the end when there is none).
func SetIni(text, section, key, value string) string {
	lines := strings.Split(text, "\n")
	line := key + " = " + value
	header := -1
	for i, l := range lines {
		t := strings.TrimSpace(l)
		if strings.HasPrefix(t, "[") {
			if header >= 0 {
				break
			}
			if strings.Trim(t, "[] ") == section {
				header = i
			}
			continue
		}
		if header < 0 {
			continue
		}
		if k, _, ok := strings.Cut(t, "="); ok && !strings.HasPrefix(t, "#") && strings.TrimSpace(k) == key {
			lines[i] = line
			return strings.Join(lines, "\n")
		}
	}
	if header < 0 {
		return strings.TrimRight(text, "\n") + "\n[" + section + "]\n" + line + "\n"
	}
	lines = append(lines[:header+1], append([]string{line}, lines[header+1:]...)...)
	return strings.Join(lines, "\n")
}

// Setup is the script that makes the service's schema in the running node.
func (s *Service) Setup() string { return s.setup }

// Broken is a file that makes the unit fail to start, the file to put back
// afterwards (nil: remove it), and what the unit's journal says then.
func (s *Service) Broken(defaults map[string][]byte) (path string, data, restore []byte, says string) {
	if s.brokenFile != "" {
		return s.brokenFile, []byte(s.brokenData), nil, s.brokenSays
	}
	missing := "/etc/" + s.Project + "/no-such-uwsgi.ini"
	d := defaults[s.Row.DefaultsFile()]
	return s.Row.DefaultsFile(), []byte(strings.Replace(string(d), "--ini "+s.Row.UWSGIIni, "--ini "+missing, 1)), d, missing
}

// Changes says, for every spec, what the harness changes in what the
// packages ship.
func Changes(e Env) string {
	var b strings.Builder
	b.WriteString("what the real-services tier changes in Debian 12's packaged services (nodesvc):\n" +
		"  every service: its unit and init script as shipped; in its packaged config file the keys below set (the rest as shipped): " +
		"a sqlite database in the node's own /var/lib/<project>, keystone_authtoken (its own user in project service, password " +
		ServicePassword + ", keystone in the same node)\n" +
		fmt.Sprintf("  every uwsgi service: render's /etc/default/<name> (--http-socket on the node's address only) with the harness's ini after "+
			"Debian's in DAEMON_ARGS: processes = %d (Debian's 8, nova-api's 16, each loading the application on 2 cores)\n", Processes) +
		"  keystone: sysnode.Keystone (its own keystone.conf, fernet keys, bcrypt rounds 4, bootstrap admin); no AppArmor change " +
		"(the unit runs uwsgi as keystone, the profile hook never runs)\n")
	var names []string
	for n := range specs {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		sp := specs[n]
		for _, st := range sp.settings(e) {
			if st.Section == "keystone_authtoken" {
				continue
			}
			fmt.Fprintf(&b, "  %s: %s [%s] %s = %s\n", n, st.File, st.Section, st.Key, st.Value)
		}
		for _, c := range sp.changes {
			fmt.Fprintf(&b, "  %s: %s\n", n, c)
		}
	}
	return strings.TrimRight(b.String(), "\n")
}
