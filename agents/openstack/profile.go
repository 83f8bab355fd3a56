package openstack

import "github.com/stackha/stackha/catalog"

// Profile is what distinguishes one OpenStack API service from another; the
// engine does the rest. It is the service's row of the one catalog that
// crm/render reads too.
type Profile = catalog.Service

// Check is how depth 0 judges the answer at the service's url.
type Check = catalog.Check

// The checks of depth 0 (catalog.Check).
const (
	VersionDocument = catalog.VersionDocument
	VersionList     = catalog.VersionList
	Healthcheck     = catalog.Healthcheck
)

// Profiles are the services stackha manages, one agent each: the catalog's
// rows (a slice literal: nothing is built at init).
var Profiles = catalog.Services

// profile returns the profile of an agent name (or alias), or nil.
func profile(name string) *Profile { return catalog.Lookup(name) }
