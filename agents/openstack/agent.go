// Package openstack is the engine of stackha's OpenStack API agents
// (keystone, glance-api, nova-api, ...): one implementation, a Profile per
// service. The service runs either as a systemd unit, driven over D-Bus, or
// as a process the agent starts itself. Monitor depth 0 asks the service's
// own version document, unauthenticated (no keystone, no database), within
// probe_timeout; depth 20 gets a keystone v3 token with credentials read
// from a root-only file and makes one authenticated call.
//
// The agent runs as root and the service as its own user, who can write
// its log, its run directory and whatever pid file it is pointed at. So:
// a process is ours only if its pid, start time, owner, program and session
// all match what start recorded in the instance's root-owned state directory
// (/run/stackha/<instance>); the files the service user can write are opened
// without following links and checked (fstat) before use, never chowned
// through a link, and what is copied from them into a reason is stripped of
// control bytes and capped; every number from outside has bounds.
package openstack

import (
	"context"
	"path/filepath"

	"github.com/stackha/stackha/metadata"
	"github.com/stackha/stackha/ocf"
)

func init() {
	// Names only: an agent's declaration is built when it runs (Declare),
	// so a run of vip or haproxy never pays for the API agents'.
	agents := make([]ocf.Agent, len(Profiles))
	h := handlers()
	for i, p := range Profiles {
		agents[i] = ocf.Agent{Meta: metadata.Agent{Name: p.Name}, Aliases: p.Aliases, Handlers: h, Declare: declareNamed}
		ocf.Register(&agents[i])
	}
}

// declareNamed is the declaration of the profile of that name.
func declareNamed(name string) metadata.Agent {
	p, _ := profile(name)
	return declare(p)
}

// NewAgent builds the agent of a profile that is not one of Profiles (a
// test's fake service) and makes its name known to the handlers.
func NewAgent(p *Profile) *ocf.Agent {
	extra = append(extra, p)
	return &ocf.Agent{Meta: declare(p), Aliases: p.Aliases, Handlers: handlers()}
}

// handlers serve every profile: the request names the agent.
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

// handle reads the configuration and runs one action on it.
func handle(ctx context.Context, r *ocf.Request, act action) error {
	p, ok := profile(r.Agent)
	if !ok {
		return ocf.Installed("no OpenStack profile named %s", r.Agent)
	}
	c, err := NewConfig(p, r.Params, r.StateDir())
	if err != nil {
		switch {
		case r.Action == "stop":
			// What start recorded is stopped whatever today's parameters
			// say; without a record nothing of ours runs, and a failed stop
			// gets the node fenced.
			if svc := recorded(p, r.StateDir(), r.Log); svc != nil {
				r.Log.Warnf("stop with an invalid configuration (%v): stopping what start recorded", err)
				return svc.stop(ctx)
			}
			r.Log.Warnf("stop with an invalid configuration (%v): nothing of ours runs", err)
			return nil
		case r.Action == "monitor" && r.Probe():
			return ocf.Stopped("invalid configuration: %v", err)
		case r.Action == "monitor":
			return ocf.Generic("%v", err)
		}
		return err
	}
	return act(ctx, r, c)
}

// recorded is the process service start recorded in stateDir, or nil.
func recorded(p *Profile, stateDir string, log *ocf.Logger) *processService {
	if !validStateDir(stateDir) {
		return nil
	}
	svc := &processService{c: &Config{Profile: p, StateDir: stateDir, Instance: filepath.Base(stateDir)}, log: log}
	rec, err := svc.readRecord()
	if err != nil {
		return nil
	}
	svc.c.PIDFile = rec.PIDFile
	return svc
}
