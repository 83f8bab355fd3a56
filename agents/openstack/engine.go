package openstack

import (
	"context"
	"fmt"
	"time"

	"github.com/stackha/stackha/ocf"
)

// service is one way of running the service: a systemd unit or a process.
type service interface {
	// installed reports (exit 5) what is missing on this node to run it.
	installed(ctx context.Context) error
	// validate checks, beyond installed, what start needs on this node.
	validate(ctx context.Context) error
	// running reports whether it runs; an error is a failed state.
	running(ctx context.Context) (bool, error)
	start(ctx context.Context) error
	// died reports whether it ended after start, and how.
	died(ctx context.Context) (bool, string)
	// diagnosis says what to look at after a failed start.
	diagnosis(ctx context.Context) string
	close()
}

// newService is how c runs the service; stopping is stop's (state.go),
// from what start recorded.
func newService(c *Config, log *ocf.Logger) service {
	if c.Mode == ModeSystemd {
		return &unitService{unit: c.Unit, c: c, log: log}
	}
	return &processService{c: c, log: log}
}

// startPoll is how often start checks whether the service answers (each
// check bounded by probe_timeout).
const startPoll = 250 * time.Millisecond

// validate is validate-all: at OCF_CHECK_LEVEL 0 the parameters only
// (they parsed, or the runtime would not have called it), safe on any
// node; at 10 (the default) also this node: the program, its user and
// configuration file, the credentials and CA files.
func validate(ctx context.Context, r *ocf.Request, c *Config) error {
	if r.CheckLevel < 10 {
		return nil
	}
	return checkNode(ctx, r, c)
}

// checkNode checks what start needs on this node.
func checkNode(ctx context.Context, r *ocf.Request, c *Config) error {
	svc := newService(c, r.Log)
	defer svc.close()
	if c.Credentials != "" {
		if _, err := LoadCredentials(c.Credentials, c.Cloud); err != nil {
			return err
		}
	}
	if c.CAFile != "" {
		if _, err := newClient(c.CAFile); err != nil {
			return err
		}
	}
	if err := svc.installed(ctx); err != nil {
		return err
	}
	return svc.validate(ctx)
}

func start(ctx context.Context, r *ocf.Request, c *Config) error {
	if err := checkNode(ctx, r, c); err != nil {
		return err
	}
	client, err := newClient(c.CAFile)
	if err != nil {
		return err
	}
	if err := guardRecord(ctx, c, r.Log); err != nil {
		return err
	}
	if err := undrain(c, r.Log); err != nil {
		return err
	}
	endAgent(c, r.Log)
	svc := newService(c, r.Log)
	defer svc.close()
	up, err := svc.running(ctx)
	if err != nil {
		r.Log.Warnf("before start: %v", err)
	}
	if c.Mode == ModeSystemd {
		// Recorded before the unit starts: a stop whose parameters no
		// longer parse stops what start started.
		if err := saveRecord(c.Instance, c.Profile.Name, &record{Mode: ModeSystemd, Unit: c.Unit}); err != nil {
			return fmt.Errorf("recording unit %s: %w", c.Unit, err)
		}
	}
	if !up {
		if c.Mode == ModeProcess {
			// Something we did not start answering at our url (the
			// distribution's own unit, say) would pass for ours.
			probe, cancel := context.WithTimeout(ctx, time.Second)
			_, err := getVersions(probe, client, c)
			cancel()
			if err == nil {
				return ocf.Generic("a %s not started by this agent already answers at %s: stop it (the distribution's own unit?) or use run_mode=systemd", c.Profile.Name, c.URL)
			}
		}
		if err := svc.start(ctx); err != nil {
			return err
		}
	} else {
		r.Log.Infof("already running; waiting for it to answer")
	}
	t0 := time.Now()
	var last error
	for {
		if dead, why := svc.died(ctx); dead {
			return ocf.Generic("%s ended while starting (%s); %s", c.Profile.Name, why, svc.diagnosis(ctx))
		}
		if _, last = getVersions(ctx, client, c); last == nil {
			r.Log.Infof("%s answers at %s after %s", c.Profile.Name, c.URL, time.Since(t0).Round(time.Millisecond))
			if us, ok := svc.(*unitService); ok {
				if err := us.listensEverywhere(c.Port); err != nil {
					return err
				}
			}
			if err := ensureAgent(ctx, r, c); err != nil {
				return ocf.Generic("%v", err)
			}
			return nil
		}
		r.Log.Debugf("not answering yet: %v", last)
		select {
		case <-ctx.Done():
			return ocf.Generic("%s did not answer within %s: %v; %s", c.Profile.Name, time.Since(t0).Round(time.Millisecond), last, svc.diagnosis(ctx))
		case <-time.After(startPoll):
		}
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < 2*reserve {
			return ocf.Generic("%s did not answer within %s: %v; %s", c.Profile.Name, time.Since(t0).Round(time.Millisecond), last, svc.diagnosis(ctx))
		}
	}
}

// reloadAgent applies a change of the parameters only monitor reads (url,
// probe_timeout, degraded_ms, ca_file and depth 20's inputs) and of the
// drain's (read by each stop and start): they are re-read on every run,
// so there is nothing to restart; reload-agent
// checks the new values as validate-all at level 0 would and says what
// monitor will use from now on. It never touches the service.
func reloadAgent(ctx context.Context, r *ocf.Request, c *Config) error {
	if c.CAFile != "" {
		if _, err := newClient(c.CAFile); err != nil {
			return err
		}
	}
	r.Log.Infof("reload-agent: monitor now asks %s within probe_timeout %s (degraded after %s; depth 20 credentials %q, keystone %q, auth_path %q); stop drains for %s",
		redact(c.URL.String()), c.ProbeTimeout, c.DegradedAfter, c.Credentials, c.KeystoneURL, c.AuthPath, c.DrainTimeout)
	return nil
}

func monitor(ctx context.Context, r *ocf.Request, c *Config) error {
	svc := newService(c, r.Log)
	defer svc.close()
	if us, ok := svc.(*unitService); ok {
		if err := us.installed(ctx); err != nil {
			// A unit that is not installed is not running; a node without
			// systemd is not installed, except to a probe.
			if r.Probe() || (ocf.CodeOf(err) == ocf.ErrInstalled && us.sd != nil) {
				return ocf.Stopped("%v", err)
			}
			return err
		}
	}
	up, err := svc.running(ctx)
	if err != nil {
		return err
	}
	if !up {
		return ocf.Stopped("%s is not running", c.Profile.Name)
	}
	client, err := newClient(c.CAFile)
	if err != nil {
		return err
	}
	a, err := getVersions(ctx, client, c)
	if err != nil {
		return err
	}
	if r.Interval > 0 && c.DrainAgentPort != 0 {
		// A dead drain agent is not a failure of the service.
		if err := ensureAgent(ctx, r, c); err != nil {
			r.Log.Warnf("%v", err)
		}
	}
	if r.CheckLevel >= 20 {
		if err := checkAuthenticated(ctx, client, c, r.Log); err != nil {
			return err
		}
	}
	// degraded only when every check of this depth passed
	return slowAnswer(c, a)
}
