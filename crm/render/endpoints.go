package render

import (
	"fmt"
	"slices"
	"strings"
)

// interfaces are the catalog interfaces every endpoint gets.
var interfaces = []string{"public", "internal", "admin"}

// endpointURL is the catalog URL of s for one interface, at the VIP of
// that interface (endpointVIP), or, when s is not served there, at the
// first VIP it is served on.
func (r *resolved) endpointURL(s resolvedService, iface string) string {
	port := s.port
	if iface == "admin" && s.legacyAdmin && s.legacyPort != 0 {
		port = s.legacyPort
	}
	v := r.endpointVIP(iface)
	if !slices.ContainsFunc(s.vips, func(i int) bool { return r.vips[i].id == v.id }) && len(s.vips) > 0 {
		v = r.vips[s.vips[0]]
	}
	return v.scheme() + "://" + hostPort(v.host, port) + s.catalog.path
}

// vipHosts says where the endpoints are, for endpoints.sh's header.
func (r *resolved) vipHosts() string {
	if len(r.vips) == 1 {
		return "at " + r.vips[0].host + " (keystone v3 URLs)"
	}
	var hs []string
	for _, iface := range interfaces {
		hs = append(hs, iface+" at "+r.endpointVIP(iface).host)
	}
	return "(keystone v3 URLs):\n# " + strings.Join(hs, ", ")
}

// Endpoints renders endpoints.sh: the catalog pointed at the VIP.
func (r *resolved) Endpoints() string {
	var b strings.Builder
	b.WriteString("#!/usr/bin/env bash\n")
	header(&b, "#", "The keystone catalog's endpoints at the VIP")
	fmt.Fprintf(&b, `#
# Run it once, on any node, with admin credentials in the environment (an
# openrc, or OS_CLOUD): every API service gets a public, internal and admin
# endpoint %s.
# Running it again changes nothing. An endpoint of the same service and
# interface at another URL (the old per-node one) is reported, not deleted:
# check, then remove it with `+"`openstack endpoint delete ID`"+` (the how-to's
# step 3).
set -euo pipefail

region=%s

# service TYPE NAME DESCRIPTION: create the catalog service unless it exists.
service() {
  if ! openstack service show "$1" >/dev/null 2>&1; then
    openstack service create --name "$2" --description "$3" "$1"
  fi
}

# endpoint TYPE INTERFACE URL: create the endpoint unless it exists.
endpoint() {
  local found=0 id url
  while read -r id url; do
    [ -n "$id" ] || continue
    if [ "$url" = "$3" ]; then
      found=1
    else
      echo "endpoints.sh: $1 $2 endpoint $id is at $url, not $3: remove it with: openstack endpoint delete $id" >&2
    fi
  done < <(openstack endpoint list --service "$1" --interface "$2" --region "$region" -f value -c ID -c URL)
  if [ "$found" = 0 ]; then
    openstack endpoint create --region "$region" "$1" "$2" "$3"
  fi
}
`, r.vipHosts(), r.t.Region)
	for _, s := range r.services {
		fmt.Fprintf(&b, "\n# %s\n", s.name)
		if s.catalog == nil {
			fmt.Fprintf(&b, "# no catalog entry: %s.\n", s.why)
			continue
		}
		if s.legacyPort != 0 && !s.legacyAdmin {
			fmt.Fprintf(&b, "# port %d (%s) is balanced for old clients but has no catalog entry.\n", s.legacyPort, s.legacy.name)
		}
		c := s.catalog
		fmt.Fprintf(&b, "service %s %s %s\n", c.serviceType, c.serviceName, shellQuote(c.description))
		for _, iface := range interfaces {
			fmt.Fprintf(&b, "endpoint %s %s %s\n", c.serviceType, iface, shellQuote(r.endpointURL(s, iface)))
		}
	}
	for _, s := range r.services {
		if s.name == "keystone" {
			fmt.Fprintf(&b, "\n# Clients (and the services' keystone_authtoken www_authenticate_uri and\n# auth_url) then use: OS_AUTH_URL=%s\n", r.endpointURL(s, "public"))
		}
	}
	return b.String()
}
