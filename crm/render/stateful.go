package render

import (
	"fmt"
	"net/netip"
	"strings"
	"time"
)

// The stateful tier: the database and the message queue the API services
// keep their state in. Each is either a server outside the cluster (its
// address) or a cluster on the controllers run by resource-agents' own
// agents: MariaDB Galera as a promotable clone (ocf:heartbeat:galera) behind
// haproxy's mysql listener on the VIP, RabbitMQ as a clone
// (ocf:heartbeat:rabbitmq-cluster). docs/stateful.md explains each choice.

// Database is where the services' databases are. Without the section the
// services are configured by hand, as before.
type Database struct {
	// External is the host name or address of a database server outside
	// the cluster; empty: a Galera cluster on the controllers.
	External string `yaml:"external"`
	// Port is the external server's port, or, for Galera, every node's
	// mysqld and the VIP's mysql listener (default 3306).
	Port int `yaml:"port"`
	// PasswordDir is a root-only directory on every node holding one file
	// per database user, <project>.pw (keystone.pw, nova.pw, ...), the
	// password on its first line. Required. Read on the node only, by
	// nodes/<node>/openstack-conf.sh: no password is in any rendered file.
	PasswordDir string `yaml:"password_dir"`
	// CheckPort is where each node answers haproxy's Galera sync check
	// (default 9200, as TripleO's clustercheck). Galera only.
	CheckPort int `yaml:"check_port"`
	// MonitorInterval is the promoted instances' monitor (default 10s); the
	// unpromoted ones are monitored three times less often. Galera only.
	MonitorInterval Duration `yaml:"monitor_interval"`
}

// Messaging is the message queue (RabbitMQ) of the services that use one.
type Messaging struct {
	// External are the RabbitMQ hosts of a cluster outside this one;
	// empty: a RabbitMQ cluster on the controllers.
	External []string `yaml:"external"`
	Port     int      `yaml:"port"` // default 5672
	// User is the RabbitMQ user every service connects as (default
	// openstack).
	User string `yaml:"user"`
	// PasswordFile is a root-only file on every node holding the user's
	// password (first line). Required; read on the node only.
	PasswordFile string `yaml:"password_file"`
	// Queues is how queues survive a node: mirrored (classic mirrored
	// queues, the HA policy the agent sets; the default) or quorum
	// (quorum queues; not on two nodes, where one stops with either node).
	// The default is mirrored because resource-agents' rabbitmq-cluster
	// forgets a node that left and wipes it before it joins again, and
	// RabbitMQ 3.10 (Debian 12) never adds it back to a quorum queue's
	// members: each node lost shrinks every quorum queue for good
	// (docs/stateful.md, measured by the harness's faults 16 and 17).
	Queues string `yaml:"queues"`
	// MonitorInterval is the rabbitmq resource's monitor (default 10s).
	MonitorInterval Duration `yaml:"monitor_interval"`
}

const (
	defaultDBPort       = 3306
	defaultCheckPort    = 9200
	defaultMQPort       = 5672
	defaultMQUser       = "openstack"
	defaultDBInterval   = Duration(10 * time.Second)
	defaultMQInterval   = Duration(10 * time.Second)
	queuesQuorum        = "quorum"
	queuesMirrored      = "mirrored"
	minStatefulMonitor  = Duration(5 * time.Second) // each run starts a mysql client or rabbitmqctl (an Erlang VM)
	maxStatefulMonitor  = Duration(time.Hour)
	minGaleraNodes      = 3 // Galera keeps a primary component with a majority only
	unpromotedIntervalX = 3
)

var (
	hostPattern = &lazyRegexp{expr: `^[A-Za-z0-9]([A-Za-z0-9.-]{0,252})$`}
	userPattern = &lazyRegexp{expr: `^[A-Za-z][A-Za-z0-9_-]{0,31}$`}
	queueKinds  = []string{queuesQuorum, queuesMirrored}
	// rabbitPorts are the ports RabbitMQ takes on every node besides its
	// AMQP port: epmd and the Erlang distribution.
	rabbitPorts = []int{4369, 25672}
)

// resolvedDB is the database as the renderers write it.
type resolvedDB struct {
	galera      bool
	host        string // the external server, or the VIP
	port        int
	checkPort   int
	passwordDir string
	every       Duration
}

// resolvedMQ is the message queue as the renderers write it.
type resolvedMQ struct {
	cluster      bool
	hosts        []string // the hosts in transport_url
	port         int
	user         string
	passwordFile string
	queues       string
	every        Duration
}

// stateProfile is what a service keeps in the stateful tier: the project
// (its /etc/<project> directory, database user and group), its databases
// (the option's section and the database name) and whether it uses the
// message queue. A function, not a map: no init work (see lazyRegexp).
func stateProfile(name string) (project string, dbs [][2]string, queue bool) {
	switch name {
	case "keystone":
		return "keystone", [][2]string{{"database", "keystone"}}, false
	case "glance-api", "glance-registry":
		return "glance", [][2]string{{"database", "glance"}}, false
	case "nova-api", "nova-metadata":
		return "nova", [][2]string{{"database", "nova"}, {"api_database", "nova_api"}}, true
	case "cinder-api":
		return "cinder", [][2]string{{"database", "cinder"}}, true
	case "neutron-server":
		return "neutron", [][2]string{{"database", "neutron"}}, true
	case "placement-api":
		return "placement", [][2]string{{"placement_database", "placement"}}, false
	case "heat-api":
		return "heat", [][2]string{{"database", "heat"}}, true
	}
	return "", nil, false
}

// stateful resolves the database and messaging sections; the services,
// the VIP and the nodes are resolved before.
func (x *resolver) stateful() {
	taken := map[int]string{}
	for _, s := range x.r.services {
		for _, l := range s.listeners() {
			taken[l.port] = s.name
		}
	}
	if d := x.t.Database; d != nil {
		x.database(d, taken)
	}
	if m := x.t.Messaging; m != nil {
		x.messaging(m, taken)
	}
}

// port fills a port's default and checks its range and that no service
// (or an earlier port of this tier, in taken) has it.
func (x *resolver) port(field string, v *int, def int, taken map[int]string, what string) {
	if *v == 0 {
		*v = def
	}
	if *v < 1 || *v > 65535 {
		x.bad.add(field, "%d is out of range 1-65535", *v)
		return
	}
	if other, clash := taken[*v]; clash {
		x.bad.add(field, "port %d clashes with %s", *v, other)
		return
	}
	taken[*v] = what
}

func (x *resolver) database(d *Database, taken map[int]string) {
	db := &resolvedDB{galera: d.External == ""}
	switch {
	case d.PasswordDir == "":
		x.bad.add("database.password_dir", "required: a root-only directory on every node holding <project>.pw for each service's database user")
	case !pathPattern.re().MatchString(d.PasswordDir):
		x.bad.add("database.password_dir", "%q is not "+plainPath, d.PasswordDir)
	}
	db.passwordDir = strings.TrimSuffix(d.PasswordDir, "/")
	if !db.galera {
		db.host = x.host("database.external", d.External)
		if d.Port == 0 {
			d.Port = defaultDBPort
		}
		x.between("database.port", d.Port, 1, 65535)
		db.port = d.Port
		for _, f := range []struct {
			name string
			set  bool
		}{{"check_port", d.CheckPort != 0}, {"monitor_interval", d.MonitorInterval != 0}} {
			if f.set {
				x.bad.add("database."+f.name, "set, but the database is external (Galera on the controllers only)")
			}
		}
		x.r.db = db
		return
	}
	x.port("database.port", &d.Port, defaultDBPort, taken, "database.port (mysql)")
	x.port("database.check_port", &d.CheckPort, defaultCheckPort, taken, "database.check_port (Galera's sync check)")
	db.port, db.checkPort = d.Port, d.CheckPort
	if d.MonitorInterval == 0 {
		d.MonitorInterval = defaultDBInterval
	}
	x.span("database.monitor_interval", d.MonitorInterval, minStatefulMonitor, maxStatefulMonitor)
	db.every = d.MonitorInterval
	if n := len(x.t.Nodes); n < minGaleraNodes {
		x.bad.add("database", "a Galera cluster needs %d nodes or more (%d given): it keeps a primary component with a majority only, "+
			"so on two nodes the loss of either stops the database; use three controllers or database.external", minGaleraNodes, n)
	}
	for i, n := range x.r.nodes {
		if n.addr.Is6() {
			x.bad.add(fmt.Sprintf("nodes[%d].address", i), "%s: a Galera cluster here is IPv4 only (its agent's cluster_host_map "+
				"and gcomm:// list are not written for IPv6 addresses); use database.external", n.addr)
			break
		}
	}
	if x.vipOK {
		db.host = x.r.backendVIP().addr().String()
	}
	x.r.db = db
}

func (x *resolver) messaging(m *Messaging, taken map[int]string) {
	mq := &resolvedMQ{cluster: len(m.External) == 0}
	x.text("messaging.user", &m.User, defaultMQUser, userPattern, "a user name (a letter, then letters, digits, '_' or '-'; up to 32)")
	mq.user = m.User
	switch {
	case m.PasswordFile == "":
		x.bad.add("messaging.password_file", "required: a root-only file on every node holding the password of messaging.user")
	case !pathPattern.re().MatchString(m.PasswordFile):
		x.bad.add("messaging.password_file", "%q is not "+plainPath, m.PasswordFile)
	}
	mq.passwordFile = m.PasswordFile
	if m.MonitorInterval != 0 && !mq.cluster {
		x.bad.add("messaging.monitor_interval", "set, but RabbitMQ is external (the cluster on the controllers only)")
	}
	if mq.cluster {
		for _, p := range rabbitPorts {
			if other, clash := taken[p]; clash {
				x.bad.add("messaging", "RabbitMQ takes port %d (epmd, Erlang distribution) on every node: it clashes with %s", p, other)
			}
		}
		x.port("messaging.port", &m.Port, defaultMQPort, taken, "messaging.port (AMQP)")
		if m.MonitorInterval == 0 {
			m.MonitorInterval = defaultMQInterval
		}
		x.span("messaging.monitor_interval", m.MonitorInterval, minStatefulMonitor, maxStatefulMonitor)
		mq.every = m.MonitorInterval
		for _, n := range x.r.nodes {
			mq.hosts = append(mq.hosts, n.addr.String())
		}
	} else {
		if m.Port == 0 {
			m.Port = defaultMQPort
		}
		x.between("messaging.port", m.Port, 1, 65535)
		if len(m.External) > maxNodes {
			x.bad.add("messaging.external", "%d hosts; at most %d", len(m.External), maxNodes)
		}
		for i, h := range m.External {
			mq.hosts = append(mq.hosts, x.host(fmt.Sprintf("messaging.external[%d]", i), h))
		}
	}
	mq.port = m.Port
	two := mq.cluster && len(x.t.Nodes) == 2
	switch {
	case m.Queues == "":
		m.Queues = queuesMirrored
	case !oneOf(m.Queues, queueKinds):
		x.bad.add("messaging.queues", "%q: want quorum or mirrored", m.Queues)
	case m.Queues == queuesQuorum && two:
		x.bad.add("messaging.queues", "quorum on two nodes: a quorum queue needs a majority of its replicas, so the loss of "+
			"either node stops every queue; leave it out (mirrored) or use three controllers")
	}
	mq.queues = m.Queues
	x.r.mq = mq
}

// host checks a host name or address given in the topology and returns it
// (hostPort writes an IPv6 address in brackets).
func (x *resolver) host(field, h string) string {
	if h == "" {
		x.bad.add(field, "empty: want a host name or an IP address")
		return ""
	}
	if a, err := netip.ParseAddr(h); err == nil {
		if a.Zone() != "" {
			x.bad.add(field, "%q: an address with a zone cannot go into a URL here", h)
		}
		return a.String()
	}
	if !hostPattern.re().MatchString(h) {
		x.bad.add(field, "%q is not a host name or an IP address", h)
	}
	return h
}

// usesDB reports whether the service s keeps a database.
func usesDB(s resolvedService) bool { _, dbs, _ := stateProfile(s.name); return len(dbs) > 0 }

// usesQueue reports whether s uses the message queue.
func usesQueue(s resolvedService) bool { _, _, q := stateProfile(s.name); return q }

// ordered reports whether s's clone is ordered after the stateful tier
// (its start waits for Galera's promotion or RabbitMQ's start), which then
// makes its clone not interleaved (see statefulOrderComment).
func (r *resolved) ordered(s resolvedService) bool {
	return r.db != nil && r.db.galera && usesDB(s) || r.mq != nil && r.mq.cluster && usesQueue(s)
}
