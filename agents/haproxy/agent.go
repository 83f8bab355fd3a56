// Package haproxy is the ocf:stackha:haproxy resource agent: HAProxy in
// master-worker mode with a checked start, a seamless reload that keeps the
// servers' runtime state, a monitor that looks through the runtime API, and
// a soft stop with a deadline. It replaces the init script the how-to runs
// as lsb:haproxy.
package haproxy

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/stackha/stackha/instance"
	"github.com/stackha/stackha/metadata"
	"github.com/stackha/stackha/ocf"
)

func init() {
	ocf.Register("haproxy", func() *ocf.Agent {
		return &ocf.Agent{
			Meta:      Meta,
			Configure: configure,
			Handlers: map[string]ocf.Handler{
				"start":        handle((*op).start),
				"stop":         handle((*op).stop),
				"monitor":      handle((*op).monitor),
				"reload":       handle((*op).reload),
				"reload-agent": handle((*op).reload),
				"validate-all": handle((*op).validateAll),
			},
			StopFromState:  stopFromState,
			ProbeFromState: probeFromState,
		}
	})
	ocf.RegisterHelper(watchCmd, watchHelper)
}

// Meta is the agent's declaration.
var Meta = metadata.Agent{
	Name:  "haproxy",
	Short: "HAProxy in master-worker mode: checked start, seamless reload, runtime-API monitor",
	Long: `Runs HAProxy in master-worker mode (-W -D -S <master socket>) for Pacemaker.

start refuses a configuration that "haproxy -c" rejects (OCF_ERR_CONFIGURED, with haproxy's first error line) and returns only once the master answers on its socket and a worker runs; a listener that cannot bind (the VIP not on this node yet) fails the start with haproxy's own message and leaves no process behind.

reload and reload-agent (what a change of config, check_level_10_backends or stop_timeout triggers for an OCF 1.1 caller; for a 1.0 caller, reload is what a change of a non-unique parameter triggers) check the configuration first and leaves the running haproxy untouched when it is rejected; they save the servers' runtime state (show servers state) to a state file that the new workers load, so a server put in maintenance stays there, then reloads through the master socket. Listening sockets pass from the old to the new worker: no connection is refused. The master and its pid stay. It succeeds only once the new worker generation serves. A changed binary or extra_args restarts haproxy instead.

monitor at depth 0 checks that the master is the one start launched and lists a current worker; at depth 10 it asks the workers' runtime API that there is a frontend, that every frontend is OPEN and that each backend of check_level_10_backends has a server UP. A backend that lost some of its servers but keeps one UP is reported as degraded (OCF_DEGRADED, 190, to an OCF 1.1 caller; success with a warning to a 1.0 caller).

validate-all at OCF_CHECK_LEVEL=0 checks the parameters only; at 10 (the default) also this node: the binary, the files, "haproxy -c" and the bind addresses.

stop asks for a soft stop (SIGUSR1: existing connections finish) until stop_timeout or the operation's deadline, then SIGTERM, then SIGKILL, and succeeds only when every process of this instance is gone. A process is this haproxy's, and is signalled, only when its owner (root, or the configuration's user), session, start time, executable and master socket match what start recorded about the master it launched, in the root-only /run/stackha/<resource>/; nothing else is ever signalled. When the parameters are invalid, stop works from that record alone (and a probe never reports a recorded instance that runs as stopped); a record that exists but cannot be read fails the stop rather than passing for "nothing runs". A haproxy stackha 0.2 started is taken over after an upgrade: its record (master.record) is converted at the first action that reads it. The pid file and the socket are removed only when they are what they should be.

Files: the pid file (pidfile), the master socket (master_socket), the record of the master, the server state file and the configuration directory haproxy reads (conf/: a small generated file, with the global server-state-file and a defaults section loading it, then a link to each of the operator's files in load order; the operator's files are never edited) live in /run/stackha/<resource>/ unless set otherwise; the directories of the pid file and the socket must be root's alone. haproxy runs its binary and its configuration as root: the binary, each configuration file and every directory above them must be root's and writable by no one else (links are resolved, and what they point to is checked and used), or validate-all and start refuse them (OCF_ERR_CONFIGURED, naming the file). So must every file the configuration makes haproxy read as root (lua-load and lua-prepend-path, a program's or an external check's command, crt and crt-list with the certificates they name and the .key, .ocsp, .issuer and .sctl beside them, ca-file, crl-file, tls-ticket-keys, map and ACL files, errorfile and return files, ssl-dh-param-file, h1-case-adjust-file, filter configurations): each link on the way must sit in a directory only root can write, and a private key (or the TLS ticket keys) must not be readable by others; validate-all, start and reload refuse any other (OCF_ERR_CONFIGURED, naming the directive and the file) before haproxy -c reads it. A server-state-file the configuration names must resolve (with server-state-base, as haproxy does) to an absolute path in directories root's alone: the agent writes it as root before each reload, never through a link. When the operator's own defaults section does not load the state file, the agent restores the saved maintenance, drain and weight settings on the new worker over the runtime API right after the reload. The runtime API is reached through stats_socket, or through the master socket when there is none; the stats socket is believed only when the kernel says this haproxy holds it (SO_PEERCRED), and a question on it gets at most 5 s (never more than half the time left) before the master socket is asked instead. Arguments in extra_args are allow-listed and passed as they are, never through a shell.

A bind address that is not on this node while net.ipv4.ip_nonlocal_bind (or net.ipv6.ip_nonlocal_bind) is 0 and the bind line has no "transparent" is reported by validate-all as a warning (the VIP may simply be elsewhere for now) and explains a failed start.`,
	Parameters: []metadata.Parameter{
		{Name: "binary", Type: metadata.String, Default: "/usr/sbin/haproxy",
			Short: "haproxy binary",
			Long:  "Absolute path of the haproxy executable (2.6 or later), root's and writable by no one else, in directories only root can write. Changing it restarts haproxy: a master cannot reload into another binary."},
		{Name: "config", Type: metadata.String, Default: "/etc/haproxy/haproxy.cfg", Unique: true, Reloadable: true,
			Short: "configuration files or directories",
			Long:  "Absolute paths of haproxy configuration files or directories, separated by spaces or commas, in load order (a directory stands for its *.cfg files, in lexical order, as haproxy does). Each file and every directory above it must be root's and writable by no one else: haproxy runs it as root. A change is applied by a seamless reload."},
		{Name: "pidfile", Type: metadata.String, Unique: true,
			Short: "pid file of the master",
			Long:  "Where haproxy writes the master's pid (-p): an absolute, clean path in a directory only root can write. Default: /run/stackha/<resource>/haproxy.pid."},
		{Name: "master_socket", Type: metadata.String, Unique: true,
			Short: "master CLI socket",
			Long:  "Unix socket of haproxy's master CLI (-S <path>,mode,600), through which the agent lists the workers, reloads and reaches each worker's runtime API. It also identifies this instance's processes. Default: /run/stackha/<resource>/master.sock."},
		{Name: "stats_socket", Type: metadata.String,
			Short: "admin-level stats socket",
			Long:  "Unix socket of the workers' runtime API used by the depth-10 monitor (when it does not answer, the monitor asks the current worker through the master socket). Default: the first \"stats socket\" with \"level admin\" the configuration declares; when there is none, the agent reaches the current worker through the master socket."},
		{Name: "extra_args", Type: metadata.String,
			Short: "further haproxy arguments",
			Long:  "Further arguments for haproxy, split on blanks (quotes group words), e.g. \"-L node1\". Only these are accepted, spelt exactly: -V, -q, -L <name>, -n <n>, -N <n>, -m <MB>, -de, -dp, -dS, -dG, -dR, -dV, -dD, -dW, -dr, -dM[<byte>] (haproxy reads an option by its first letters, so anything else could reach an option the agent owns). Changing them restarts haproxy."},
		{Name: "stop_timeout", Type: metadata.Time, Default: "30s", Range: &metadata.Range{Min: 0, Max: int64(time.Hour)}, Reloadable: true,
			Short: "soft stop duration",
			Long:  "How long stop lets existing connections finish after SIGUSR1 before it sends SIGTERM, and then SIGKILL; never longer than the stop operation's timeout allows; at most 1 hour. None when this node's partition has lost quorum (crm_node --quorum answers 0): the majority takes over once it has fenced the node, and what haproxy holds there would hold the stop to this timeout."},
		{Name: "check_level_10_backends", Type: metadata.String, Reloadable: true,
			Short: "backends that must have a server up",
			Long:  "Backends (or listen sections), separated by spaces or commas, of which the depth-10 monitor requires at least one server UP. Default: every backend that declares servers."},
		{Name: "watch", Type: metadata.Boolean, Default: "true", Reloadable: true,
			Short: "Report the master's exit to Pacemaker at once",
			Long:  "When true, start runs an event watcher: a detached copy of the agent (haproxy-watch), the leader of a session of its own, recorded with the instance, that holds a pidfd of the recorded master and an inotify watch on the master socket's directory and sleeps in poll until one fires. When the master exits, or the master socket is removed or replaced and then does not answer (each question bounded to 1 s, three tries), it reports the failure to Pacemaker at once with \"crm_resource --fail --resource <OCF_RESOURCE_INSTANCE> --node <OCF_RESKEY_CRM_meta_on_node>\" instead of waiting for the next monitor. A master that hangs with its socket in place is left to the monitor: the watcher never wakes up on a timer. It reports under the instance's lock and only while the record still names it on that node (never once stop has begun: stop removes it from the record before it ends it and stops haproxy), at most 3 times, 10 s apart. When crm_resource is missing or the CIB cannot be reached, it logs why (at most 20 lines) and the next monitor finds the failure: the monitors stay the ground truth. A dead watcher is never a failure of haproxy: a recurring monitor that succeeds starts a new one. No watcher runs without a node name (an agent run by hand). On by default: measured side by side (docs/faults.md, make bench-watch) it brings these outages from 0.4-1.0 s to 0.2-0.3 s on the two-node lab cluster and from 0.4-1.3 s to 0.4-0.5 s on three fenced nodes, for about 1.5 MiB of private memory and no wake-up while nothing happens; false leaves every detection to the monitors. A change takes effect at the next monitor (turned off: at once)."},
		{Name: "generation", Type: metadata.String, Reloadable: true,
			Short: "changing it reloads haproxy (certificate rotation)",
			Long:  "Any text of at most 128 letters, digits, '.', '_', ':' or '-', ignored by the agent but for its change: a reloadable parameter, so Pacemaker reloads haproxy on every node when it changes (reload-agent, seamless: no connection refused), and the new workers read their certificates again. After replacing the certificates on every node, `stackha tls-reload` sets it to a digest of the certificate files the configuration names (CertDigest: each checked as start checks it), so running it again with nothing replaced changes nothing. Default: empty."},
		{Name: "node_attribute", Type: metadata.String, Reloadable: true,
			Short: "node attribute set while haproxy serves here",
			Long:  "When set, the name of a transient node attribute (letters, digits, '-', '_' and '.', starting with a letter; at most 64 bytes) that the agent sets to 1 on this node (attrd_updater) once start has found haproxy serving, and to 0 when stop begins, before the soft stop closes the listeners; a probe that finds haproxy running sets it too (after Pacemaker restarts on the node), and a reload sets it anew. A location rule on it (\"rule 10000: <name> eq 1\", which stackha render writes) sends the VIP to a node whose haproxy already listens, never to one where haproxy starts in the same transition, which would answer \"connection refused\" until it listens. Each update is bounded to 5 s (2 s in stop); one that fails is logged and changes nothing else: the attribute is a preference, never a reason to fail an action. Pacemaker forgets it when the node leaves the cluster. Default: none."},
	},
	Actions: []metadata.Action{
		{Name: "start", Timeout: 60 * time.Second},
		{Name: "stop", Timeout: 60 * time.Second},
		{Name: "monitor", Timeout: 20 * time.Second, Interval: 10 * time.Second},
		{Name: "monitor", Timeout: 20 * time.Second, Interval: 30 * time.Second, Depth: 10},
		{Name: "reload", Timeout: 60 * time.Second},
		{Name: "reload-agent", Timeout: 60 * time.Second},
		{Name: "validate-all", Timeout: 30 * time.Second},
		{Name: "meta-data", Timeout: 5 * time.Second},
	},
}

// op is one action on the instance: its settings (from the parameters, or
// from the record for a stop or probe whose parameters are invalid), and
// what the action learnt on the way.
type op struct {
	*settings
	name       string // the instance's name (state directory and lock)
	log        *ocf.Logger
	checkLevel int
	view       nodeView
	exe        string  // the binary, resolved and checked (checkInstalled)
	rec        *record // the running master's record, read on first use
	recErr     error   // why the record could not be read
	recRead    bool
	req        *ocf.Request // the action's request (nil in some tests): node, interval, the binary
	sum        *summary     // the running configuration's summary, read on first use
	viaMaster  bool         // the stats socket did not answer: ask through the master
	// peer judges who holds the stats socket (trustPeer; tests replace it).
	peer func(*unix.Ucred) error
}

// handle runs f on the instance the request's configuration describes.
func handle(f func(*op, context.Context) error) ocf.Handler {
	return func(ctx context.Context, r *ocf.Request) error {
		s, ok := r.Config.(*settings)
		if !ok {
			return fmt.Errorf("haproxy %s: no configuration", r.Action)
		}
		name, err := r.Name()
		if err != nil {
			return ocf.Configured("%w", err)
		}
		return f(&op{settings: s, name: name, log: r.Log, checkLevel: r.CheckLevel, view: hostView, req: r}, ctx)
	}
}

func (o *op) stateDir() string { return instance.StateDir(o.name) }

// statePath is where haproxy reads the global server state file: the
// configuration's own, or the agent's in the state directory.
func (o *op) statePath(c *Config) (string, error) {
	if c.ServerStateFile == "" {
		return filepath.Join(o.stateDir(), stateFile), nil
	}
	return c.ServerStatePath()
}

// stateFile is the agent's server state file in the state directory.
const stateFile = "servers.state"

// generatedConfig is the text of the generated configuration file.
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

// commandLineChanged reports whether the running master (pid master, ours)
// runs another binary or command line than this instance's, and what it
// runs.
func (o *op) commandLineChanged(master int) (string, bool) {
	pi, ok := o.id().check(master)
	if !ok {
		return "", false
	}
	changed := pi.Exe != o.exe || len(pi.Argv) == 0 || !slices.Equal(pi.Argv[1:], o.argv()[1:])
	return strings.Join(pi.Argv, " "), changed
}

// argv is the command line that starts this instance: the checked binary,
// the master socket, the pid file and the configuration directory.
func (o *op) argv() []string {
	a := []string{o.exe, "-W", "-D", "-S", o.socket + ",mode,600", "-p", o.pidfile, "-f", o.confDir()}
	return append(a, o.extraArgs...)
}
