package render

import (
	"fmt"
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
}

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
