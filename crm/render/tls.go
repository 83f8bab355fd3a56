package render

import (
	"fmt"
	"slices"
	"strings"
)

// TLS on a VIP: haproxy terminates it (bind ... ssl crt), as TripleO,
// Kolla-Ansible and OpenStack-Ansible do for the public endpoints, and
// talks plain HTTP to the services on the nodes' own network. render names
// the certificate's path and never reads it: the file (the chain, then the
// private key, in one PEM as haproxy wants) is on every node, root's, mode
// 0600; the haproxy agent refuses one others can read.
type TLS struct {
	Certificate string `yaml:"certificate"`
	// RedirectHTTP also binds port 80 of the VIP, where every request is
	// answered 301 to the same host and path over https (redirectFrontends).
	RedirectHTTP bool `yaml:"redirect_http"`
}

// redirectPort is the port a VIP with tls.redirect_http answers plain HTTP
// on; httpsPort is where the redirect sends clients (https's own port: a
// Location keeps the host and path, and names no port).
const (
	redirectPort = 80
	httpsPort    = 443
)

// Mozilla's intermediate configuration for haproxy (TLS 1.2 and 1.3; the
// ciphers of the generator's "intermediate" profile, 5.7).
const (
	tlsCiphers      = "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384:DHE-RSA-CHACHA20-POLY1305"
	tlsCipherSuites = "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256"
	tlsOptions      = "prefer-client-ciphers no-sslv3 no-tlsv10 no-tlsv11 no-tls-tickets"
)

// tls resolves a VIP's tls section (f is the VIP's place in the file).
func (x *resolver) tls(f string, t *TLS, v *resolvedVIP) {
	if t == nil {
		return
	}
	switch {
	case t.Certificate == "":
		x.bad.add(f+".tls.certificate", "required: the PEM file (certificate chain and private key) haproxy serves on this VIP")
	case !pathPattern.re().MatchString(t.Certificate):
		x.bad.add(f+".tls.certificate", "%q: want %s", t.Certificate, plainPath)
	default:
		v.crt = t.Certificate
	}
	if t.RedirectHTTP {
		if t.Certificate == "" {
			x.bad.add(f+".tls.redirect_http", "needs tls.certificate: the redirect sends clients to https on this VIP, which only a certificate serves")
		}
		v.redirect = true
	}
}

// redirects checks, once the services and the database are resolved, that
// no listener on a VIP with tls.redirect_http takes its port 80.
func (x *resolver) redirects() {
	if !x.vipOK {
		return // the VIPs' indices are not vips[]'s
	}
	for i, v := range x.r.vips {
		if !v.redirect {
			continue
		}
		f := "vip"
		if len(x.t.VIPs) > 0 {
			f = fmt.Sprintf("vips[%d]", i)
		}
		for _, s := range x.r.services {
			if !slices.Contains(s.vips, i) {
				continue
			}
			for _, l := range s.listeners() {
				if l.port == redirectPort {
					x.bad.add(f+".tls.redirect_http", "port %d of %s is %s's (%s): the redirect needs it; give %s another port, serve it on another VIP, or drop redirect_http",
						redirectPort, v.what(), s.name, x.portField(s.name, l.port), s.name)
				}
			}
		}
		if db := x.r.db; db != nil && db.galera && db.port == redirectPort && x.r.backendVIP().id == v.id {
			x.bad.add(f+".tls.redirect_http", "port %d of %s is the database listener's (database.port): the redirect needs it; move one of them",
				redirectPort, v.what())
		}
	}
}

// portField names the field of the topology that gives service name its
// port p.
func (x *resolver) portField(name string, p int) string {
	for j, s := range x.t.Services {
		if alias(s.Name) != name {
			continue
		}
		if s.LegacyPort == p {
			return fmt.Sprintf("services[%d].legacy_port", j)
		}
		return fmt.Sprintf("services[%d].port", j)
	}
	return "its default port"
}

// what names a VIP in a message: "the public VIP (203.0.113.10)".
func (v resolvedVIP) what() string {
	if v.name == "" {
		return "the VIP (" + v.addr().String() + ")"
	}
	return "the " + v.name + " VIP (" + v.addr().String() + ")"
}

// anyTLS reports whether a VIP terminates TLS.
func (r *resolved) anyTLS() bool {
	for _, v := range r.vips {
		if v.crt != "" {
			return true
		}
	}
	return false
}

// scheme is the URL scheme of the endpoints on v.
func (v resolvedVIP) scheme() string {
	if v.crt != "" {
		return "https"
	}
	return "http"
}

// bindOptions are what follows a bind's address on v.
func (v resolvedVIP) bindOptions() string {
	if v.crt == "" {
		return ""
	}
	return " ssl crt " + v.crt + " alpn http/1.1"
}

// tlsGlobal writes the global section's TLS defaults.
func (r *resolved) tlsGlobal(b *strings.Builder) {
	defer r.backendTLSGlobal(b)
	if !r.anyTLS() {
		return
	}
	indented(b, "    ", []string{
		"TLS on the VIPs that have a certificate: Mozilla's intermediate",
		"configuration (TLS 1.2 and 1.3 only; TLS 1.0 and 1.1 clients are refused).",
	})
	fmt.Fprintf(b, "    ssl-default-bind-ciphers %s\n    ssl-default-bind-ciphersuites %s\n    ssl-default-bind-options %s\n",
		tlsCiphers, tlsCipherSuites, tlsOptions)
}

// forwardedHeaders writes, in a frontend, the headers a service behind a
// TLS VIP builds its own URLs from (its version document, its links):
// X-Forwarded-Proto and X-Forwarded-For.
func (r *resolved) forwardedHeaders(b *strings.Builder) {
	if !r.anyTLS() {
		return
	}
	b.WriteString("    option forwardfor\n")
	b.WriteString("    http-request set-header X-Forwarded-Proto https if { ssl_fc }\n")
	b.WriteString("    http-request set-header X-Forwarded-Proto http if !{ ssl_fc }\n")
}

// tlsReadme says, in a node's README, what each service needs to read
// those headers.
func (r *resolved) tlsReadme(readme *strings.Builder) {
	if !r.anyTLS() {
		return
	}
	readme.WriteString("#\n# TLS: haproxy terminates it on the VIPs with a certificate and sends\n" +
		"# X-Forwarded-Proto; each service builds its URLs (version documents, links)\n" +
		"# from it only with oslo.middleware's proxy headers parsing on:\n")
	for _, s := range r.services {
		fmt.Fprintf(readme, "#   %s: [oslo_middleware] enable_proxy_headers_parsing = true in %s\n", s.name, s.service.Config)
	}
	for _, v := range r.vips {
		if v.crt != "" {
			fmt.Fprintf(readme, "# and the certificate of %s: %s (chain and key, root's, mode 0600).\n", v.id, v.crt)
		}
	}
}

// redirectFrontends writes, for each VIP with tls.redirect_http, a frontend
// on its port 80 that answers every request 301 to https, the same host
// (a ":80" in Host dropped, which would otherwise follow it to https) and
// the same path and query. It has no backend: nothing reaches a service
// in clear text.
func (r *resolved) redirectFrontends(b *strings.Builder) {
	for i, v := range r.vips {
		if !v.redirect {
			continue
		}
		to := []string{"nothing of this topology listens there: the redirect tells a client that",
			"this VIP speaks https (the APIs are at https://host:port, the catalog's)."}
		for _, s := range r.services {
			for _, l := range s.listeners() {
				if l.port == httpsPort && slices.Contains(s.vips, i) {
					to = []string{s.name + " listens there."}
				}
			}
		}
		b.WriteString("\n")
		indented(b, "", append([]string{
			fmt.Sprintf("Plain HTTP on port %d of %s, tls.redirect_http:", redirectPort, v.what()),
			"every request is answered 301 to https:// with the same host, path and",
			fmt.Sprintf("query, which is port %d;", httpsPort),
		}, to...))
		fmt.Fprintf(b, "frontend %s-http\n", v.id)
		fmt.Fprintf(b, "    bind %s\n", hostPort(v.addr().String(), redirectPort))
		b.WriteString("    http-request replace-header host ^(.*):80$ \\1\n")
		b.WriteString("    http-request redirect scheme https code 301\n")
	}
}
