package ocf

import "github.com/stackha/stackha/instance"

// CheckInstance reports why inst cannot be a resource instance: the one
// id rule, instance.CheckID.
func CheckInstance(inst string) error { return instance.CheckID(inst) }

// quote quotes a value from outside for a message (instance.Quote).
func quote(s string) string { return instance.Quote(s) }
