// Package openstack is the engine of stackha's OpenStack API agents
// (keystone, glance-api, nova-api, ...): one implementation, a Profile per
// service. The service runs either as a systemd unit, driven over D-Bus, or
// as a process the agent starts itself. Monitor depth 0 asks the service's
// own version document, unauthenticated (no keystone, no database), within
// probe_timeout; depth 20 gets a keystone v3 token with credentials read
// from a root-only file and makes one authenticated call.
//
// The agent runs as root and the service as its own user, who can write
// its log, its run directory and whatever pid file it is pointed at. So
// the agent stands on the instance layer: what start did (the unit, or the
// process's pid, start time, owner and session) is recorded in the
// instance's root-only state, and a process is ours only when it matches
// that record; the files the service user can write are opened component
// by component without following links and checked before use, never
// chowned through a link, and quoted (instance.Quote) before they reach a
// reason; every number from outside has bounds. Stop and probe work from
// the record when the parameters do not parse.
package openstack

import (
	"context"
	"errors"

	"github.com/stackha/stackha/ocf"
)

func init() {
	// An agent's declaration is built when it runs (ocf.Register's build),
	// so a run of vip or haproxy never pays for the API agents'.
	for _, p := range Profiles {
		ocf.Register(p.Name, func() *ocf.Agent { return newAgent(p) }, p.Aliases...)
	}
	ocf.RegisterHelper(agentCmd, agentHelper)
}

// newAgent is the agent of a profile. The handlers are functions without
// state, shared by every profile: Configure puts the profile's
// configuration in the request.
func newAgent(p *Profile) *ocf.Agent {
	return &ocf.Agent{Meta: declare(p), Handlers: handlers(),
		Configure: configure, StopFromState: stopFromState, ProbeFromState: probeFromState}
}

// handlers serve every profile: Configure has put the profile's
// configuration in the request.
func handlers() map[string]ocf.Handler {
	return map[string]ocf.Handler{
		"start":        func(ctx context.Context, r *ocf.Request) error { return handle(ctx, r, start) },
		"stop":         func(ctx context.Context, r *ocf.Request) error { return handle(ctx, r, stop) },
		"monitor":      func(ctx context.Context, r *ocf.Request) error { return handle(ctx, r, monitor) },
		"validate-all": func(ctx context.Context, r *ocf.Request) error { return handle(ctx, r, validate) },
		"reload-agent": func(ctx context.Context, r *ocf.Request) error { return handle(ctx, r, reloadAgent) },
	}
}

type action func(ctx context.Context, r *ocf.Request, c *Config) error

// handle runs one action on the configuration Configure made.
func handle(ctx context.Context, r *ocf.Request, act action) error {
	c, ok := r.Config.(*Config)
	if !ok || c == nil {
		return errors.New("internal error: no configuration")
	}
	return act(ctx, r, c)
}

// configure is every profile's ocf.Agent.Configure: the request names the
// agent.
func configure(r *ocf.Request) (any, error) {
	p := profile(r.Agent)
	if p == nil {
		return nil, ocf.Installed("no OpenStack profile named %s", r.Agent)
	}
	return configureProfile(p, r)
}

// configureProfile checks the parameters of one request for the profile p.
func configureProfile(p *Profile, r *ocf.Request) (any, error) {
	name, err := r.Name()
	if err != nil {
		return nil, ocf.Args("instance: %w", err)
	}
	c, err := NewConfig(p, r.Params, name)
	if err != nil {
		return nil, err
	}
	return c, nil
}

// profileName is the profile's own name for an agent name (an alias
// answers as its profile), or the name itself.
func profileName(agent string) string {
	if p := profile(agent); p != nil {
		return p.Name
	}
	return agent
}
