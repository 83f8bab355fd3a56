package harness

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"time"
)

// PlacementPort is placement-api's port (haproxy's frontend on the VIP).
const PlacementPort = 8778

// placementPassword is the throwaway password of placement's service
// user in keystone (its keystone_authtoken), as KeystonePassword is
// admin's.
const placementPassword = "shc-placement-secret"

// serviceKeystoneURL is keystone as the services' middleware reaches it:
// through the VIP, the internal one when the cluster has the front door.
func (c *Cluster) serviceKeystoneURL() string {
	if c.TLS() {
		return fmt.Sprintf("http://%s:%d", InternalVIP, KeystonePort)
	}
	return fmt.Sprintf("http://%s:%d", VIP, KeystonePort)
}

// ServiceAddr is where node n's API services listen: its address on the
// internal network with the front door (tls.go), else its one address.
func (c *Cluster) ServiceAddr(n *Node) string {
	if c.TLS() {
		return n.Ring
	}
	return n.Addr
}

// PlacementURL is placement's base URL on the VIP the client reaches.
func (c *Cluster) PlacementURL() string {
	if c.TLS() {
		return fmt.Sprintf("https://%s:%d", VIP, PlacementPort)
	}
	return fmt.Sprintf("http://%s:%d", VIP, PlacementPort)
}

// Placement reports whether the cluster runs placement-api from its
// Debian unit (on the shared-sqlite systemd nodes), with keystone's
// middleware: the second service the writes' client writes to.
func (c *Cluster) Placement() bool {
	return c.systemd() && !c.opts.Stateful && slices.Contains(c.opts.Services, "placement-api")
}

// placementUser makes placement's service user in keystone, once keystone
// answers through the VIP.
func (c *Cluster) placementUser(ctx context.Context) error {
	if !c.Placement() {
		return nil
	}
	if err := c.serviceUser(ctx, "placement", placementPassword); err != nil {
		return fmt.Errorf("placement's user in keystone: %w", err)
	}
	return nil
}

// providerUUID is the uuid of the resource provider write seq of a run
// creates: run (8 hex digits, random per writer) and seq make it unique.
func providerUUID(run uint32, seq int) string {
	return fmt.Sprintf("%08x-0000-4000-8000-%012x", run, seq)
}

// StartProviderWriter starts creating a resource provider in placement
// through the VIP (url) every every, as admin (token), each named
// prefix-N with its own uuid, and reading it back by its uuid right after
// the 201: a write on a second service followed by a read of what it
// wrote (through haproxy, so most often from another node). Placement's
// names are unique: a create answered 409 is a write that ran twice (a
// replay). run makes the uuids this writer's.
func StartProviderWriter(url, token, prefix string, run uint32, every, timeout time.Duration) (*Prober, error) {
	h := http.Header{}
	h.Set("X-Auth-Token", token)
	return start(&Prober{URL: url + "/resource_providers", Every: every, Timeout: timeout, header: h,
		bodyOf: func(seq int) (string, string) {
			name := fmt.Sprintf("%s-%d", prefix, seq)
			return fmt.Sprintf(`{"name":%q,"uuid":%q}`, name, providerUUID(run, seq)), name
		},
		then: func(seq int) *http.Request {
			req, _ := http.NewRequest(http.MethodGet, url+"/resource_providers/"+providerUUID(run, seq), nil)
			req.Header.Set("X-Auth-Token", token)
			return req
		}})
}

// Replayed counts the attempts answered 409: a create of a fresh name
// that placement (or keystone) already had, that is, a write that ran
// twice.
func Replayed(attempts []Attempt) int {
	n := 0
	for _, a := range attempts {
		if a.Err == fmt.Sprintf("status %d", http.StatusConflict) {
			n++
		}
	}
	return n
}

// ReadBackProviders lists placement's resource providers through url and
// returns the names of want it does not find: acknowledged writes lost.
func (c *Client) ReadBackProviders(ctx context.Context, url, token string, want []string) (lost []string, err error) {
	return c.missing(ctx, url+"/resource_providers", token, "resource_providers", want)
}
