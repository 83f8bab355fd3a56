package render

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

const (
	stateVIP    = "vip: {address: 10.0.0.100, prefix: 24}\n"
	stateDB     = "database: {password_dir: /etc/stackha/db}\n"
	stateMQ     = "messaging: {password_file: /etc/stackha/rabbitmq.pw}\n"
	stateNodes3 = "nodes:\n  - {name: a, address: 10.0.0.1}\n  - {name: b, address: 10.0.0.2}\n  - {name: c, address: 10.0.0.3}\n"
	stateNodes2 = "nodes:\n  - {name: a, address: 10.0.0.1}\n  - {name: b, address: 10.0.0.2}\n"
)

// TestStatefulErrors: every bad database or messaging section is refused,
// naming its field, and nothing is written.
func TestStatefulErrors(t *testing.T) {
	base := stateVIP + stateNodes3
	for _, tc := range []struct {
		name, yaml string
		want       []string
	}{
		{"no password dir", base + "database: {}\n", []string{"database.password_dir: required"}},
		{"relative password dir", base + "database: {password_dir: db}\n", []string{"database.password_dir", "not an absolute path"}},
		{"password dir shell", base + "database: {password_dir: '/etc/x;reboot'}\n", []string{"database.password_dir"}},
		{"galera on two nodes", stateVIP + stateNodes2 + stateDB, []string{"database: a Galera cluster needs 3 nodes or more (2 given)"}},
		{"galera on IPv6", "vip: {address: '2001:db8::100'}\nnodes:\n  - {name: a, address: '2001:db8::1'}\n  - {name: b, address: '2001:db8::2'}\n  - {name: c, address: '2001:db8::3'}\n" + stateDB,
			[]string{"nodes[0].address", "IPv4 only"}},
		{"db port clash", base + "services: [{name: keystone, port: 3306}]\n" + stateDB, []string{"database.port: port 3306 clashes with keystone"}},
		{"check port clash", base + "database: {password_dir: /d, port: 9200}\n", []string{"database.check_port: port 9200 clashes with database.port"}},
		{"db port range", base + "database: {password_dir: /d, port: 70000}\n", []string{"database.port: 70000 is out of range 1-65535"}},
		{"external db host", base + "database: {password_dir: /d, external: 'db;x'}\n", []string{"database.external", "not a host name"}},
		{"external db check port", base + "database: {password_dir: /d, external: db.example, check_port: 9300}\n", []string{"database.check_port: set, but the database is external"}},
		{"external db port", base + "database: {password_dir: /d, external: db.example, port: -1}\n", []string{"database.port: -1 is out of range 1-65535"}},
		{"db monitor", base + "database: {password_dir: /d, monitor_interval: 1s}\n", []string{"database.monitor_interval: 1s is out of range 5s-1h"}},
		{"unknown db key", base + "database: {pasword_dir: /d}\n", []string{"field pasword_dir not found in database"}},
		{"no mq password", base + "messaging: {}\n", []string{"messaging.password_file: required"}},
		{"mq password relative", base + "messaging: {password_file: rabbit.pw}\n", []string{"messaging.password_file", "not an absolute path"}},
		{"mq user", base + "messaging: {password_file: /p, user: 'a b'}\n", []string{"messaging.user", "not a user name"}},
		{"mq queues", base + "messaging: {password_file: /p, queues: lazy}\n", []string{`messaging.queues: "lazy": want quorum or mirrored`}},
		{"quorum on two nodes", stateVIP + stateNodes2 + "messaging: {password_file: /p, queues: quorum}\n", []string{"messaging.queues: quorum on two nodes"}},
		{"mq port clash", base + "services: [{name: keystone, port: 5672}]\n" + stateMQ, []string{"messaging.port: port 5672 clashes with keystone"}},
		{"epmd clash", base + "services: [{name: keystone, port: 4369}]\n" + stateMQ, []string{"messaging: RabbitMQ takes port 4369"}},
		{"mq monitor", base + "messaging: {password_file: /p, monitor_interval: 2h}\n", []string{"messaging.monitor_interval: 2h is out of range 5s-1h"}},
		{"external mq host", base + "messaging: {password_file: /p, external: ['mq 1']}\n", []string{"messaging.external[0]", "not a host name"}},
		{"external mq empty host", base + "messaging: {password_file: /p, external: ['']}\n", []string{"messaging.external[0]: empty"}},
		{"external mq monitor", base + "messaging: {password_file: /p, external: [mq1], monitor_interval: 10s}\n", []string{"messaging.monitor_interval: set, but RabbitMQ is external"}},
		{"external mq port", base + "messaging: {password_file: /p, external: [mq1], port: 0x10000}\n", []string{"messaging.port: 65536 is out of range 1-65535"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := filepath.Join(t.TempDir(), "t.yaml")
			if err := os.WriteFile(in, []byte(tc.yaml), 0o644); err != nil {
				t.Fatal(err)
			}
			out := filepath.Join(t.TempDir(), "out")
			_, err := RenderFile(in, out)
			if err == nil {
				t.Fatalf("rendered; want an error with %q", tc.want)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
			if _, serr := os.Stat(out); !os.IsNotExist(serr) {
				t.Errorf("a bad topology wrote %s", out)
			}
		})
	}
}

// renderText renders a topology given as text.
func renderText(t *testing.T, yaml string) Files {
	t.Helper()
	top, err := ParseBytes([]byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	f, err := Render(top)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// TestStatefulRender: what each shape writes: the Galera and RabbitMQ
// resources and orders on the controllers; the connection strings through
// the VIP and to every RabbitMQ node; mirrored queues unless quorum is
// asked for (never on two nodes);
// external servers with no resource and no listener; no section, nothing.
func TestStatefulRender(t *testing.T) {
	for _, tc := range []struct {
		name, yaml string
		want, not  map[string][]string // file -> substrings (regular expressions for not)
	}{
		{"controllers", stateVIP + stateNodes3 + "services: [{name: keystone}, {name: nova-api}]\n" + stateDB + stateMQ,
			map[string][]string{
				"cluster.crm": {
					`primitive galera ocf:heartbeat:galera`,
					`set_policy="ha-all ^(?!amq[.]).* {\"ha-mode\":\"all\",\"ha-sync-mode\":\"automatic\"}"`,
					`wsrep_cluster_address="gcomm://10.0.0.1,10.0.0.2,10.0.0.3" cluster_host_map="a:10.0.0.1;b:10.0.0.2;c:10.0.0.3"`,
					"meta promotable=true promoted-max=3 interleave=true",
					"op monitor interval=10s timeout=30s role=Promoted", "op monitor interval=30s timeout=30s role=Unpromoted",
					"primitive rabbitmq ocf:heartbeat:rabbitmq-cluster", "meta notify=true ordered=true interleave=true",
					"order galera-before-keystone Mandatory: galera-clone:promote keystone-clone:start symmetrical=false",
					"order galera-before-nova-api Mandatory: galera-clone:promote nova-api-clone:start symmetrical=false",
					"order rabbitmq-before-nova-api Mandatory: rabbitmq-clone:start nova-api-clone:start symmetrical=false",
					"clone keystone-clone keystone \\\n\tmeta interleave=false",
				},
				"cluster.pcs.sh": {
					"pcs resource create galera ocf:heartbeat:galera --no-default-ops",
					"promotable galera-clone promoted-max=3 interleave=true",
					"clone rabbitmq-clone notify=true ordered=true interleave=true",
					"pcs constraint order promote galera-clone then start keystone-clone kind=Mandatory symmetrical=false id=galera-before-keystone",
					"pcs constraint order start rabbitmq-clone then start nova-api-clone kind=Mandatory symmetrical=false id=rabbitmq-before-nova-api",
				},
				"haproxy.cfg": {"listen mysql\n    bind 10.0.0.100:3306\n    mode tcp", "stick on dst",
					"server a 10.0.0.1:3306 port 9200 fall 3 on-marked-down shutdown-sessions\n",
					"server b 10.0.0.2:3306 port 9200 fall 3 on-marked-down shutdown-sessions backup\n",
					"server c 10.0.0.3:3306 port 9200 fall 3 on-marked-down shutdown-sessions backup\n"},
				"nodes/b/openstack-conf.sh": {
					"db_keystone=$(secret /etc/stackha/db/keystone.pw)", "db_nova=$(secret /etc/stackha/db/nova.pw)",
					"mq=$(secret /etc/stackha/rabbitmq.pw)",
					"[database]\nconnection = mysql+pymysql://keystone:${db_keystone}@10.0.0.100:3306/keystone\n",
					"[api_database]\nconnection = mysql+pymysql://nova:${db_nova}@10.0.0.100:3306/nova_api\n",
					"transport_url = rabbit://openstack:${mq}@10.0.0.1:5672,openstack:${mq}@10.0.0.2:5672,openstack:${mq}@10.0.0.3:5672/\n",
					// the user, from a definitions file RabbitMQ imports at each start
					"putin /etc/rabbitmq/conf.d rabbitmq 50-stackha.conf", "definitions.local.path = /etc/rabbitmq/conf.d/stackha-definitions.json",
					`\"password_hash\": \"$(rmq_hash)\", \"hashing_algorithm\": \"rabbit_password_hashing_sha256\"`,
				},
				"nodes/b/etc/mysql/mariadb.conf.d/70-stackha-galera.cnf": {"bind-address = 10.0.0.2", "wsrep_node_address = 10.0.0.2", "wsrep_sst_method = rsync",
					"wsrep_cluster_address = gcomm://10.0.0.1,10.0.0.2,10.0.0.3"},
				"nodes/b/etc/systemd/system/galera-check.socket":   {"ListenStream=10.0.0.2:9200", "Accept=yes"},
				"nodes/b/etc/systemd/system/galera-check@.service": {"DynamicUser=yes", "User=clustercheck"},
				"nodes/b/usr/local/lib/stackha/galera-check.sh":    {"wsrep_local_state"},
			},
			// mirrored queues by default: the agent forgets a node that
			// left, which a quorum queue never gets back
			map[string][]string{"cluster.crm": {`clone nova-api-clone nova-api \\\n\tmeta interleave=true`}, "nodes/b/openstack-conf.sh": {"rabbit_quorum_queue"}}},
		{"quorum queues", stateVIP + stateNodes3 + "services: [{name: nova-api}]\n" + stateDB + "messaging: {password_file: /p, queues: quorum}\n",
			map[string][]string{"nodes/a/openstack-conf.sh": {"[oslo_messaging_rabbit]\nrabbit_quorum_queue = true\n"},
				"cluster.crm": {"rabbitmq-queues grow"}},
			map[string][]string{"cluster.crm": {"set_policy="}}},
		{"two nodes, external database", stateVIP + stateNodes2 + "services: [{name: cinder-api}]\n" +
			"database: {password_dir: /d, external: '2001:db8::5'}\n" + stateMQ,
			map[string][]string{
				"cluster.crm": {`set_policy="ha-all ^(?!amq[.]).* {\"ha-mode\":\"all\",\"ha-sync-mode\":\"automatic\"}"`,
					"order rabbitmq-before-cinder-api", "clone cinder-api-clone cinder-api \\\n\tmeta interleave=false"},
				"cluster.pcs.sh": {`set_policy=ha-all ^(?!amq[.]).* {"ha-mode":"all","ha-sync-mode":"automatic"}'`},
				"nodes/a/openstack-conf.sh": {"mysql+pymysql://cinder:${db_cinder}@[2001:db8::5]:3306/cinder",
					"transport_url = rabbit://openstack:${mq}@10.0.0.1:5672,openstack:${mq}@10.0.0.2:5672/"},
			},
			map[string][]string{"cluster.crm": {"galera"}, "haproxy.cfg": {"mysql"}, "nodes/a/openstack-conf.sh": {"rabbit_quorum_queue"}}},
		{"external both", stateVIP + stateNodes3 + "services: [{name: heat-api}, {name: placement-api}]\n" +
			"database: {password_dir: /d, external: db.example, port: 3307}\nmessaging: {password_file: /p, user: heat, external: [mq1.example, mq2.example], port: 5671}\n",
			map[string][]string{"nodes/c/openstack-conf.sh": {"mysql+pymysql://heat:${db_heat}@db.example:3307/heat",
				"[placement_database]\nconnection = mysql+pymysql://placement:${db_placement}@db.example:3307/placement",
				"transport_url = rabbit://heat:${mq}@mq1.example:5671,heat:${mq}@mq2.example:5671/"}},
			map[string][]string{"cluster.crm": {"galera", "rabbitmq", "order (galera|rabbitmq)", "interleave=false"}, "haproxy.cfg": {"mysql"},
				"nodes/c/openstack-conf.sh": {"placement:.*transport_url"}}},
		{"no stateful sections", stateVIP + stateNodes3, nil,
			map[string][]string{"cluster.crm": {"galera", "rabbitmq", "interleave=false"}, "haproxy.cfg": {"mysql"}, "nodes/a/README": {"stateful"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := renderText(t, tc.yaml)
			for file, subs := range tc.want {
				for _, s := range subs {
					if !strings.Contains(string(f[file]), s) {
						t.Errorf("%s lacks %q", file, s)
					}
				}
			}
			for file, res := range tc.not {
				for _, re := range res {
					if regexp.MustCompile(`(?s)` + re).Match(f[file]) {
						t.Errorf("%s has %q", file, re)
					}
				}
			}
			if tc.name == "no stateful sections" {
				for name := range f {
					if strings.HasSuffix(name, openstackConf) || strings.Contains(name, "galera") {
						t.Errorf("wrote %s without a stateful section", name)
					}
				}
			}
		})
	}
}

// TestMySQLListenerOneActive: on every node count, the mysql listener has
// exactly one server that is not a backup, every server closes its
// sessions when marked down, and connections stick to the node in use.
func TestMySQLListenerOneActive(t *testing.T) {
	for n := 3; n <= maxNodes; n += 6 {
		t.Run(fmt.Sprint(n, " nodes"), func(t *testing.T) {
			cfg := string(renderText(t, stateVIP+manyNodes(n)+stateDB)["haproxy.cfg"])
			i := strings.Index(cfg, "\nlisten mysql\n")
			if i < 0 {
				t.Fatal("no listen mysql")
			}
			active, servers := 0, 0
			for _, l := range strings.Split(cfg[i:], "\n") {
				if !strings.HasPrefix(l, "    server ") {
					continue
				}
				servers++
				if !strings.Contains(l, " on-marked-down shutdown-sessions") {
					t.Errorf("server without on-marked-down shutdown-sessions: %q", l)
				}
				if !strings.HasSuffix(l, " backup") {
					active++
				}
			}
			if servers != n || active != 1 {
				t.Errorf("%d servers, %d active; want %d servers, one active", servers, active, n)
			}
			for _, s := range []string{"stick-table type ip", "stick on dst", "option httpchk"} {
				if !strings.Contains(cfg[i:], s) {
					t.Errorf("listen mysql lacks %q", s)
				}
			}
		})
	}
}

// TestStatefulBounds: the stateful tier's numbers at both ends of their
// ranges pass.
func TestStatefulBounds(t *testing.T) {
	for _, y := range []string{
		"database: {password_dir: /d, port: 1, check_port: 65535, monitor_interval: 5s}\nmessaging: {password_file: /p, port: 2, monitor_interval: 1h}\n",
		"database: {password_dir: /d, port: 65535, check_port: 1, monitor_interval: 1h}\nmessaging: {password_file: /p, port: 65534, monitor_interval: 5s}\n",
	} {
		if _, err := ParseBytes([]byte(stateVIP + stateNodes3 + y)); err != nil {
			t.Errorf("%s: %v", y, err)
		}
	}
}
