package haproxy

import (
	"path/filepath"
	"strings"
	"time"

	"github.com/stackha/stackha/agents/internal/pcmktool"
	"github.com/stackha/stackha/instance"
	"github.com/stackha/stackha/ocf"
)

// settings are the instance's parameters, checked: what is wrong there is
// wrong everywhere (exit 6), and the runtime's one policy applies (a stop
// or probe works from the record instead).
type settings struct {
	binary      string // as set; resolved and checked before use (op.exe)
	configs     []string
	pidfile     string
	socket      string
	statsSocket string // as set; "" means from the configuration
	extraArgs   []string
	stopTimeout time.Duration
	backends    []string
	watch       bool // an event watcher reports the master's exit at once (watch.go)
	// listenAttr is the node attribute set to 1 while haproxy serves
	// here ("": none; listening.go).
	listenAttr string
}

// maxSocketPath is the longest path a unix socket address holds.
const maxSocketPath = 107

func splitList(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' || r == '\n' })
}

// configure is the agent's Configure: the parameters, parsed and checked
// by the runtime against their declaration, made into settings.
func configure(r *ocf.Request) (any, error) {
	name, err := r.Name()
	if err != nil {
		return nil, ocf.Configured("%w", err)
	}
	p := r.Params
	dir := instance.StateDir(name)
	s := &settings{
		binary:      p.String("binary"),
		configs:     splitList(p.String("config")),
		pidfile:     p.String("pidfile"),
		socket:      p.String("master_socket"),
		statsSocket: p.String("stats_socket"),
		stopTimeout: p.Duration("stop_timeout"), // within its declared range
		backends:    splitList(p.String("check_level_10_backends")),
		watch:       p.Bool("watch"),
		listenAttr:  p.String("node_attribute"),
	}
	if s.listenAttr != "" {
		if err := pcmktool.CheckAttrName(s.listenAttr); err != nil {
			return nil, ocf.Configured("node_attribute: %w", err)
		}
	}
	if err := checkGeneration(p.String("generation")); err != nil {
		return nil, ocf.Configured("generation: %w", err)
	}
	if s.pidfile == "" {
		s.pidfile = filepath.Join(dir, "haproxy.pid")
	}
	if s.socket == "" {
		s.socket = filepath.Join(dir, "master.sock")
	}
	if len(s.configs) == 0 {
		return nil, ocf.Configured("config is empty: name at least one haproxy configuration file")
	}
	for _, c := range s.configs {
		if !filepath.IsAbs(c) {
			return nil, ocf.Configured("config=%s: %s is not an absolute path", instance.Quote(p.String("config")), instance.Quote(c))
		}
	}
	for _, pp := range []struct{ name, v string }{{"binary", s.binary}, {"pidfile", s.pidfile}, {"master_socket", s.socket}, {"stats_socket", s.statsSocket}} {
		if pp.v == "" && pp.name == "stats_socket" {
			continue
		}
		if err := instance.CheckPath(pp.name, pp.v); err != nil {
			return nil, ocf.Configured("%w", err)
		}
	}
	if len(s.socket) > maxSocketPath {
		return nil, ocf.Configured("master_socket %s is longer than a unix socket path can be (%d bytes); set master_socket to a shorter path", instance.Quote(s.socket), maxSocketPath)
	}
	if strings.ContainsAny(s.socket, ", \t") {
		return nil, ocf.Configured("master_socket %s: a comma or blank cannot be passed to haproxy -S", instance.Quote(s.socket))
	}
	s.extraArgs = splitLine(p.String("extra_args"))
	if err := checkExtraArgs(s.extraArgs); err != nil {
		return nil, ocf.Configured("extra_args: %w", err)
	}
	return s, nil
}
