package render_test

import (
	"strings"
	"testing"
)

// TestTLSExtras: what tls.redirect_http renders, and what it leaves alone:
// the redirect is on the TLS VIP only (a service on port 80 of another VIP
// is no collision), and names the service on port 443 when there is one.
func TestTLSExtras(t *testing.T) {
	const (
		nodes3 = "nodes:\n  - {name: a, address: 10.0.0.1}\n  - {name: b, address: 10.0.0.2}\n  - {name: c, address: 10.0.0.3}\n"
		public = "{name: public, address: 10.0.1.100, dns_name: api.example.org, tls: {certificate: /etc/api.pem, redirect_http: true}}"
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
