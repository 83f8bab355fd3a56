package render

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.yaml.in/yaml/v3"
)

// Topology is the one file an operator writes: the VIP, the controllers and
// the API services. Every field but vip and nodes has a default; the
// defaults reproduce the seed's cluster.
type Topology struct {
	VIP      VIP       `yaml:"vip"`
	Nodes    []Node    `yaml:"nodes"`
	Services []Service `yaml:"services"`
	HAProxy  HAProxy   `yaml:"haproxy"`
	Cluster  Cluster   `yaml:"cluster"`
	// Region is the keystone region of the endpoints (default RegionOne).
	Region string `yaml:"region"`
}

// VIP is the virtual address the API is reached at.
type VIP struct {
	Address string `yaml:"address"`
	Prefix  *int   `yaml:"prefix"`
	// NIC is optional: the vip agent finds the interface from the routing
	// table, as IPaddr2 does.
	NIC             string   `yaml:"nic"`
	MonitorInterval Duration `yaml:"monitor_interval"` // default 5s (the seed's)
	// Params are further parameters of the vip agent (arp_count, ...).
	Params map[string]string `yaml:"params"`
}

// Node is one controller.
type Node struct {
	Name    string `yaml:"name"`
	Address string `yaml:"address"`
}

// Service is one OpenStack API service run as a clone on every node.
type Service struct {
	Name string `yaml:"name"`
	Port int    `yaml:"port"` // default: the service's usual port
	// Legacy also balances the service's listener of older releases
	// (keystone admin 35357, nova EC2 8773). Default: on when the services
	// list is omitted (the seed's set), off otherwise.
	Legacy     *bool `yaml:"legacy"`
	LegacyPort int   `yaml:"legacy_port"`
	// RunMode is how the agent runs the service: systemd (default) or
	// process (the agent's run_mode).
	RunMode string `yaml:"run_mode"`
	// MonitorDepth 20 adds a second, deeper monitor (a keystone token and an
	// authenticated call) every DeepMonitorInterval to the depth-0 one.
	MonitorDepth        *int     `yaml:"monitor_depth"`         // 0 (default) or 20
	MonitorInterval     Duration `yaml:"monitor_interval"`      // default 10s
	DeepMonitorInterval Duration `yaml:"deep_monitor_interval"` // default 60s
	// Credentials is the file a depth-20 monitor reads (required there).
	Credentials string `yaml:"credentials"`
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
	MonitorInterval Duration `yaml:"monitor_interval"` // default 5s
	// MonitorDepth 10 adds a second monitor through the runtime API
	// (frontends open, a server up per backend) every DeepMonitorInterval.
	MonitorDepth        *int     `yaml:"monitor_depth"`         // 0 (default) or 10
	DeepMonitorInterval Duration `yaml:"deep_monitor_interval"` // default 30s
	// Params are further parameters of the haproxy agent.
	Params map[string]string `yaml:"params"`
}

// Check is haproxy's server health check.
type Check struct {
	Inter Duration `yaml:"inter"` // default 10s (the seed's)
	Rise  int      `yaml:"rise"`  // default 2
	Fall  int      `yaml:"fall"`  // default 3
}

// Timeouts are haproxy's.
type Timeouts struct {
	Connect Duration `yaml:"connect"` // default 10s
	Client  Duration `yaml:"client"`  // default 10s
	Server  Duration `yaml:"server"`  // default 10s
	Check   Duration `yaml:"check"`   // default: none (haproxy uses inter)
}

// Cluster holds the properties and resource defaults.
type Cluster struct {
	StonithEnabled     *bool     `yaml:"stonith_enabled"`     // default false (the seed's; see the README)
	NoQuorumPolicy     string    `yaml:"no_quorum_policy"`    // default ignore
	Stickiness         *int      `yaml:"stickiness"`          // default 100
	FailureTimeout     *Duration `yaml:"failure_timeout"`     // default 0: failures never expire
	MigrationThreshold *int      `yaml:"migration_threshold"` // default 10
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

// Defaults (the seed's values where it has one).
const (
	defaultPrefixV4      = 24
	defaultPrefixV6      = 64
	defaultRegion        = "RegionOne"
	defaultMode          = "systemd"
	defaultHAProxyConfig = "/etc/haproxy/haproxy.cfg"
	defaultBalance       = "roundrobin"
	defaultMaxConn       = 10000
	defaultRise          = 2
	defaultFall          = 3
	defaultNoQuorum      = "ignore"
	defaultStickiness    = 100
	defaultMigration     = 10
)

var (
	defaultVIPInterval         = Duration(5 * time.Second)
	defaultHAProxyInterval     = Duration(5 * time.Second)
	defaultAPIInterval         = Duration(10 * time.Second)
	defaultAPIDeepInterval     = Duration(60 * time.Second)
	defaultHAProxyDeepInterval = Duration(30 * time.Second)
	defaultInter               = Duration(10 * time.Second)
	defaultTimeout             = Duration(10 * time.Second)
)

var (
	paramNamePattern  = lazyRegexp(`^[a-z][a-z0-9_]{0,62}$`)
	paramValuePattern = lazyRegexp(`^[A-Za-z0-9._/:@,+=-]*$`)
	nodeNamePattern   = lazyRegexp(`^[A-Za-z0-9]([A-Za-z0-9._-]{0,62})$`)
	pathPattern       = lazyRegexp(`^/[A-Za-z0-9._/+-]*$`)
	regionPattern     = lazyRegexp(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)
	nicPattern        = lazyRegexp(`^[A-Za-z0-9][A-Za-z0-9._-]{0,14}$`)
	balances          = []string{"roundrobin", "static-rr", "leastconn", "first", "source"}
	noQuorum          = []string{"ignore", "stop", "freeze", "demote"}
	modes             = []string{"systemd", "process"}
)

var goType = lazyRegexp(` in type render\.(\w+)`)

// sections names each type's place in the topology file.
var sections = map[string]string{
	"Topology": "the top level", "VIP": "vip", "Node": "nodes[]", "Service": "services[]",
	"HAProxy": "haproxy", "Check": "haproxy.check", "Timeouts": "haproxy.timeouts", "Cluster": "cluster",
}

// Parse reads a topology (YAML), fills the defaults and validates it.
// Unknown fields are errors. Every problem found is reported, each naming
// its field.
func Parse(r io.Reader) (*Topology, error) {
	var t Topology
	dec := yaml.NewDecoder(r)
	dec.KnownFields(true)
	if err := dec.Decode(&t); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("topology: empty file")
		}
		// yaml names Go types ("field x not found in type render.VIP"):
		// say which section of the file instead.
		msg := goType().ReplaceAllStringFunc(err.Error(), func(m string) string {
			return " in " + sections[goType().FindStringSubmatch(m)[1]]
		})
		return nil, fmt.Errorf("topology: %s", strings.Replace(msg, "yaml: unmarshal errors:", "unknown or mistyped keys:", 1))
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return nil, errors.New("topology: more than one YAML document")
	}
	if err := t.complete(); err != nil {
		return nil, err
	}
	return &t, nil
}

// ParseBytes is Parse on a byte slice.
func ParseBytes(b []byte) (*Topology, error) { return Parse(bytes.NewReader(b)) }

// resolved is the topology after defaults, in the form the renderers use.
type resolved struct {
	vip              netip.Prefix // the VIP's address with its prefix
	vipNIC           string
	vipEvery         Duration
	vipExtra         [][2]string
	haproxyExtra     [][2]string
	haproxyDeepEvery Duration
	nodes            []resolvedNode
	services         []resolvedService
	t                *Topology
}

type resolvedNode struct {
	name string
	addr netip.Addr
}

type resolvedService struct {
	profile
	port        int
	legacyPort  int // 0: no legacy listener
	mode        string
	depth       int
	every       Duration
	deepEvery   Duration // with depth > 0
	credentials string
	extra       [][2]string
}

func (s resolvedService) listeners() []listener {
	l := []listener{{name: s.main.name, port: s.port, check: s.main.check}}
	if s.legacyPort != 0 {
		l = append(l, listener{name: s.legacy.name, port: s.legacyPort, check: s.legacy.check})
	}
	return l
}

// complete fills the defaults and checks everything.
func (t *Topology) complete() error {
	_, err := t.resolve()
	return err
}

func oneOf(v string, set []string) bool {
	for _, s := range set {
		if v == s {
			return true
		}
	}
	return false
}

// resolve fills defaults in t and returns the resolved form, or every error.
func (t *Topology) resolve() (*resolved, error) {
	var errs []error
	bad := func(field, format string, a ...any) {
		errs = append(errs, fmt.Errorf("topology: %s: %s", field, fmt.Sprintf(format, a...)))
	}
	r := &resolved{t: t}

	// vip
	vipOK := false
	if t.VIP.Address == "" {
		bad("vip.address", "required (the virtual IP the API is reached at)")
	} else if a, err := netip.ParseAddr(t.VIP.Address); err != nil || a.Zone() != "" {
		bad("vip.address", "%q is not an IP address", t.VIP.Address)
	} else {
		a = a.Unmap()
		t.VIP.Address = a.String()
		if t.VIP.Prefix == nil {
			p := defaultPrefixV4
			if a.Is6() {
				p = defaultPrefixV6
			}
			t.VIP.Prefix = &p
		}
		switch {
		case *t.VIP.Prefix < 1 || *t.VIP.Prefix > a.BitLen():
			bad("vip.prefix", "%d is out of range 1-%d for %s", *t.VIP.Prefix, a.BitLen(), a)
		case !a.IsGlobalUnicast():
			bad("vip.address", "%s is not a unicast address a VIP can be", a)
		default:
			r.vip = netip.PrefixFrom(a, *t.VIP.Prefix)
			net := r.vip.Masked().Addr()
			switch {
			case a == net && *t.VIP.Prefix < a.BitLen()-1:
				bad("vip.address", "%s is the network address of %s", a, r.vip.Masked())
			case a.Is4() && *t.VIP.Prefix < 31 && a == lastAddr(r.vip):
				bad("vip.address", "%s is the broadcast address of %s", a, r.vip.Masked())
			default:
				vipOK = true
			}
		}
	}
	if t.VIP.NIC != "" && (!nicPattern().MatchString(t.VIP.NIC)) {
		bad("vip.nic", "%q is not an interface name (up to 15 letters, digits, '.', '_' or '-')", t.VIP.NIC)
	}
	r.vipNIC = t.VIP.NIC
	if t.VIP.MonitorInterval == 0 {
		t.VIP.MonitorInterval = defaultVIPInterval
	}
	r.vipEvery = t.VIP.MonitorInterval
	r.vipExtra = extraParams(bad, "vip.params", t.VIP.Params, paramVIPAddress, paramVIPPrefix, paramVIPNIC)

	// nodes
	if len(t.Nodes) == 0 {
		bad("nodes", "at least one node is required (name and address of each controller)")
	}
	names := map[string]int{}
	addrs := map[netip.Addr]int{}
	for i, n := range t.Nodes {
		f := fmt.Sprintf("nodes[%d]", i)
		switch {
		case n.Name == "":
			bad(f+".name", "required")
		case !nodeNamePattern().MatchString(n.Name):
			bad(f+".name", "%q is not a host name (letters, digits, '.', '_', '-'; up to 63)", n.Name)
		default:
			if j, dup := names[strings.ToLower(n.Name)]; dup {
				bad(f+".name", "duplicate node %q (also nodes[%d])", n.Name, j)
			}
			names[strings.ToLower(n.Name)] = i
		}
		a, err := netip.ParseAddr(n.Address)
		switch {
		case n.Address == "":
			bad(f+".address", "required")
			continue
		case err != nil || a.Zone() != "":
			bad(f+".address", "%q is not an IP address", n.Address)
			continue
		}
		a = a.Unmap()
		if j, dup := addrs[a]; dup {
			bad(f+".address", "duplicate address %s (also nodes[%d])", a, j)
		}
		addrs[a] = i
		if vipOK {
			switch {
			case !r.vip.Masked().Contains(a):
				bad(f+".address", "%s is not in the VIP's subnet %s", a, r.vip.Masked())
			case a == r.vip.Addr():
				bad(f+".address", "%s is the VIP itself", a)
			case a == r.vip.Masked().Addr() && r.vip.Bits() < a.BitLen()-1:
				bad(f+".address", "%s is the network address of %s", a, r.vip.Masked())
			case a.Is4() && r.vip.Bits() < 31 && a == lastAddr(r.vip):
				bad(f+".address", "%s is the broadcast address of %s", a, r.vip.Masked())
			}
		}
		r.nodes = append(r.nodes, resolvedNode{name: n.Name, addr: a})
	}

	// services
	if t.Services == nil {
		for _, s := range seedServices {
			svc := Service{Name: s}
			if catalog[s].legacy != nil {
				on := true
				svc.Legacy = &on
			}
			t.Services = append(t.Services, svc)
		}
	}
	if len(t.Services) == 0 {
		bad("services", "empty: name at least one service, or leave the key out for the seed's set")
	}
	seen := map[string]int{}
	ports := map[int]string{}
	for i, s := range t.Services {
		f := fmt.Sprintf("services[%d]", i)
		name := s.Name
		if n, ok := aliases[name]; ok {
			name = n
		}
		p, ok := catalog[name]
		if !ok {
			if s.Name == "" {
				bad(f+".name", "required (one of %s)", strings.Join(serviceNames(), ", "))
			} else {
				bad(f+".name", "unknown service %q (known: %s)", s.Name, strings.Join(serviceNames(), ", "))
			}
			continue
		}
		if j, dup := seen[name]; dup {
			bad(f+".name", "service %q listed twice (also services[%d])", name, j)
			continue
		}
		seen[name] = i
		rs := resolvedService{profile: p, port: p.main.port, mode: defaultMode, every: defaultAPIInterval, credentials: s.Credentials}
		if s.Port != 0 {
			if s.Port < 1 || s.Port > 65535 {
				bad(f+".port", "%d is out of range 1-65535", s.Port)
			}
			rs.port = s.Port
		}
		if s.Legacy != nil && *s.Legacy {
			if p.legacy == nil {
				bad(f+".legacy", "%s has no legacy listener", name)
			} else {
				rs.legacyPort = p.legacy.port
			}
		}
		if s.LegacyPort != 0 {
			switch {
			case p.legacy == nil:
				bad(f+".legacy_port", "%s has no legacy listener", name)
			case s.Legacy == nil || !*s.Legacy:
				bad(f+".legacy_port", "set, but legacy is not true")
			case s.LegacyPort < 1 || s.LegacyPort > 65535:
				bad(f+".legacy_port", "%d is out of range 1-65535", s.LegacyPort)
			default:
				rs.legacyPort = s.LegacyPort
			}
		}
		for _, l := range []struct {
			field string
			port  int
		}{{f + ".port", rs.port}, {f + ".legacy_port", rs.legacyPort}} {
			if l.port == 0 {
				continue
			}
			if other, clash := ports[l.port]; clash {
				bad(l.field, "port %d clashes with %s", l.port, other)
			} else {
				ports[l.port] = fmt.Sprintf("%s (%s)", l.field, name)
			}
		}
		if s.RunMode != "" {
			if !oneOf(s.RunMode, modes) {
				bad(f+".run_mode", "%q: want systemd or process", s.RunMode)
			}
			rs.mode = s.RunMode
		}
		if s.MonitorDepth != nil {
			if *s.MonitorDepth != 0 && *s.MonitorDepth != 20 {
				bad(f+".monitor_depth", "%d: want 0 or 20", *s.MonitorDepth)
			}
			rs.depth = *s.MonitorDepth
		}
		if s.MonitorInterval != 0 {
			rs.every = s.MonitorInterval
		}
		rs.deepEvery = deepInterval(bad, f, rs.depth, rs.every, s.DeepMonitorInterval, defaultAPIDeepInterval)
		switch {
		case s.Credentials != "" && !pathPattern().MatchString(s.Credentials):
			bad(f+".credentials", "%q is not an absolute path of plain characters", s.Credentials)
		case s.Credentials == "" && rs.depth == 20:
			bad(f+".credentials", "required with monitor_depth 20 (the file holding the keystone credentials)")
		}
		rs.extra = extraParams(bad, f+".params", s.Params, paramMode, paramPort, paramURL, paramCredentials)
		r.services = append(r.services, rs)
	}

	// haproxy
	h := &t.HAProxy
	if h.Config == "" {
		h.Config = defaultHAProxyConfig
	} else if !pathPattern().MatchString(h.Config) {
		bad("haproxy.config", "%q is not an absolute path of plain characters", h.Config)
	}
	if h.Balance == "" {
		h.Balance = defaultBalance
	} else if !oneOf(h.Balance, balances) {
		bad("haproxy.balance", "%q: want one of %s", h.Balance, strings.Join(balances, ", "))
	}
	if h.MaxConn == 0 {
		h.MaxConn = defaultMaxConn
	} else if h.MaxConn < 0 {
		bad("haproxy.maxconn", "%d is negative", h.MaxConn)
	}
	if h.Check.Inter == 0 {
		h.Check.Inter = defaultInter
	}
	if h.Check.Rise == 0 {
		h.Check.Rise = defaultRise
	} else if h.Check.Rise < 0 {
		bad("haproxy.check.rise", "%d is negative", h.Check.Rise)
	}
	if h.Check.Fall == 0 {
		h.Check.Fall = defaultFall
	} else if h.Check.Fall < 0 {
		bad("haproxy.check.fall", "%d is negative", h.Check.Fall)
	}
	for _, d := range []*Duration{&h.Timeouts.Connect, &h.Timeouts.Client, &h.Timeouts.Server} {
		if *d == 0 {
			*d = defaultTimeout
		}
	}
	if h.MonitorInterval == 0 {
		h.MonitorInterval = defaultHAProxyInterval
	}
	r.haproxyExtra = extraParams(bad, "haproxy.params", h.Params, paramHAProxyConfig)
	if h.MonitorDepth == nil {
		z := 0
		h.MonitorDepth = &z
	} else if *h.MonitorDepth != 0 && *h.MonitorDepth != 10 {
		bad("haproxy.monitor_depth", "%d: want 0 or 10", *h.MonitorDepth)
	}
	r.haproxyDeepEvery = deepInterval(bad, "haproxy", *h.MonitorDepth, h.MonitorInterval, h.DeepMonitorInterval, defaultHAProxyDeepInterval)

	// cluster
	c := &t.Cluster
	if c.StonithEnabled == nil {
		f := false
		c.StonithEnabled = &f
	}
	if c.NoQuorumPolicy == "" {
		c.NoQuorumPolicy = defaultNoQuorum
	} else if !oneOf(c.NoQuorumPolicy, noQuorum) {
		bad("cluster.no_quorum_policy", "%q: want one of %s", c.NoQuorumPolicy, strings.Join(noQuorum, ", "))
	}
	if c.Stickiness == nil {
		v := defaultStickiness
		c.Stickiness = &v
	}
	if c.FailureTimeout == nil {
		var z Duration
		c.FailureTimeout = &z
	}
	if c.MigrationThreshold == nil {
		v := defaultMigration
		c.MigrationThreshold = &v
	} else if *c.MigrationThreshold < 0 {
		bad("cluster.migration_threshold", "%d is negative", *c.MigrationThreshold)
	}

	if t.Region == "" {
		t.Region = defaultRegion
	} else if !regionPattern().MatchString(t.Region) {
		bad("region", "%q: want letters, digits, '.', '_' or '-'", t.Region)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return r, nil
}

// deepInterval checks the interval of a deeper second monitor: set only
// with a depth, and not the first monitor's (Pacemaker tells a resource's
// monitors apart by their interval).
func deepInterval(bad func(field, format string, a ...any), f string, depth int, every, set, def Duration) Duration {
	switch {
	case depth == 0 && set != 0:
		bad(f+".deep_monitor_interval", "set, but monitor_depth is 0")
		return 0
	case depth == 0:
		return 0
	case set == 0:
		set = def
	}
	if set == every {
		bad(f+".deep_monitor_interval", "%s is also monitor_interval; Pacemaker needs two different intervals", set)
	}
	return set
}

// extraParams checks a params map and returns it sorted by name; the
// parameters this package sets itself (taken) come from their own fields.
func extraParams(bad func(field, format string, a ...any), field string, m map[string]string, taken ...string) [][2]string {
	var out [][2]string
	for k, v := range m {
		switch {
		case !paramNamePattern().MatchString(k):
			bad(field, "%q is not a parameter name (lower case letters, digits, '_')", k)
		case oneOf(k, taken):
			bad(field+"."+k, "set by the topology's own field, not here")
		case !paramValuePattern().MatchString(v):
			bad(field+"."+k, "%q: want letters, digits and ._/:@,+=- only", v)
		default:
			out = append(out, [2]string{k, v})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i][0] < out[j][0] })
	return out
}

// lastAddr is the highest address of p's subnet.
func lastAddr(p netip.Prefix) netip.Addr {
	b := p.Masked().Addr().AsSlice()
	for i := p.Bits(); i < len(b)*8; i++ {
		b[i/8] |= 0x80 >> (i % 8)
	}
	a, _ := netip.AddrFromSlice(b)
	return a
}

// lazyRegexp compiles on first use: this package is linked into every agent
// run, and compiling at init cost each one about 0.2 ms.
func lazyRegexp(expr string) func() *regexp.Regexp {
	return sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(expr) })
}
