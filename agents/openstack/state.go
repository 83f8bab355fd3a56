package openstack

import (
	"context"
	"errors"
	"fmt"
	"syscall"

	"github.com/stackha/stackha/instance"
	"github.com/stackha/stackha/ocf"
)

// What start recorded (record.go) is what stop stops, with or without
// valid parameters: a record that exists but cannot be read fails the stop
// with a reason on every path, never a silent "nothing runs".

// stop stops what start recorded, then what the parameters name (the
// configured unit). A record that cannot be read fails the stop after
// that, unless the state directory itself is untrusted: nothing in it can
// be ours.
func stop(ctx context.Context, r *ocf.Request, c *Config) error {
	rec, rerr := loadRecord(c.Instance, c.Profile.Name)
	if c.DrainTimeout > 0 && rerr == nil && serves(ctx, r.Log, c, rec) {
		system.drain(ctx, c, r.Log)
	}
	if rec != nil {
		if err := stopRecorded(ctx, r.Log, rec); err != nil {
			return err
		}
	}
	if c.Mode == ModeSystemd && (rec == nil || rec.Mode != ModeSystemd || rec.Unit != c.Unit) {
		u := &unitService{unit: c.Unit, log: r.Log}
		err := u.stop(ctx)
		u.close()
		if err != nil {
			return err
		}
	}
	if rerr != nil {
		if ue := (*instance.UntrustedError)(nil); errors.As(rerr, &ue) {
			r.Log.Warnf("%v: nothing in it can be ours; stopped what the parameters name", rerr)
			return nil
		}
		return fmt.Errorf("%w: what it names was not stopped; stop it by hand, then remove the record", rerr)
	}
	if rec != nil {
		forget(r.Log, c.Instance, c.Profile.Name, rec)
	}
	return nil
}

// serves reports whether what stop is about to stop runs: what start
// recorded, or the configured unit.
func serves(ctx context.Context, log *ocf.Logger, c *Config, rec *record) bool {
	if rec == nil && c.Mode == ModeSystemd {
		rec = &record{Mode: ModeSystemd, Unit: c.Unit}
	}
	if rec == nil {
		return false
	}
	runs, err := recordedRuns(ctx, log, rec)
	return err == nil && runs
}

// stopFromState is stop when the parameters are invalid: it stops what
// start recorded, from the record alone.
func stopFromState(ctx context.Context, r *ocf.Request) error {
	name, err := r.Name()
	if err != nil {
		return err
	}
	agent := profileName(r.Agent)
	rec, err := loadRecord(name, agent)
	if err != nil {
		return fmt.Errorf("%w: nothing was stopped; stop what it names by hand, then remove the record", err)
	}
	if rec == nil {
		r.Log.Infof("no record of a start: nothing of ours can be running")
		return nil
	}
	if err := stopRecorded(ctx, r.Log, rec); err != nil {
		return err
	}
	forget(r.Log, name, agent, rec)
	return nil
}

// probeFromState is a probe when the parameters are invalid: nil when
// what start recorded still runs (the runtime then fails the probe: it
// runs, misconfigured), ocf.Stopped when nothing of it does.
func probeFromState(ctx context.Context, r *ocf.Request) error {
	name, err := r.Name()
	if err != nil {
		return err
	}
	rec, err := loadRecord(name, profileName(r.Agent))
	if err != nil {
		return err
	}
	if rec == nil {
		return ocf.Stopped("no record of a start")
	}
	runs, err := recordedRuns(ctx, r.Log, rec)
	if err != nil {
		return err
	}
	if !runs {
		return ocf.Stopped("%s, which start recorded, no longer runs", describe(rec))
	}
	return nil
}

// guardRecord keeps start from overwriting (and so losing) the record of
// something an earlier start started that still runs and that this start
// would not take for itself.
func guardRecord(ctx context.Context, c *Config, log *ocf.Logger) error {
	rec, err := loadRecord(c.Instance, c.Profile.Name)
	if err != nil {
		return fmt.Errorf("%w; start would lose track of what it names: stop that by hand, then remove the record", err)
	}
	switch {
	case rec == nil:
		return nil
	case rec.Mode == ModeSystemd && c.Mode == ModeSystemd && rec.Unit == c.Unit:
		return nil
	case rec.Mode == ModeProcess && c.Mode == ModeProcess:
		leader, members, err := sessionLeft(*rec.Process)
		if err != nil || leader || len(members) == 0 {
			return err // the leader is what start finds running
		}
		return ocf.Generic("%d processes of the session of pid %d, which an earlier start started, still run: stop the resource first",
			len(members), rec.Process.PID)
	}
	runs, err := recordedRuns(ctx, log, rec)
	if err != nil {
		return err
	}
	if runs {
		return ocf.Generic("%s, which an earlier start started, still runs: stop the resource first", describe(rec))
	}
	return nil
}

// stopRecorded stops what rec names and, for a process, removes the pid
// file start wrote (if it still holds the recorded pid).
func stopRecorded(ctx context.Context, log *ocf.Logger, rec *record) error {
	if rec.Mode == ModeSystemd {
		u := &unitService{unit: rec.Unit, log: log}
		defer u.close()
		return u.stop(ctx)
	}
	id := *rec.Process
	stopper := stopSession
	if rec.UWSGI {
		stopper = stopUWSGI
	}
	if err := stopper(ctx, id, log); err != nil {
		return err
	}
	if rec.PIDFile != "" {
		t := instance.Trust{UID: int(id.UID), GID: rec.GID}
		if err := removePIDFile(rec.PIDFile, id.PID, t); err != nil {
			log.Warnf("%v", err)
		}
	}
	return nil
}

// recordedRuns reports whether anything of what rec names still runs: the
// process or a member of its session, or the unit.
func recordedRuns(ctx context.Context, log *ocf.Logger, rec *record) (bool, error) {
	if rec.Mode == ModeProcess {
		leader, members, err := sessionLeft(*rec.Process)
		return leader || len(members) > 0, err
	}
	u := &unitService{unit: rec.Unit, log: log}
	defer u.close()
	s, err := u.state(ctx)
	if err != nil {
		if ocf.CodeOf(err) == ocf.ErrInstalled { // no systemd here
			return false, nil
		}
		return false, err
	}
	switch s.ActiveState {
	case "inactive", "failed", "":
		return false, nil
	}
	return s.LoadState == "loaded", nil
}

// forget ends the drain agent rec names and removes the record, once
// the service it names is stopped; a failure is a warning (the work is
// done).
func forget(log *ocf.Logger, name, agent string, rec *record) {
	if rec.Agent != nil {
		// Once the service has stopped: haproxy keeps the server drained
		// until the next start's agent says "ready".
		if err := rec.Agent.Signal(syscall.SIGTERM); err != nil {
			log.Warnf("drain agent %d: %v", rec.Agent.PID, err)
		}
	}
	if err := removeRecord(name, agent); err != nil {
		log.Warnf("stopped, but the record stays: %v", err)
	}
}

func describe(rec *record) string {
	if rec.Mode == ModeSystemd {
		return "unit " + rec.Unit
	}
	return fmt.Sprintf("pid %d (and its session)", rec.Process.PID)
}
