// Package haproxy is the ocf:stackha:haproxy resource agent: HAProxy in
// master-worker mode with a checked start, a seamless reload that keeps the
// servers' runtime state, a monitor that looks through the runtime API, and
// a soft stop with a deadline. It replaces the seed's init script run as
// lsb:haproxy.
package haproxy

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/stackha/stackha/metadata"
	"github.com/stackha/stackha/ocf"
)

func init() {
	ocf.Register(&ocf.Agent{
		Meta: Meta,
		Handlers: map[string]ocf.Handler{
			"start":        func(ctx context.Context, r *ocf.Request) error { return withInstance(ctx, r, (*instance).start) },
			"stop":         func(ctx context.Context, r *ocf.Request) error { return withInstance(ctx, r, (*instance).stop) },
			"monitor":      func(ctx context.Context, r *ocf.Request) error { return withInstance(ctx, r, (*instance).monitor) },
			"reload":       func(ctx context.Context, r *ocf.Request) error { return withInstance(ctx, r, (*instance).reload) },
			"validate-all": func(ctx context.Context, r *ocf.Request) error { return withInstance(ctx, r, (*instance).validateAll) },
		},
	})
}

// Meta is the agent's declaration.
var Meta = metadata.Agent{
	Name:    "haproxy",
	Version: "1.0",
	Short:   "HAProxy in master-worker mode: checked start, seamless reload, runtime-API monitor",
	Long: `Runs HAProxy in master-worker mode (-W -D -S <master socket>) for Pacemaker.

start refuses a configuration that "haproxy -c" rejects (OCF_ERR_CONFIGURED, with haproxy's first error line) and returns only once the master answers on its socket and a worker runs; a listener that cannot bind (the VIP not on this node yet) fails the start with haproxy's own message and leaves no process behind.

reload (also what a change of a non-unique parameter triggers) checks the configuration first and leaves the running haproxy untouched when it is rejected; it saves the servers' runtime state (show servers state) to a state file that the new workers load, so a server put in maintenance stays there, then reloads through the master socket. Listening sockets pass from the old to the new worker: no connection is refused. It succeeds only once the new worker generation serves.

monitor at depth 0 checks that the master named by the pid file is this haproxy (its executable and command line, never a bare pid) and lists a current worker; at depth 10 it asks the workers' runtime API that every frontend is OPEN and that each backend of check_level_10_backends has a server UP.

stop asks for a soft stop (SIGUSR1: existing connections finish) until stop_timeout or the operation's deadline, then SIGTERM, then SIGKILL, and succeeds only when every process of this instance is gone. A pid is signalled only after /proc shows it is this haproxy.

Files: the pid file (pidfile), the master socket (master_socket), the server state file and a small generated configuration file (stackha.cfg: the global server-state-file and a defaults section loading it, passed as the first -f; the operator's files are never edited) live in /run/stackha/<resource>/ unless set otherwise. When the operator's own defaults section does not load the state file, the agent restores the saved maintenance, drain and weight settings on the new worker over the runtime API right after the reload. The runtime API is reached through stats_socket, or through the master socket when there is none. Arguments in extra_args are passed as they are, never through a shell.

A bind address that is not on this node while net.ipv4.ip_nonlocal_bind (or net.ipv6.ip_nonlocal_bind) is 0 and the bind line has no "transparent" is reported by validate-all as a warning (the VIP may simply be elsewhere for now) and explains a failed start.`,
	Parameters: []metadata.Parameter{
		{Name: "binary", Type: metadata.String, Default: "/usr/sbin/haproxy",
			Short: "haproxy binary",
			Long:  "Path of the haproxy executable (2.6 or later). Changing it restarts haproxy: a master cannot reload into another binary."},
		{Name: "config", Type: metadata.String, Default: "/etc/haproxy/haproxy.cfg", Unique: true,
			Short: "configuration files or directories",
			Long:  "Absolute paths of haproxy configuration files or directories, separated by spaces or commas, in load order; each is passed as -f (a directory stands for its *.cfg files, in lexical order, as haproxy does)."},
		{Name: "pidfile", Type: metadata.String, Unique: true,
			Short: "pid file of the master",
			Long:  "Where haproxy writes the master's pid (-p). Default: /run/stackha/<resource>/haproxy.pid."},
		{Name: "master_socket", Type: metadata.String, Unique: true,
			Short: "master CLI socket",
			Long:  "Unix socket of haproxy's master CLI (-S <path>,mode,600), through which the agent lists the workers, reloads and reaches each worker's runtime API. It also identifies this instance's processes. Default: /run/stackha/<resource>/master.sock."},
		{Name: "stats_socket", Type: metadata.String,
			Short: "admin-level stats socket",
			Long:  "Unix socket of the workers' runtime API used by the depth-10 monitor (when it does not answer, the monitor asks the current worker through the master socket). Default: the first \"stats socket\" with \"level admin\" the configuration declares; when there is none, the agent reaches the current worker through the master socket."},
		{Name: "extra_args", Type: metadata.String,
			Short: "further haproxy arguments",
			Long:  "Further arguments for haproxy, split on blanks (quotes group words), e.g. \"-L node1\". The options the agent owns (-D -W -Ws -S -p -f -sf -st -x -c -db -C --) are refused. Changing them restarts haproxy."},
		{Name: "stop_timeout", Type: metadata.Time, Default: "30s",
			Short: "soft stop duration",
			Long:  "How long stop lets existing connections finish after SIGUSR1 before it sends SIGTERM, and then SIGKILL; never longer than the stop operation's timeout allows."},
		{Name: "check_level_10_backends", Type: metadata.String,
			Short: "backends that must have a server up",
			Long:  "Backends (or listen sections), separated by spaces or commas, of which the depth-10 monitor requires at least one server UP. Default: every backend that declares servers."},
	},
	Actions: []metadata.Action{
		{Name: "start", Timeout: 60 * time.Second},
		{Name: "stop", Timeout: 60 * time.Second},
		{Name: "monitor", Timeout: 20 * time.Second, Interval: 10 * time.Second},
		{Name: "monitor", Timeout: 20 * time.Second, Interval: 30 * time.Second, Depth: 10},
		{Name: "reload", Timeout: 60 * time.Second},
		{Name: "validate-all", Timeout: 30 * time.Second},
		{Name: "meta-data", Timeout: 5 * time.Second},
	},
}

// ownedFlags are haproxy options the agent sets itself.
var ownedFlags = map[string]bool{"-D": true, "-W": true, "-Ws": true, "-S": true, "-p": true, "-f": true,
	"-sf": true, "-st": true, "-x": true, "-c": true, "-db": true, "-C": true, "--": true}

// maxSocketPath is the longest path a unix socket address holds.
const maxSocketPath = 107

// instance is one resource's settings, read from its parameters.
type instance struct {
	binary      string
	configs     []string
	pidfile     string
	socket      string
	statsSocket string // as set; "" means from the configuration
	extraArgs   []string
	stopTimeout time.Duration
	backends    []string
	stateDir    string
	log         *ocf.Logger
	probe       bool
	checkLevel  int
	view        nodeView
}

func withInstance(ctx context.Context, r *ocf.Request, f func(*instance, context.Context) error) error {
	in, err := newInstance(r)
	if err != nil {
		if r.Action == "stop" {
			r.Log.Warnf("stop with invalid parameters (%v): nothing of ours can be running", err)
			return nil
		}
		if r.Action == "monitor" {
			if r.Probe() {
				return ocf.Stopped("invalid parameters: %v", err)
			}
			return ocf.Generic("%v", err)
		}
		return err
	}
	return f(in, ctx)
}

func splitList(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' || r == '\n' })
}

// newInstance reads the parameters; what is wrong there is wrong everywhere
// (exit 6).
func newInstance(r *ocf.Request) (*instance, error) {
	p := r.Params
	in := &instance{
		binary:      p.String("binary"),
		configs:     splitList(p.String("config")),
		pidfile:     p.String("pidfile"),
		socket:      p.String("master_socket"),
		statsSocket: p.String("stats_socket"),
		stopTimeout: p.Duration("stop_timeout"),
		backends:    splitList(p.String("check_level_10_backends")),
		stateDir:    r.StateDir(),
		log:         r.Log,
		probe:       r.Probe(),
		checkLevel:  r.CheckLevel,
		view:        hostView,
	}
	if in.pidfile == "" {
		in.pidfile = filepath.Join(in.stateDir, "haproxy.pid")
	}
	if in.socket == "" {
		in.socket = filepath.Join(in.stateDir, "master.sock")
	}
	if !filepath.IsAbs(in.binary) {
		return nil, ocf.Configured("binary=%q: an absolute path is needed", in.binary)
	}
	if len(in.configs) == 0 {
		return nil, ocf.Configured("config is empty: name at least one haproxy configuration file")
	}
	for _, c := range in.configs {
		if !filepath.IsAbs(c) {
			return nil, ocf.Configured("config=%q: %q is not an absolute path", p.String("config"), c)
		}
	}
	for name, v := range map[string]string{"pidfile": in.pidfile, "master_socket": in.socket, "stats_socket": in.statsSocket} {
		if v != "" && !filepath.IsAbs(v) {
			return nil, ocf.Configured("%s=%q: an absolute path is needed", name, v)
		}
	}
	if len(in.socket) > maxSocketPath {
		return nil, ocf.Configured("master_socket %q is longer than a unix socket path can be (%d bytes); set master_socket to a shorter path", in.socket, maxSocketPath)
	}
	if strings.ContainsAny(in.socket, ", \t") {
		return nil, ocf.Configured("master_socket %q: a comma or blank cannot be passed to haproxy -S", in.socket)
	}
	in.extraArgs = splitLine(p.String("extra_args"))
	for _, a := range in.extraArgs {
		if ownedFlags[a] {
			return nil, ocf.Configured("extra_args=%q: %s is set by the agent and cannot be passed", p.String("extra_args"), a)
		}
	}
	return in, nil
}

func (in *instance) id() identity { return identity{binary: in.binary, socket: in.socket} }

// generatedConfig is the configuration file the agent adds before the
// operator's (it never edits theirs): the global server state file, and a
// defaults section that loads it, which a configuration without a defaults
// section of its own inherits.
func (in *instance) generatedPath() string { return filepath.Join(in.stateDir, "stackha.cfg") }

func (in *instance) statePath(c *Config) string {
	if p := c.ServerStatePath(); p != "" {
		return p
	}
	return filepath.Join(in.stateDir, "servers.state")
}

func generatedConfig(c *Config, statePath string) string {
	var b strings.Builder
	b.WriteString("# Written by ocf:stackha:haproxy for each start; not to be edited.\n")
	if c.ServerStateFile == "" {
		fmt.Fprintf(&b, "global\n    server-state-file %s\n", quoteCfg(statePath))
	}
	b.WriteString("defaults\n    load-server-state-from-file global\n")
	return b.String()
}

// quoteCfg quotes a path for an haproxy configuration line.
func quoteCfg(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// argv is the command line that starts this instance.
func (in *instance) argv() []string {
	a := []string{in.binary, "-W", "-D", "-S", in.socket + ",mode,600", "-p", in.pidfile, "-f", in.generatedPath()}
	for _, c := range in.configs {
		a = append(a, "-f", c)
	}
	return append(a, in.extraArgs...)
}
