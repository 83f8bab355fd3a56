package render

import (
	"fmt"
	"strings"
)

// TLS to the services (haproxy.backend_tls): haproxy re-encrypts what it
// sends the API services, which serve https on each node's own address,
// and verifies each node's certificate against the deployment's CA and
// the node's name. One setting for the whole topology, not per VIP or per
// service: a backend is shared by every VIP a service is served on, and an
// operator turns it on for the deployment, as TripleO (enable_internal_tls)
// and Kolla-Ansible (kolla_enable_tls_backend) do, with one certificate per
// node that all its services serve. render names the files and never reads
// them.
type BackendTLS struct {
	// CAFile is the CA (PEM) that signed every node's certificate: each
	// server line's ca-file, and each service agent's ca_file (its monitor
	// GETs https on the node). Root's on every node: the haproxy agent and
	// the service agents refuse one another user could change.
	CAFile string `yaml:"ca_file"`
	// Certificate and Key are each node's own certificate (chain) and key,
	// at the same paths on every node: what its services serve (uwsgi's
	// --https-socket).
	Certificate string `yaml:"certificate"`
	Key         string `yaml:"key"`
}

// resolvedBackendTLS is haproxy.backend_tls after checks.
type resolvedBackendTLS struct {
	ca, crt, key string
}

// paramCAFile is the API agents' CA bundle for an https url.
const paramCAFile = "ca_file"

// backendTLS resolves haproxy.backend_tls; the services are resolved
// before.
func (x *resolver) backendTLS() {
	bt := x.t.HAProxy.BackendTLS
	if bt == nil {
		return
	}
	const f = "haproxy.backend_tls"
	ok := true
	for _, p := range []struct {
		field, v, what string
	}{
		{"ca_file", bt.CAFile, "the CA (PEM) that signed the nodes' certificates"},
		{"certificate", bt.Certificate, "each node's certificate (PEM chain), the same path on every node"},
		{"key", bt.Key, "each node's private key (PEM), the same path on every node"},
	} {
		switch {
		case p.v == "":
			x.bad.add(f+"."+p.field, "required: %s", p.what)
			ok = false
		case !pathPattern.re().MatchString(p.v):
			x.bad.add(f+"."+p.field, "%q: want %s", p.v, plainPath)
			ok = false
		}
	}
	for i, s := range x.t.Services {
		if _, set := s.Params[paramCAFile]; set {
			x.bad.add(fmt.Sprintf("services[%d].params.%s", i, paramCAFile), "set by %s.ca_file", f)
			ok = false
		}
		p, known := catalog()[alias(s.Name)]
		if known && s.RunMode == "process" && p.service.UWSGIIni != "" {
			x.bad.add(fmt.Sprintf("services[%d].run_mode", i), "process: the agent runs %s under uwsgi with --http-socket (plain HTTP), "+
				"and %s wants https on the nodes; use systemd (the default)", p.name, f)
			ok = false
		}
	}
	if ok {
		x.r.backendTLS = &resolvedBackendTLS{ca: bt.CAFile, crt: bt.Certificate, key: bt.Key}
	}
}

// serverTLS is what follows a server's address in an API backend: TLS,
// the certificate verified against the CA and its name against the node's
// name (haproxy matches DNS names only, never an IP address; without
// verifyhost and with no SNI it would check no name at all). The health
// checks inherit ssl (no port or addr on them); the drain agent's
// agent-check is always plain TCP.
func (r *resolved) serverTLS(n resolvedNode) string {
	if r.backendTLS == nil {
		return ""
	}
	return " ssl verify required ca-file " + r.backendTLS.ca + " verifyhost " + n.name
}

// nodeScheme is the scheme of the services on the nodes.
func (r *resolved) nodeScheme() string {
	if r.backendTLS == nil {
		return "http"
	}
	return "https"
}

// socketOption is the uwsgi option that makes a service listen on addr
// (host:port): plain HTTP, or https with the node's certificate and key.
func (r *resolved) socketOption(addr string) string {
	if r.backendTLS == nil {
		return "--http-socket " + addr
	}
	return "--https-socket " + addr + "," + r.backendTLS.crt + "," + r.backendTLS.key
}

// agentTLSParams are a service primitive's parameters for an https url.
func (r *resolved) agentTLSParams() [][2]string {
	if r.backendTLS == nil {
		return nil
	}
	return [][2]string{{paramCAFile, r.backendTLS.ca}}
}

// backendTLSGlobal writes the global section's defaults for TLS to the
// servers: Mozilla's intermediate profile, as on the binds.
func (r *resolved) backendTLSGlobal(b *strings.Builder) {
	if r.backendTLS == nil {
		return
	}
	indented(b, "    ", []string{
		"TLS to the services (haproxy.backend_tls), the same profile: each API",
		"server's certificate is verified against " + r.backendTLS.ca,
		"and its name against the node's (verifyhost); the health checks use the",
		"same TLS, the drain agents' agent-check stays plain TCP.",
	})
	fmt.Fprintf(b, "    ssl-default-server-ciphers %s\n    ssl-default-server-ciphersuites %s\n    ssl-default-server-options %s\n",
		tlsCiphers, tlsCipherSuites, tlsServerOptions)
}

// tlsServerOptions are tlsOptions but the choice of ciphers, which is a
// server's (haproxy's bind) only.
const tlsServerOptions = "no-sslv3 no-tlsv10 no-tlsv11 no-tls-tickets"

// backendTLSReadme says, in node n's README, what its services serve.
func (r *resolved) backendTLSReadme(n resolvedNode, readme *strings.Builder) {
	bt := r.backendTLS
	if bt == nil {
		return
	}
	fmt.Fprintf(readme, `#
# TLS to the services (haproxy.backend_tls): every API service serves https on
# %s with this node's certificate %s
# and key %s (readable by the services' users: on
# Debian, root:ssl-cert mode 0640 and the users in group ssl-cert). The
# certificate is signed by %s (root's) and names
# DNS:%s (haproxy's verifyhost) and IP:%s (the agents' monitors GET
# https://%s:<port>/...).
`, n.addr, bt.crt, bt.key, bt.ca, n.name, n.addr, strings.TrimSuffix(hostPort(n.addr.String(), 0), ":0"))
	for _, s := range r.services {
		if s.mode == "systemd" && s.service.UWSGIIni != "" {
			fmt.Fprintf(readme, "#   %s: etc/default/%s serves it (uwsgi --https-socket).\n", s.name, s.service.InitName)
		} else {
			fmt.Fprintf(readme, "#   %s: by hand, with its own TLS options in %s.\n", s.name, s.service.Config)
		}
	}
}
