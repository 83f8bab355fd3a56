// Package viptest forwards to internal/testutil/viptest, where the vip
// agent's lab and sandbox live, for agents/vip's own tests that still
// import it by this path (files other work is changing). Import
// internal/testutil/viptest; this package goes once those tests do.
package viptest

import to "github.com/stackha/stackha/internal/testutil/viptest"

// Lab is internal/testutil/viptest.Lab.
type Lab = to.Lab

// NewLab is internal/testutil/viptest.NewLab.
func NewLab(tag string) (*Lab, error) { return to.NewLab(tag) }
