package render

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Topology is the one file an operator writes: the VIP, the controllers,
// the API services and, for production, the fencing devices. Every field
// but vip and nodes has a default; without fencing the defaults give the
// how-to's lab shape (crm/examples/seed.yaml).
type Topology struct {
	// VIP is the one virtual address of every endpoint; VIPs, instead,
	// several (public, internal, admin: vips.go).
	VIP      VIP       `yaml:"vip"`
	VIPs     []VIP     `yaml:"vips"`
	Nodes    []Node    `yaml:"nodes"`
	Services []Service `yaml:"services"`
	HAProxy  HAProxy   `yaml:"haproxy"`
	Cluster  Cluster   `yaml:"cluster"`
	Fencing  Fencing   `yaml:"fencing"`
	Corosync Corosync  `yaml:"corosync"`
	// Database and Messaging are the stateful tier (stateful.go): nil, the
	// services' own configuration as before.
	Database  *Database  `yaml:"database"`
	Messaging *Messaging `yaml:"messaging"`
	// Region is the keystone region of the endpoints (default RegionOne).
	Region string `yaml:"region"`

	// resolved is what Parse made of the file (defaults filled, every
	// field checked), rendered by Render without checking it again.
	resolved *resolved
}

// VIP is a virtual address the API is reached at.
type VIP struct {
	// Name, in vips only: public, internal, admin or another name; the
	// catalog's public endpoints are on public, internal and admin on
	// internal (admin on admin when there is one).
	Name    string `yaml:"name"`
	Address string `yaml:"address"`
	// DNSName is the host name the catalog's endpoints on this VIP use
	// (default: the address).
	DNSName string `yaml:"dns_name"`
	// TLS terminates TLS on this VIP in haproxy (tls.go).
	TLS    *TLS `yaml:"tls"`
	Prefix *int `yaml:"prefix"`
	// NIC is optional: the vip agent finds the interface from the routing
	// table, as IPaddr2 does.
	NIC             string   `yaml:"nic"`
	MonitorInterval Duration `yaml:"monitor_interval"` // default 1s (cheap: one netlink dump)
	// Params are further parameters of the vip agent (arp_count, ...).
	Params map[string]string `yaml:"params"`
}

// Node is one controller (a cluster has 2 to 16).
type Node struct {
	// Name is the node's name in corosync and Pacemaker (its uname).
	Name string `yaml:"name"`
	// Address is where its API services listen, in the VIP's subnet.
	Address string `yaml:"address"`
	// Ring0Addr is its address on corosync's first link (default Address).
	Ring0Addr string `yaml:"ring0_addr"`
	// Ring1Addr is its address on an optional second link, given for
	// every node or for none.
	Ring1Addr string `yaml:"ring1_addr"`
	// ManagementAddress is where its haproxy serves statistics and
	// metrics (default Address); never a VIP.
	ManagementAddress string `yaml:"management_address"`
}

// Service is one OpenStack API service run as a clone on every node.
type Service struct {
	Name string `yaml:"name"`
	Port int    `yaml:"port"` // default: the service's usual port
	// Legacy also balances the service's listener of older releases
	// (keystone admin 35357, nova EC2 8773), which Debian 12's services no
	// longer serve. Default: off.
	Legacy     *bool `yaml:"legacy"`
	LegacyPort int   `yaml:"legacy_port"`
	// RunMode is how the agent runs the service: systemd (default) or
	// process (the agent's run_mode).
	RunMode string `yaml:"run_mode"`
	// MonitorDepth 20 adds a second, deeper monitor (a keystone token and an
	// authenticated call) every DeepMonitorInterval to the depth-0 one.
	MonitorDepth        *int     `yaml:"monitor_depth"`         // 0 (default) or 20
	MonitorInterval     Duration `yaml:"monitor_interval"`      // default 2s (with probe_timeout 2s: a hang found in at most 4s)
	DeepMonitorInterval Duration `yaml:"deep_monitor_interval"` // default 60s
	// TimeoutServer is haproxy's timeout server for this service's
	// backends (default: haproxy.timeouts.server when set, else the
	// service's own: 60s, longer for glance-api, neutron-server, heat-api).
	TimeoutServer Duration `yaml:"timeout_server"`
	// Credentials is the file a depth-20 monitor reads (required there).
	Credentials string `yaml:"credentials"`
	// DrainTimeout is how long the agent's stop waits for the requests
	// the service holds once every haproxy has taken it out (drain.go).
	// Default 20s for a service with oslo's healthcheck; 0: no drain.
	DrainTimeout *Duration `yaml:"drain_timeout"`
	// DrainAgentPort is, for a service without oslo's healthcheck
	// (placement), the port of the drain agent haproxy's agent-check asks
	// on each node (default: the catalog's, placement 18778).
	DrainAgentPort int `yaml:"drain_agent_port"`
	// VIPs are the names of the vips haproxy serves it on (default: every
	// one); with vip, the one VIP.
	VIPs []string `yaml:"vips"`
	// Params are further parameters of the service's agent.
	Params map[string]string `yaml:"params"`
}

// HAProxy holds the load balancer's settings.
type HAProxy struct {
	Config          string   `yaml:"config"`  // path on the nodes; default /etc/haproxy/haproxy.cfg
	Balance         string   `yaml:"balance"` // default roundrobin
	MaxConn         int      `yaml:"maxconn"` // default 10000
	Check           Check    `yaml:"check"`
	Timeouts        Timeouts `yaml:"timeouts"`
	MonitorInterval Duration `yaml:"monitor_interval"` // default 1s
	// MonitorDepth 10 adds a second monitor through the runtime API
	// (frontends open, a server up per backend) every DeepMonitorInterval.
	MonitorDepth        *int     `yaml:"monitor_depth"`         // 0 (default) or 10
	DeepMonitorInterval Duration `yaml:"deep_monitor_interval"` // default 30s
	// Params are further parameters of the haproxy agent.
	Params map[string]string `yaml:"params"`
	// Stats is each node's statistics and Prometheus frontend; Log where
	// haproxy sends its log lines (observe.go).
	Stats Stats  `yaml:"stats"`
	Log   string `yaml:"log"`
	// BackendTLS re-encrypts what haproxy sends the services, which serve
	// https on the nodes (tls_backend.go); nil: plain HTTP on the nodes.
	BackendTLS *BackendTLS `yaml:"backend_tls"`
}

// Stats is the frontend of haproxy's statistics page (/stats) and
// Prometheus metrics (/metrics) on each node's management address.
type Stats struct {
	Port *int `yaml:"port"` // default 8404; 0: no such frontend
	// Allow are the addresses or prefixes (a Prometheus server, a
	// management network) allowed besides the nodes and loopback.
	Allow []string `yaml:"allow"`
}

// Check is haproxy's server health check (every server's default-server).
type Check struct {
	Inter     Duration `yaml:"inter"`     // default 1s
	FastInter Duration `yaml:"fastinter"` // default 250ms: while a server changes state
	DownInter Duration `yaml:"downinter"` // default 1s: while a server is out
	Rise      int      `yaml:"rise"`      // default 2
	Fall      int      `yaml:"fall"`      // default 2
}

// Timeouts are haproxy's.
type Timeouts struct {
	Connect Duration `yaml:"connect"` // default 250ms
	Client  Duration `yaml:"client"`  // default 60s
	Server  Duration `yaml:"server"`  // default (0): each service's own (60s for most)
	Check   Duration `yaml:"check"`   // default 500ms
}

// Cluster holds the properties and resource defaults.
type Cluster struct {
	StonithEnabled     *bool     `yaml:"stonith_enabled"`     // default: true with fencing devices, else false (the how-to's)
	NoQuorumPolicy     string    `yaml:"no_quorum_policy"`    // default: stop with fencing devices, else ignore (the how-to's)
	Stickiness         *int      `yaml:"stickiness"`          // default 100
	FailureTimeout     *Duration `yaml:"failure_timeout"`     // default 0: failures never expire
	MigrationThreshold *int      `yaml:"migration_threshold"` // default 10
	// TransitionDelay is Pacemaker's transition-delay. Default: 100ms with
	// fencing devices (a lost node is fenced about 1 s sooner, see
	// transitionDelayComment), else not written (Pacemaker's 0s).
	TransitionDelay *Duration `yaml:"transition_delay"`
}

// Duration is a time span written as Go and HAProxy write it: 10s, 500ms, 2m.
type Duration time.Duration

// UnmarshalYAML reads "10s"; a bare 0 is accepted.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("line %d: want a duration such as 10s", n.Line)
	}
	if n.Value == "0" {
		*d = 0
		return nil
	}
	v, err := time.ParseDuration(n.Value)
	if err != nil {
		return fmt.Errorf("line %d: %q is not a duration such as 10s or 500ms", n.Line, n.Value)
	}
	if v < 0 {
		return fmt.Errorf("line %d: duration %q is negative", n.Line, n.Value)
	}
	if v%time.Millisecond != 0 {
		return fmt.Errorf("line %d: duration %q is finer than a millisecond", n.Line, n.Value)
	}
	*d = Duration(v)
	return nil
}

// String writes the duration in whole seconds when it is, else in
// milliseconds: a form Pacemaker and HAProxy both read.
func (d Duration) String() string {
	v := time.Duration(d)
	if v%time.Second == 0 {
		return strconv.FormatInt(int64(v/time.Second), 10) + "s"
	}
	return strconv.FormatInt(int64(v/time.Millisecond), 10) + "ms"
}

// Defaults: the how-to's values for the cluster's properties, resource
// defaults and names; monitor intervals and haproxy's checks and timeouts
// chosen to find a failed service in seconds (crm/README.md explains each).
const (
	defaultPrefixV4      = 24
	defaultPrefixV6      = 64
	defaultRegion        = "RegionOne"
	defaultMode          = "systemd"
	defaultHAProxyConfig = "/etc/haproxy/haproxy.cfg"
	defaultBalance       = "roundrobin"
	defaultMaxConn       = 10000
	defaultRise          = 2
	defaultFall          = 2
	defaultNoQuorum      = "ignore"
	fencedNoQuorum       = "stop"
	defaultStickiness    = 100
	defaultMigration     = 10
	// fencedTransitionDelay: long enough for the DC's own CIB updates of a
	// lost node (about 40 ms on the harness) to finish first.
	fencedTransitionDelay = Duration(100 * time.Millisecond)
	// maxTransitionDelay bounds cluster.transition_delay: every transition
	// waits this long.
	maxTransitionDelay = Duration(5 * time.Second)
)

const (
	// The monitors' intervals.
	defaultVIPInterval         = Duration(1 * time.Second)
	defaultHAProxyInterval     = Duration(1 * time.Second)
	defaultAPIInterval         = Duration(2 * time.Second)
	defaultAPIDeepInterval     = Duration(60 * time.Second)
	defaultHAProxyDeepInterval = Duration(30 * time.Second)
	defaultServerTimeout       = Duration(60 * time.Second) // haproxy's, for most APIs
)

// haproxy's health checks and timeouts (static data: no init work).
var (
	defaultCheck = Check{Inter: Duration(time.Second), FastInter: Duration(250 * time.Millisecond), DownInter: Duration(time.Second),
		Rise: defaultRise, Fall: defaultFall}
	defaultTimeouts = Timeouts{Connect: Duration(250 * time.Millisecond), Client: Duration(60 * time.Second), Check: Duration(500 * time.Millisecond)}
)

// goType finds the Go types yaml names in its errors: "field x not found
// in type render.VIP", "cannot unmarshal !!str `x` into []render.Service".
var goType = &lazyRegexp{expr: ` (in type|into) (\[\])?render\.(\w+)`}

// fileTerms says a yaml error in the topology's terms: the section, and
// whether a list or a mapping was wanted, instead of the Go type.
func fileTerms(msg string) string {
	return goType.re().ReplaceAllStringFunc(msg, func(m string) string {
		g := goType.re().FindStringSubmatch(m)
		switch {
		case g[1] == "in type":
			return " in " + section(g[3])
		case g[2] == "[]":
			return " into the list " + section(g[3])
		}
		return " into the mapping " + section(g[3])
	})
}

// section names a type's place in the topology file.
func section(goType string) string {
	return map[string]string{
		"Topology": "the top level", "VIP": "vip (or vips[])", "Node": "nodes[]", "Service": "services[]",
		"HAProxy": "haproxy", "Check": "haproxy.check", "Timeouts": "haproxy.timeouts", "Cluster": "cluster",
		"Fencing": "fencing", "Device": "fencing.devices[]", "Corosync": "corosync",
		"Database": "database", "Messaging": "messaging", "TLS": "vip.tls",
		"BackendTLS": "haproxy.backend_tls",
	}[goType]
}

// MaxTopologySize is the largest topology file Parse reads (1 MiB).
const MaxTopologySize = 1 << 20

// Parse reads a topology (YAML), fills the defaults and validates it.
// Unknown fields are errors. Every problem found is reported, each naming
// its field.
func Parse(r io.Reader) (*Topology, error) {
	// A topology is a few KiB; the cap keeps a wrong file (an image, a
	// log) from costing seconds and hundreds of MiB before it fails.
	b, err := io.ReadAll(io.LimitReader(r, MaxTopologySize+1))
	if err != nil {
		return nil, fmt.Errorf("topology: %w", err)
	}
	if len(b) > MaxTopologySize {
		return nil, fmt.Errorf("topology: larger than %d bytes (1 MiB), the cap on a topology file: not read", MaxTopologySize)
	}
	var t Topology
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&t); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("topology: empty file")
		}
		msg := fileTerms(err.Error())
		return nil, fmt.Errorf("topology: %s", strings.Replace(msg, "yaml: unmarshal errors:", "unknown or mistyped keys:", 1))
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return nil, errors.New("topology: more than one YAML document")
	}
	res, err := t.resolve()
	if err != nil {
		return nil, err
	}
	t.resolved = res
	return &t, nil
}

// ParseBytes is Parse on a byte slice.
func ParseBytes(b []byte) (*Topology, error) { return Parse(bytes.NewReader(b)) }
