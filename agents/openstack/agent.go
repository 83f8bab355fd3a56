// Package openstack is the engine of stackha's OpenStack API agents
// (keystone, glance-api, nova-api, ...): one implementation, a Profile per
// service. The service runs either as a systemd unit, driven over D-Bus, or
// as a process the agent starts itself. Monitor depth 0 asks the service's
// own version document, unauthenticated (no keystone, no database); depth 20
// gets a keystone v3 token with credentials read from a root-only file and
// makes one authenticated call.
package openstack

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/stackha/stackha/metadata"
	"github.com/stackha/stackha/ocf"
)

func init() {
	for _, p := range Profiles {
		ocf.Register(NewAgent(p))
	}
}

// Action timeouts advertised in meta-data.
const (
	startTimeout   = 60 * time.Second
	stopTimeout    = 30 * time.Second
	monitorTimeout = 20 * time.Second
)

// NewAgent builds the agent of one profile.
func NewAgent(p *Profile) *ocf.Agent {
	a := &ocf.Agent{
		Meta:    declare(p),
		Aliases: p.Aliases,
		Handlers: map[string]ocf.Handler{
			"start":        func(ctx context.Context, r *ocf.Request) error { return handle(ctx, r, p, start) },
			"stop":         func(ctx context.Context, r *ocf.Request) error { return handle(ctx, r, p, stop) },
			"monitor":      func(ctx context.Context, r *ocf.Request) error { return handle(ctx, r, p, monitor) },
			"validate-all": func(ctx context.Context, r *ocf.Request) error { return handle(ctx, r, p, validate) },
		},
	}
	return a
}

func declare(p *Profile) metadata.Agent {
	port := strconv.Itoa(p.Port)
	params := []metadata.Parameter{
		{Name: "run_mode", Type: metadata.String, Default: "systemd", Short: "systemd or process",
			Long: "How the service runs. `systemd`: the agent starts, stops and watches the systemd unit named by `unit`, over D-Bus " +
				"(a node without systemd fails with OCF_ERR_INSTALLED). `process`: the agent starts `binary` itself, without a shell, " +
				"as `user`, in a session of its own, with its output in `log_file` and its pid in `pidfile`; stop signals only a " +
				"process whose pid and start time the agent recorded."},
		{Name: "unit", Type: metadata.String, Default: p.Unit, Short: "systemd unit (run_mode=systemd)",
			Long: "The systemd unit of the service, used when run_mode=systemd."},
		{Name: "binary", Type: metadata.String, Default: p.Binary, Short: "program to run (run_mode=process)",
			Long: "The service's program, started when run_mode=process. It is also how a probe tells whether the service is installed on this node."},
		{Name: "config", Type: metadata.String, Default: p.Config, Short: "configuration file",
			Long: "The service's configuration file, passed as --config-file when run_mode=process."},
		{Name: "extra_args", Type: metadata.String, Short: "more arguments (run_mode=process)",
			Long: "More arguments for the program, split on white space; single or double quotes keep white space inside one argument " +
				"and a backslash escapes the next character. No shell ever sees them. Example: " +
				"--config-file /etc/neutron/plugins/ml2/ml2_conf.ini"},
		{Name: "user", Type: metadata.String, Default: p.User, Short: "service user (run_mode=process)",
			Long: "The user the program runs as, with that user's primary group and supplementary groups."},
		{Name: "port", Type: metadata.Integer, Default: port, Short: "API port",
			Long: "The port the service's API listens on; it makes the default `url`" + portLong(p)},
		{Name: "url", Type: metadata.String, Short: "URL of the version document",
			Long: fmt.Sprintf("What monitor depth 0 asks, without a token. Default: http://127.0.0.1:<port>%s "+
				"(with the address of `bind_host` instead of 127.0.0.1 where the agent has that parameter and it is set). "+
				"An https URL is checked against the system's CAs or `ca_file`.", p.VersionPath)},
		{Name: "ca_file", Type: metadata.String, Short: "CA bundle for https",
			Long: "A PEM file of CA certificates to verify the service's and keystone's certificates with, instead of the system's."},
		{Name: "pidfile", Type: metadata.String, Short: "pid file (run_mode=process)",
			Long: "Where the agent writes the service's pid. Default: /run/stackha/<resource>/" + p.Name + ".pid. Next to it, " +
				"<pidfile>.stackha records the pid's start time and program, so that a pid reused by another process is never signalled."},
		{Name: "log_file", Type: metadata.String, Short: "output of the service (run_mode=process)",
			Long: "The file the service's standard output and error go to (appended). Default: /var/log/stackha/<resource>.log. " +
				"A service that dies while starting has the last lines of this file in the failure reason."},
		{Name: "keystone_url", Type: metadata.String, Short: "keystone v3 endpoint (depth 20)",
			Long: "The keystone v3 endpoint monitor depth 20 gets its token from, e.g. http://192.0.2.10:5000/v3 (\"/v3\" is added when missing). " +
				"Default: the credentials file's auth_url" + keystoneLong(p) + "."},
		{Name: "credentials", Type: metadata.String, Short: "credentials file (depth 20)",
			Long: "The file monitor depth 20 reads its user name and password from: either a clouds.yaml (the cloud named by `cloud`) or " +
				"lines of key=value (OS_USERNAME, OS_PASSWORD, OS_PROJECT_NAME, OS_USER_DOMAIN_NAME, OS_PROJECT_DOMAIN_NAME, OS_AUTH_URL; " +
				"an openrc file with `export` lines works). It must be owned by root and not accessible by others, or the agent refuses it " +
				"(OCF_ERR_CONFIGURED). The password is never put on a command line, in a child's environment, in the CIB or in a log line."},
		{Name: "cloud", Type: metadata.String, Short: "cloud in clouds.yaml (depth 20)",
			Long: "The cloud to use when `credentials` is a clouds.yaml. Default: the only cloud in the file."},
		{Name: "auth_path", Type: metadata.String, Default: p.AuthPath, Short: "authenticated call (depth 20)",
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
	}
	if p.WSGIScript {
		params = append(params, metadata.Parameter{Name: "bind_host", Type: metadata.String, Short: "address to listen on (run_mode=process)",
			Long: "The address " + p.Binary + " listens on (--host). Empty: the program's default, every address."})
	}
	return metadata.Agent{
		Name:    p.Name,
		Version: "1.0",
		Short:   "Manages " + p.Title,
		Long: "Runs and watches " + p.Title + " for Pacemaker, as a systemd unit or as a process of its own. " +
			"monitor at depth 0 (the default) asks the service's version document at `url`, unauthenticated, within the " +
			"operation's timeout: it needs neither keystone nor the database, and a service that accepts connections but does not " +
			"answer fails with \"no answer in N ms\" before Pacemaker's timeout. monitor at depth 20 (OCF_CHECK_LEVEL=20, opt-in) " +
			"gets a keystone v3 token with the credentials in `credentials` and makes one authenticated call (`auth_path`). " +
			"start returns when depth 0 passes; a service that dies while starting reports the end of its log.",
		Parameters: params,
		Actions: []metadata.Action{
			{Name: "start", Timeout: startTimeout},
			{Name: "stop", Timeout: stopTimeout},
			{Name: "monitor", Timeout: monitorTimeout, Interval: 10 * time.Second, Depth: 0},
			{Name: "monitor", Timeout: 30 * time.Second, Interval: 60 * time.Second, Depth: 20},
			{Name: "validate-all", Timeout: 10 * time.Second},
			{Name: "meta-data", Timeout: 5 * time.Second},
		},
	}
}

func portLong(p *Profile) string {
	if p.WSGIScript {
		return " and is passed to " + p.Binary + " as --port in run_mode=process."
	}
	return "; the service itself takes its port from its configuration file."
}

func keystoneLong(p *Profile) string {
	if p.Name == "keystone" {
		return ", else this keystone's own url with /v3"
	}
	return ""
}

type action func(ctx context.Context, r *ocf.Request, c *Config) error

// handle reads the configuration and runs one action on it.
func handle(ctx context.Context, r *ocf.Request, p *Profile, act action) error {
	c, err := NewConfig(p, r.Params, r.Instance)
	if err != nil {
		switch {
		case r.Action == "stop":
			// nothing can have been started with a configuration that does
			// not parse; a failed stop gets the node fenced
			r.Log.Warnf("stop with an invalid configuration (%v): nothing of ours can run", err)
			return nil
		case r.Action == "monitor" && r.Probe():
			return ocf.Stopped("invalid configuration: %v", err)
		case r.Action == "monitor":
			return ocf.Generic("%v", err)
		}
		return err
	}
	return act(ctx, r, c)
}
