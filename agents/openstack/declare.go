package openstack

import (
	"time"

	"github.com/stackha/stackha/metadata"
)

// Action timeouts advertised in meta-data.
const (
	startTimeout   = 60 * time.Second
	stopTimeout    = 30 * time.Second
	monitorTimeout = 20 * time.Second
)

// defaultProbeTimeout bounds one version request unless probe_timeout says
// otherwise: a hung service fails its monitor in about this long, not at
// the operation's timeout.
const defaultProbeTimeout = 3 * time.Second

// paramTable is the declaration every profile shares; declare fills in the
// profile's defaults.
var paramTable = [...]metadata.Parameter{
	{Name: "run_mode", Type: metadata.String, Default: "systemd", Short: "systemd or process", Options: []string{"systemd", "process"},
		Long: "How the service runs. `systemd` is for production on a distribution that ships the service's unit (Debian 12): the " +
			"agent starts, stops and watches the unit named by `unit` over D-Bus, as Pacemaker's systemd: class does (a runtime " +
			"drop-in sets Restart=no; a failure quotes the unit's result and its last journal lines); a node without systemd fails " +
			"with OCF_ERR_INSTALLED. `process` is for a node without systemd (a container, a lab): the agent starts the service " +
			"itself as its unit would, without a shell, as `user`, in a session of its own, with its early output in `log_file` and " +
			"its pid in `pidfile`. A WSGI service runs under uwsgi with the package's own ini, as Debian's unit runs it " +
			"(`binary` --http-socket <bind_host>:<port> --ini <uwsgi_ini>); a service without a uwsgi ini (glance-api) runs its " +
			"own server (`binary` --config-file <config>). Never a WSGI script directly: that is pbr's single-threaded test " +
			"server, and the agent refuses it (OCF_ERR_CONFIGURED). Stop signals only a process whose pid, start time, owner and " +
			"session the agent recorded in its root-owned state directory (/run/stackha/<resource>), or what is left of that " +
			"session: uwsgi's master gets SIGINT (it ends its workers), and what is left after a few seconds SIGKILL. What start " +
			"started (the process, or the unit) is stopped even when the parameters have become invalid."},
	{Name: "unit", Type: metadata.String, Short: "systemd unit (run_mode=systemd)",
		Long: "The systemd unit of the service, used when run_mode=systemd."},
	{Name: "binary", Type: metadata.String, Short: "program to run (run_mode=process)",
		Long: "The program run_mode=process starts (a clean absolute path). uwsgi (a program named uwsgi*, the default for a " +
			"service whose package ships a uwsgi ini) runs with `uwsgi_ini`; any other program is the service's own server " +
			"(glance-api's; nova-api's, cinder-api's, heat-api's or neutron-server's eventlet server if named here), run with " +
			"--config-file. A pbr WSGI script (keystone-wsgi-public, placement-api, nova-metadata-wsgi, cinder-wsgi, ...) is " +
			"refused. It is also how a probe tells whether the service is installed on this node."},
	{Name: "uwsgi_ini", Type: metadata.String, Short: "the package's uwsgi ini (run_mode=process)",
		Long: "The uwsgi ini run_mode=process runs `binary` (uwsgi) with, as the package's unit does: the ini names the WSGI " +
			"application, the workers and threads and the log (logto). The agent adds --http-socket <bind_host>:<port> before " +
			"it and `extra_ini` and `extra_args` after it (so that e.g. --processes 2 there overrides the ini's). Used when `binary` is uwsgi."},
	{Name: "extra_ini", Type: metadata.String, Short: "another uwsgi ini, read after uwsgi_ini (run_mode=process)",
		Long: "An ini of the node's own that uwsgi reads after `uwsgi_ini` (--ini <uwsgi_ini> --ini <extra_ini>, before " +
			"`extra_args`), so that its options override the package's without editing the package's file, as a second --ini in " +
			"the unit's DAEMON_ARGS does; e.g. [uwsgi] processes = 2, threads = 4, logto = <file>. Empty: none. Root reads it " +
			"(the log it names) and it decides how uwsgi runs, so it must be a regular file owned by root that no one else can " +
			"write, in directories owned by root that no one else can write, readable by `user` (uwsgi reads it); a symbolic link " +
			"is refused, never followed (OCF_ERR_INSTALLED). An ini that sets daemonize or pidfile is refused " +
			"(OCF_ERR_CONFIGURED): uwsgi must stay the process the agent started. Used when `binary` is uwsgi."},
	{Name: "config", Type: metadata.String, Short: "configuration file",
		Long: "The service's configuration file (a clean absolute path), for run_mode=process: under uwsgi the application finds " +
			"it through its environment (keystone, nova, placement: the file must keep its packaged base name) or uwsgi's " +
			"--pyargv --config-file; a service's own server gets --config-file."},
	{Name: "extra_args", Type: metadata.String, Short: "more arguments (run_mode=process)",
		Long: "More arguments for the program, split on white space; single or double quotes keep white space inside one argument " +
			"and a backslash escapes the next character. No shell ever sees them. Example: " +
			"--config-file /etc/neutron/plugins/ml2/ml2_conf.ini"},
	{Name: "user", Type: metadata.String, Short: "service user (run_mode=process)",
		Long: "The user the program runs as, with that user's primary group and supplementary groups (uwsgi started as " +
			"that user does not change user again, and does not need root)."},
	{Name: "port", Type: metadata.Integer, Short: "API port", Range: &metadata.Range{Min: 1, Max: 65535}},
	{Name: "url", Type: metadata.String, Short: "URL of the version document", Reloadable: true,
		Long: "What monitor depth 0 asks, without a token. Default: http://127.0.0.1:<port>/ (glance-registry: /healthcheck), " +
			"with the address of `bind_host` instead of 127.0.0.1 where the agent has that parameter and it is set. " +
			"An https URL is checked against the system's CAs or `ca_file`."},
	{Name: "probe_timeout", Type: metadata.Time, Default: "3s", Short: "time limit of one version request", Range: &metadata.Range{Min: int64(100 * time.Millisecond), Max: int64(2 * time.Minute)}, Reloadable: true,
		Long: "How long monitor (and each check while starting) waits for the version document before it calls the service hung. " +
			"It is always cut to less than the operation's own timeout, so a service that accepts connections but does not answer " +
			"fails its monitor in about this long, with a reason that says so, rather than at Pacemaker's timeout."},
	{Name: "degraded_ms", Type: metadata.Integer, Default: "0", Short: "slow answer threshold (ms), 0: off", Range: &metadata.Range{Min: 0, Max: 120000}, Reloadable: true,
		Long: "When not 0, a monitor whose version document answers correctly but slower than this many milliseconds reports the " +
			"service degraded (OCF_DEGRADED, 190) to an OCF 1.1 caller; a 1.0 caller sees success and the agent logs a warning."},
	{Name: "ca_file", Type: metadata.String, Short: "CA bundle for https", Reloadable: true,
		Long: "A PEM file of CA certificates to verify the service's and keystone's certificates with, instead of the system's. " +
			"Root reads it to decide whom to trust, so it must be a regular file owned by root that no one else can write, in " +
			"directories owned by root that no one else can write (e.g. /etc/ssl/certs/ca-certificates.crt); a symbolic link " +
			"is refused, never followed: name the file it points to."},
	{Name: "pidfile", Type: metadata.String, Short: "pid file (run_mode=process)",
		Long: "Where the agent writes the service's pid, for operators and tools (a clean absolute path). Default: " +
			"/run/stackha/<resource>/<agent>.pid. The agent never trusts it: what it started is recorded (pid, start time, owner, " +
			"session) in /run/stackha/<resource>, a directory only root can write. Its directory is opened component by component " +
			"without following a link, and must be owned by root or `user` and writable by no one else."},
	{Name: "log_file", Type: metadata.String, Short: "output of the service (run_mode=process)",
		Long: "The file the service's standard output and error go to (appended). Default: /var/log/stackha/<resource>.log. " +
			"uwsgi writes there only until it has read its ini; then it logs where the ini's logto says (or a --logto of " +
			"`extra_args`), as under its unit, and a failed start quotes that log too (read only if the service user owns it). " +
			"It is opened without following a link, and must be a regular file with one link, owned by root or `user`, in a " +
			"directory no other user can write. A service that dies while starting has the last lines of this file " +
			"(each quoted, with control characters escaped, and shortened) in the failure reason."},
	{Name: "keystone_url", Type: metadata.String, Short: "keystone v3 endpoint (depth 20)", Reloadable: true},
	{Name: "credentials", Type: metadata.String, Short: "credentials file (depth 20)", Reloadable: true,
		Long: "The file monitor depth 20 reads its user name and password from: either a clouds.yaml (the cloud named by `cloud`) or " +
			"lines of key=value (OS_USERNAME, OS_PASSWORD, OS_PROJECT_NAME, OS_USER_DOMAIN_NAME, OS_PROJECT_DOMAIN_NAME, OS_AUTH_URL; " +
			"an openrc file with `export` lines works). It must be a regular file owned by root that only root can read or write " +
			"(mode 0600 or 0400), or the agent refuses it (OCF_ERR_CONFIGURED). The password is never put on a command line, " +
			"in a child's environment, in the CIB or in a log line."},
	{Name: "cloud", Type: metadata.String, Short: "cloud in clouds.yaml (depth 20)", Reloadable: true,
		Long: "The cloud to use when `credentials` is a clouds.yaml. Default: the only cloud in the file."},
	{Name: "auth_path", Type: metadata.String, Short: "authenticated call (depth 20)", Reloadable: true,
		Long: "The path monitor depth 20 GETs on the service with the token; {project_id} is replaced by the token's project. " +
			"Empty: depth 20 checks only that keystone issues the token."},
	// Secret: the runtime's refusal never quotes the value.
	{Name: "os_password", Type: metadata.String, Short: "not supported: use credentials", Secret: true,
		Long:        "The old openstack-resource-agents took the password here, which put it in the CIB and on a command line.",
		Unsupported: "a password must not be stored in the CIB; put it in the root-only file named by `credentials` (and change it: the CIB is copied to every node)."},
	{Name: "os_username", Type: metadata.String, Short: "not supported: use credentials",
		Long: "The old openstack-resource-agents took the user here.", Unsupported: "put it in the file named by `credentials`"},
	{Name: "os_tenant_name", Type: metadata.String, Short: "not supported: use credentials",
		Long: "The old openstack-resource-agents took the project here (keystone v2.0).", Unsupported: "put OS_PROJECT_NAME in the file named by `credentials`"},
	{Name: "os_auth_url", Type: metadata.String, Short: "not supported: use keystone_url",
		Long: "The old openstack-resource-agents' keystone v2.0 endpoint.", Unsupported: "keystone v2.0 is gone; set `keystone_url` to a v3 endpoint"},
	// only under uwsgi (declare leaves it out otherwise)
	// only for a service with oslo's healthcheck (declare leaves them out otherwise)
	{Name: "drain_timeout", Type: metadata.Time, Default: "0", Short: "drain before stop, at most this long (0: off)",
		Range: &metadata.Range{Min: 0, Max: int64(10 * time.Minute)}, Reloadable: true,
		Long: "When not 0, stop first drains the service: it creates `drain_file`, so that the service's /healthcheck answers 503 and " +
			"every haproxy that checks it there takes it out; it waits `drain_checks` for those checks, then until the service holds " +
			"no request (no busy connection to `port`, asked of the kernel), and then stops it. It waits at most this long, cut to " +
			"leave 10s of the stop's own timeout (raise the stop operation's timeout with it); a drain that runs out is logged, and " +
			"the stop goes on. No drain for a service that does not answer, or on a node whose partition has lost quorum (crm_node " +
			"--quorum answers 0: the majority takes over once it has fenced the node). start removes `drain_file`. haproxy must check " +
			"the service at /healthcheck (stackha render does that)."},
	{Name: "drain_file", Type: metadata.String, Short: "the healthcheck's disable file", Reloadable: true,
		Long: "The file whose presence makes the service's oslo.middleware healthcheck answer 503 (its disable_by_file_path): what the " +
			"package's paste configuration names, or what stackha render configures for keystone and heat-api in their configuration's " +
			".conf.d directory. Its directory belongs to the service user, so the agent opens it without following a link, writes " +
			"the file by rename and removes it by unlinkat."},
	{Name: "drain_checks", Type: metadata.Time, Default: "2s", Short: "time haproxy's checks take to take the service out", Reloadable: true,
		Range: &metadata.Range{Min: 0, Max: int64(2 * time.Minute)},
		Long: "How long after the drain begins (`drain_file` appears, or the drain agent answers \"drain\") every haproxy has taken " +
			"the service out: its check interval, plus the further failed checks it needs at its fast interval, plus its check " +
			"timeout, or the agent-check's interval (stackha render computes it from the haproxy section of the topology). drain " +
			"waits this long before it looks at the service's connections."},
	{Name: "drain_agent_port", Type: metadata.Integer, Default: "0", Short: "port of the drain agent haproxy's agent-check asks (0: none)",
		Range: &metadata.Range{Min: 0, Max: 65535},
		Long: "For a service without oslo.middleware's healthcheck: start runs a small helper (`stackha openstack-agent-check`, " +
			"recorded with the instance) on the address of `url` and this port, which answers haproxy's agent-check \"ready\", and " +
			"\"drain\" from the moment stop begins to drain; stop ends it once the service has stopped. Each haproxy backend server " +
			"needs `agent-check agent-port <this port>` (stackha render writes it). It reads nothing from the network. " +
			"A start whose agent cannot answer (the port taken) fails: a server haproxy was told to drain comes back only when " +
			"the agent says \"ready\"."},
	{Name: "bind_host", Type: metadata.String, Short: "address to listen on (run_mode=process)",
		Long: "The address uwsgi listens on (--http-socket <bind_host>:<port>): this node's own, so that haproxy can bind the " +
			"VIP's port on the same node. Empty: every address, as the package's unit does."},
}

// drainAgentLong is drain_timeout's description for a service without
// the healthcheck.
const drainAgentLong = "When not 0 (it needs `drain_agent_port`), stop first drains the service: its drain agent answers haproxy's " +
	"agent-check \"drain\", so that every haproxy sends it no new request; stop waits `drain_checks` for those checks, then " +
	"until the service holds no request (no busy connection to `port`, asked of the kernel), and then stops it. It waits at " +
	"most this long, cut to leave 10s of the stop's own timeout; a drain that runs out is logged, and the stop goes on. No " +
	"drain for a service that does not answer, or on a node whose partition has lost quorum."

const (
	portLongWSGI   = "The port the service's API listens on; it makes the default `url` and is uwsgi's --http-socket port in run_mode=process."
	portLongConfig = "The port the service's API listens on; it makes the default `url`; the service itself takes its port from its configuration file."
	keystoneLong   = "The keystone v3 endpoint monitor depth 20 gets its token from, e.g. http://192.0.2.10:5000/v3 (\"/v3\" is added when missing). " +
		"Default: the credentials file's auth_url"
	keystoneLongSelf = keystoneLong + ", else this keystone's own url with /v3."
	keystoneLongAPI  = keystoneLong + "."
)

// actions are every profile's actions.
var actions = []metadata.Action{
	{Name: "start", Timeout: startTimeout},
	{Name: "stop", Timeout: stopTimeout},
	{Name: "monitor", Timeout: monitorTimeout, Interval: 10 * time.Second, Depth: 0},
	{Name: "monitor", Timeout: 30 * time.Second, Interval: 60 * time.Second, Depth: 20},
	{Name: "reload-agent", Timeout: 10 * time.Second},
	{Name: "validate-all", Timeout: 10 * time.Second},
	{Name: "meta-data", Timeout: 5 * time.Second},
}

const agentLong = "Runs and watches an OpenStack API service for Pacemaker, as a systemd unit or as a process of its own. " +
	"monitor at depth 0 (the default) asks the service's version document at `url`, unauthenticated, within `probe_timeout`: " +
	"it needs neither keystone nor the database, and a service that accepts connections but does not answer fails with " +
	"\"no answer within probe_timeout\" long before Pacemaker's timeout. monitor at depth 20 (OCF_CHECK_LEVEL=20, opt-in) " +
	"gets a keystone v3 token with the credentials in `credentials` and makes one authenticated call (`auth_path`). " +
	"start returns when depth 0 passes; a service that dies while starting reports the end of its log. The parameters only " +
	"monitor reads, and the drain's (read by each stop and start), are reloadable: reload-agent checks them and never restarts the service."

// declare is the declaration of one profile's agent: the shared
// parameters with the profile's defaults, uwsgi_ini, extra_ini and
// bind_host only for a service run under uwsgi. It runs on an agent's first use, never at start-up.
func declare(p *Profile) metadata.Agent {
	params := make([]metadata.Parameter, 0, len(paramTable))
	for _, q := range paramTable {
		switch q.Name {
		case "bind_host":
			if !bindHostDeclared(p) {
				continue
			}
		case "drain_timeout":
			if p.DrainFile == "" {
				q.Long = drainAgentLong
			}
		case "drain_agent_port":
			if p.DrainFile != "" {
				continue
			}
		case "drain_file":
			if p.DrainFile == "" {
				continue
			}
			q.Default = p.DrainFile
		case "uwsgi_ini":
			if p.UWSGIIni == "" {
				continue
			}
			q.Default = p.UWSGIIni
		case "extra_ini":
			if p.UWSGIIni == "" {
				continue
			}
		case "unit":
			q.Default = p.Unit
		case "binary":
			q.Default = p.Binary
			if p.UWSGIIni != "" {
				q.Default = uwsgiProgram
			}
		case "config":
			q.Default = p.Config
		case "user":
			q.Default = p.User
		case "auth_path":
			q.Default = p.AuthPath
		case "port":
			q.Default, q.Long = p.Port, portLongConfig
			if p.UWSGIIni != "" {
				q.Long = portLongWSGI
			}
		case "keystone_url":
			q.Long = keystoneLongAPI
			if p.Name == "keystone" {
				q.Long = keystoneLongSelf
			}
		}
		params = append(params, q)
	}
	return metadata.Agent{
		Name:       p.Name,
		Short:      p.Title,
		Long:       agentLong,
		Parameters: params,
		Actions:    actions,
	}
}
