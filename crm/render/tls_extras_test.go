package render_test

import (
	"strings"
	"testing"
)

// TestTLSExtras: what tls.redirect_http and haproxy.backend_tls render, and
// what they leave alone: the redirect is on the TLS VIP only (a service on
// port 80 of another VIP is no collision), and names the service on port
// 443 when there is one; with re-encryption every API server line is TLS
// verified against the CA and the node's name, the agents' monitors GET
// https with the CA, the uwsgi services listen with --https-socket, each
// README says what the node's certificate must name, and the Galera
// listener stays as it was.
func TestTLSExtras(t *testing.T) {
	const (
		nodes3  = "nodes:\n  - {name: a, address: 10.0.0.1}\n  - {name: b, address: 10.0.0.2}\n  - {name: c, address: 10.0.0.3}\n"
		public  = "{name: public, address: 10.0.1.100, dns_name: api.example.org, tls: {certificate: /etc/api.pem, redirect_http: true}}"
		backend = "haproxy: {backend_tls: {ca_file: /etc/ssl/certs/ca.pem, certificate: /etc/ssl/certs/node.pem, key: /etc/ssl/private/node.key}}\n"
		verify  = " ssl verify required ca-file /etc/ssl/certs/ca.pem verifyhost "
	)
	for _, tc := range []struct {
		name, yaml string
		want       map[string][]string // file: what it holds
		not        map[string][]string // file: what it must not hold
	}{
		{"redirect on the public VIP only", "vips: [{name: internal, address: 10.0.0.100}, " + public + "]\n" + nodes3 +
			"services: [{name: keystone}, {name: glance-api, port: 80, vips: [internal]}]\n",
			map[string][]string{"haproxy.cfg": {
				"# Plain HTTP on port 80 of the public VIP (10.0.1.100), tls.redirect_http:\n",
				"# nothing of this topology listens there",
				"frontend vip-public-http\n    bind 10.0.1.100:80\n    http-request replace-header host ^(.*):80$ \\1\n    http-request redirect scheme https code 301\n",
				"frontend glance-vip\n    bind 10.0.0.100:80\n",
			}},
			map[string][]string{"haproxy.cfg": {"vip-internal-http", "bind 10.0.1.100:80\n    option", " ssl verify", "ssl-default-server"}}},
		{"redirect to the service on 443", "vip: {address: 10.0.0.100, tls: {certificate: /etc/api.pem, redirect_http: true}}\n" + nodes3 +
			"services: [{name: keystone, port: 443}]\n",
			map[string][]string{"haproxy.cfg": {"# query, which is port 443;\n# keystone listens there.\nfrontend api-vip-http\n    bind 10.0.0.100:80\n"}}, nil},
		{"re-encryption", "vip: {address: 10.0.0.100}\n" + nodes3 + "services: [{name: keystone, legacy: true}, {name: glance-api, run_mode: process}, {name: placement-api}]\n" +
			backend + "database: {password_dir: /etc/stackha/db}\n",
			map[string][]string{
				"haproxy.cfg": {
					"    ssl-default-server-ciphersuites TLS_AES_128_GCM_SHA256:",
					"    ssl-default-server-options no-sslv3 no-tlsv10 no-tlsv11 no-tls-tickets\n",
					"    option httpchk GET /healthcheck\n    server a 10.0.0.1:5000" + verify + "a\n    server b 10.0.0.2:5000" + verify + "b\n",
					"    server c 10.0.0.3:35357" + verify + "c\n",
					"    server a 10.0.0.1:8778" + verify + "a agent-check agent-port 18778 agent-inter 1s\n",
					"    server a 10.0.0.1:3306 port 9200 fall 3 on-marked-down shutdown-sessions\n",
				},
				"cluster.crm": {"url=https://10.0.0.1:5000/ ", "url=https://10.0.0.3:9292/ ", "ca_file=/etc/ssl/certs/ca.pem"},
				"nodes/a/etc/default/keystone": {`DAEMON_ARGS="--https-socket 10.0.0.1:5000,/etc/ssl/certs/node.pem,/etc/ssl/private/node.key ` +
					`--https-socket 10.0.0.1:35357,/etc/ssl/certs/node.pem,/etc/ssl/private/node.key --ini /etc/keystone/keystone-uwsgi.ini"`},
				"nodes/b/README": {
					"# 10.0.0.2 with this node's certificate /etc/ssl/certs/node.pem\n",
					"# DNS:b (haproxy's verifyhost) and IP:10.0.0.2 (the agents' monitors GET\n# https://10.0.0.2:<port>/...).\n",
					"#   keystone: etc/default/keystone serves it (uwsgi --https-socket).\n",
					"#   glance-api: by hand, with its own TLS options in /etc/glance/glance-api.conf.\n",
				},
			},
			map[string][]string{
				"haproxy.cfg": {"ssl-default-bind", "X-Forwarded-Proto", "ssl crt", "-http\n", "3306 ssl", "3306" + verify},
				"cluster.crm": {"url=http://"},
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			files, err := renderTopology(t, tc.yaml)
			if err != nil {
				t.Fatal(err)
			}
			for f, subs := range tc.want {
				for _, s := range subs {
					if !strings.Contains(string(files[f]), s) {
						t.Errorf("%s does not hold %q:\n%s", f, s, files[f])
					}
				}
			}
			for f, subs := range tc.not {
				for _, s := range subs {
					if strings.Contains(string(files[f]), s) {
						t.Errorf("%s holds %q", f, s)
					}
				}
			}
		})
	}
}
