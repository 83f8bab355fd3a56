package openstack

import (
	"context"
	"fmt"
	"syscall"
	"time"

	sdbus "github.com/coreos/go-systemd/v22/dbus"

	"github.com/stackha/stackha/ocf"
)

// UnitState is what the agent reads of a unit.
type UnitState struct {
	LoadState   string // loaded, not-found, masked, error, ...
	ActiveState string // active, reloading, inactive, failed, activating, deactivating
	SubState    string
	Result      string // the service's Result: success, exit-code, signal, timeout, ...
}

// Systemd is the part of systemd's D-Bus API the agent uses; tests drive
// every path through a fake.
type Systemd interface {
	State(ctx context.Context, unit string) (UnitState, error)
	// Start and Stop queue a job (mode "replace") and wait for its result
	// ("done", "failed", "timeout", "canceled", "dependency", "skipped").
	Start(ctx context.Context, unit string) (string, error)
	Stop(ctx context.Context, unit string) (string, error)
	// Reload is daemon-reload: systemd reads the units and drop-ins again.
	Reload(ctx context.Context) error
	// Kill sends signal to every process of the unit.
	Kill(ctx context.Context, unit string, signal syscall.Signal) error
	Close()
}

// DialSystemd connects to systemd; a test replaces it.
var DialSystemd = func(ctx context.Context) (Systemd, error) {
	// the system bus, else (as root) systemd's private socket
	conn, err := sdbus.NewWithContext(ctx)
	if err != nil {
		return nil, err
	}
	return &dbusSystemd{conn: conn}, nil
}

type dbusSystemd struct{ conn *sdbus.Conn }

func (d *dbusSystemd) State(ctx context.Context, unit string) (UnitState, error) {
	props, err := d.conn.GetUnitPropertiesContext(ctx, unit)
	if err != nil {
		return UnitState{}, err
	}
	s := UnitState{}
	s.LoadState, _ = props["LoadState"].(string)
	s.ActiveState, _ = props["ActiveState"].(string)
	s.SubState, _ = props["SubState"].(string)
	if s.LoadState == "loaded" {
		if p, err := d.conn.GetServicePropertyContext(ctx, unit, "Result"); err == nil {
			s.Result, _ = p.Value.Value().(string)
		}
	}
	return s, nil
}

func (d *dbusSystemd) job(ctx context.Context, call func(context.Context, string, string, chan<- string) (int, error), unit string) (string, error) {
	ch := make(chan string, 1)
	if _, err := call(ctx, unit, "replace", ch); err != nil {
		return "", err
	}
	select {
	case res := <-ch:
		return res, nil
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

func (d *dbusSystemd) Start(ctx context.Context, unit string) (string, error) {
	return d.job(ctx, d.conn.StartUnitContext, unit)
}

func (d *dbusSystemd) Stop(ctx context.Context, unit string) (string, error) {
	return d.job(ctx, d.conn.StopUnitContext, unit)
}

func (d *dbusSystemd) Reload(ctx context.Context) error { return d.conn.ReloadContext(ctx) }

func (d *dbusSystemd) Kill(ctx context.Context, unit string, signal syscall.Signal) error {
	return d.conn.KillUnitWithTarget(ctx, unit, sdbus.All, int32(signal))
}

func (d *dbusSystemd) Close() { d.conn.Close() }

// unitService runs the service as a systemd unit (run_mode=systemd).
type unitService struct {
	unit  string
	c     *Config // nil when stopping from the record
	log   *ocf.Logger
	sd    Systemd
	last  UnitState
	since time.Time // when start began: the journal lines of this start
}

// connect opens the D-Bus connection; no systemd on this node is exit 5.
func (u *unitService) connect(ctx context.Context) error {
	if u.sd != nil {
		return nil
	}
	sd, err := DialSystemd(ctx)
	if err != nil {
		return ocf.Installed("run_mode=systemd but systemd does not answer on D-Bus here (%v); use run_mode=process on a node without systemd", err)
	}
	u.sd = sd
	return nil
}

func (u *unitService) close() {
	if u.sd != nil {
		u.sd.Close()
	}
}

func (u *unitService) state(ctx context.Context) (UnitState, error) {
	if err := u.connect(ctx); err != nil {
		return UnitState{}, err
	}
	s, err := u.sd.State(ctx, u.unit)
	if err != nil {
		return s, ocf.Generic("reading the state of unit %s: %w", u.unit, err)
	}
	u.last = s
	return s, nil
}

func (u *unitService) installed(ctx context.Context) error {
	s, err := u.state(ctx)
	if err != nil {
		return err
	}
	switch s.LoadState {
	case "loaded":
		return nil
	case "not-found", "":
		return ocf.Installed("unit %s is not installed on this node", u.unit)
	case "masked":
		return ocf.Installed("unit %s is masked on this node", u.unit)
	}
	return ocf.Installed("unit %s cannot be loaded (%s)", u.unit, s.LoadState)
}

// validate: beyond installed, the unit must not listen, nor be about to
// listen, on every address (listen.go).
func (u *unitService) validate(ctx context.Context) error {
	if err := u.wouldListenEverywhere(); err != nil {
		return err
	}
	if u.last.ActiveState == "active" {
		return u.listensEverywhere(u.c.Port)
	}
	return nil
}

// running: active or reloading is running; inactive is cleanly stopped;
// failed is stopped too, with the unit's result, as Pacemaker's systemd
// class answers (ActiveState other than active, reloading, activating,
// deactivating: not running, the state as the reason); activating and
// deactivating (which Pacemaker takes for pending) are errors here.
func (u *unitService) running(ctx context.Context) (bool, error) {
	s, err := u.state(ctx)
	if err != nil {
		return false, err
	}
	switch s.ActiveState {
	case "active", "reloading":
		return true, nil
	case "inactive", "":
		return false, nil
	case "failed":
		return false, ocf.Stopped("unit %s failed (%s, result %s)", u.unit, s.SubState, s.Result)
	}
	return false, ocf.Generic("unit %s is %s (%s)", u.unit, s.ActiveState, s.SubState)
}

// start puts the drop-in (unitfiles.go) in front of the unit, reloads
// systemd when it changed, and waits for the start job.
func (u *unitService) start(ctx context.Context) error {
	if err := u.connect(ctx); err != nil {
		return err
	}
	u.since = time.Now()
	changed, err := writeDropIn(u.unit)
	if err != nil {
		return ocf.Generic("unit %s: the drop-in that keeps systemd from restarting it: %w", u.unit, err)
	}
	if changed {
		if err := u.sd.Reload(ctx); err != nil {
			return ocf.Generic("reloading systemd after writing %s/%s.d/%s: %w", DropInRoot, u.unit, dropInName, err)
		}
	}
	res, err := u.sd.Start(ctx, u.unit)
	if err != nil {
		return ocf.Generic("starting unit %s: %w", u.unit, err)
	}
	if res != "done" {
		s, _ := u.state(ctx)
		return ocf.Generic("starting unit %s: job %s (%s/%s, result %s)%s", u.unit, res, s.ActiveState, s.SubState, s.Result,
			journalReason(ctx, u.unit, u.since))
	}
	u.log.Infof("unit %s started", u.unit)
	return nil
}

func (u *unitService) died(ctx context.Context) (bool, string) {
	s, err := u.state(ctx)
	if err != nil {
		return false, ""
	}
	switch s.ActiveState {
	case "failed", "inactive":
		return true, fmt.Sprintf("unit %s is %s (%s, result %s)", u.unit, s.ActiveState, s.SubState, s.Result)
	}
	return false, ""
}

func (u *unitService) diagnosis(ctx context.Context) string {
	return fmt.Sprintf("unit %s is %s/%s, result %s%s", u.unit, u.last.ActiveState, u.last.SubState, u.last.Result,
		journalReason(ctx, u.unit, u.since))
}

func (u *unitService) stop(ctx context.Context) error {
	if err := u.connect(ctx); err != nil {
		if ocf.CodeOf(err) == ocf.ErrInstalled {
			u.log.Infof("no systemd here: nothing of ours runs")
			return nil
		}
		return err
	}
	s, err := u.state(ctx)
	if err != nil {
		return err
	}
	if s.LoadState != "loaded" || s.ActiveState == "inactive" || s.ActiveState == "failed" {
		u.log.Infof("unit %s is %s/%s: nothing to stop", u.unit, s.LoadState, s.ActiveState)
		return u.forgetDropIn(ctx)
	}
	res, err := u.stopJob(ctx)
	if err != nil {
		return ocf.Generic("stopping unit %s: %w", u.unit, err)
	}
	s, err = u.state(ctx)
	if err != nil {
		return err
	}
	if s.ActiveState != "inactive" && s.ActiveState != "failed" {
		return ocf.Generic("stopping unit %s: job %s, unit still %s/%s", u.unit, res, s.ActiveState, s.SubState)
	}
	return u.forgetDropIn(ctx)
}

// killReserve is what stop keeps of its deadline to kill a unit whose own
// stop outlasts it.
const killReserve = 5 * time.Second

// stopJob runs the unit's stop job. A unit whose stop would outlast the
// operation (its TimeoutStopSec is longer: neutron-api's is systemd's 90 s
// default, and Debian's uwsgi can hang on SIGTERM until it) is killed
// (SIGKILL to every process) killReserve before the deadline, so that the
// stop ends in time rather than failing (which Pacemaker answers by
// fencing the node).
func (u *unitService) stopJob(ctx context.Context) (string, error) {
	dl, ok := ctx.Deadline()
	if !ok || time.Until(dl) <= 2*killReserve {
		return u.sd.Stop(ctx, u.unit)
	}
	jctx, cancel := context.WithDeadline(ctx, dl.Add(-killReserve))
	defer cancel()
	t0 := time.Now()
	res, err := u.sd.Stop(jctx, u.unit)
	if err == nil || jctx.Err() == nil || ctx.Err() != nil {
		return res, err
	}
	u.log.Warnf("unit %s did not stop within %s (its own stop timeout is longer than the operation's): killing every process of it with SIGKILL",
		u.unit, time.Since(t0).Round(time.Second))
	if err := u.sd.Kill(ctx, u.unit, syscall.SIGKILL); err != nil {
		return "", fmt.Errorf("killing it after its stop outlasted the operation: %w", err)
	}
	for {
		s, err := u.state(ctx)
		if err != nil {
			return "", err
		}
		if s.ActiveState == "inactive" || s.ActiveState == "failed" {
			return "killed", nil
		}
		select {
		case <-ctx.Done():
			return "", fmt.Errorf("still %s/%s after SIGKILL: %w", s.ActiveState, s.SubState, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// forgetDropIn removes the drop-in once the unit is inactive, and reloads
// systemd when there was one: the unit is the distribution's again.
func (u *unitService) forgetDropIn(ctx context.Context) error {
	removed, err := removeDropIn(u.unit)
	if err != nil {
		return ocf.Generic("unit %s stopped, but its drop-in stays: %w", u.unit, err)
	}
	if removed {
		if err := u.sd.Reload(ctx); err != nil {
			return ocf.Generic("unit %s stopped, its drop-in removed, but reloading systemd failed: %w", u.unit, err)
		}
	}
	return nil
}
