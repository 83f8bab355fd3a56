package openstack

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stackha/stackha/ocf"
)

// fakeSystemd plays systemd's D-Bus API: a unit's state, and what start and
// stop jobs do to it.
type fakeSystemd struct {
	mu        sync.Mutex
	units     map[string]*UnitState
	startRes  string     // job result of Start ("done" when empty)
	afterRun  *UnitState // state a done start job leaves (active when nil)
	stopRes   string
	stopKeep  bool // a stop job that leaves the unit running
	stopHang  bool // a stop job that does not end (a unit's long TimeoutStopSec) until Kill
	stateErr  error
	reloadErr error
	calls     []string
}

func (f *fakeSystemd) log(format string, args ...any) {
	f.calls = append(f.calls, fmt.Sprintf(format, args...))
}

func (f *fakeSystemd) State(ctx context.Context, unit string) (UnitState, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.log("state %s", unit)
	if f.stateErr != nil {
		return UnitState{}, f.stateErr
	}
	if s, ok := f.units[unit]; ok {
		return *s, nil
	}
	return UnitState{LoadState: "not-found", ActiveState: "inactive", SubState: "dead"}, nil
}

func (f *fakeSystemd) Start(ctx context.Context, unit string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.log("start %s", unit)
	res := f.startRes
	if res == "" {
		res = "done"
	}
	if s, ok := f.units[unit]; ok {
		switch {
		case res != "done":
			*s = UnitState{LoadState: "loaded", ActiveState: "failed", SubState: "failed", Result: "exit-code"}
		case f.afterRun != nil:
			*s = *f.afterRun
		default:
			*s = UnitState{LoadState: "loaded", ActiveState: "active", SubState: "running", Result: "success"}
		}
	}
	return res, nil
}

func (f *fakeSystemd) Stop(ctx context.Context, unit string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.log("stop %s", unit)
	if f.stopHang {
		f.mu.Unlock()
		<-ctx.Done()
		f.mu.Lock()
		return "", ctx.Err()
	}
	res := f.stopRes
	if res == "" {
		res = "done"
	}
	if s, ok := f.units[unit]; ok && !f.stopKeep {
		*s = UnitState{LoadState: "loaded", ActiveState: "inactive", SubState: "dead", Result: "success"}
	}
	return res, nil
}

func (f *fakeSystemd) Reload(ctx context.Context) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.log("reload")
	return f.reloadErr
}

func (f *fakeSystemd) Kill(ctx context.Context, unit string, sig syscall.Signal) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.log("kill %s %d", unit, sig)
	if s, ok := f.units[unit]; ok && sig == syscall.SIGKILL {
		*s = UnitState{LoadState: "loaded", ActiveState: "failed", SubState: "failed", Result: "signal"}
	}
	return nil
}

func (f *fakeSystemd) Close() {}

// useSystemd makes the agents dial f (or fail with err) for the test.
func useSystemd(t *testing.T, f *fakeSystemd, err error) {
	t.Helper()
	old := DialSystemd
	DialSystemd = func(context.Context) (Systemd, error) {
		if err != nil {
			return nil, err
		}
		return f, nil
	}
	t.Cleanup(func() {
		DialSystemd = old
		os.RemoveAll(DropInRoot)
		os.Mkdir(DropInRoot, 0o755)
		for _, p := range Profiles {
			removeRecord(testInstance, p.Name)
		}
	})
}

func loaded(active string) *UnitState {
	sub := map[string]string{"active": "running", "inactive": "dead", "failed": "failed", "activating": "start"}[active]
	return &UnitState{LoadState: "loaded", ActiveState: active, SubState: sub}
}

// TestSystemdMode drives every path of run_mode=systemd through the fake:
// the D-Bus calls, the unit states, the exit codes and reasons.
func TestSystemdMode(t *testing.T) {
	srv := versionServer(t, 300, keystoneDoc)
	base := map[string]string{"run_mode": "systemd", "unit": "sho-keystone.service", "url": srv}
	op := runOpts{timeoutMS: 5000}
	mon := runOpts{timeoutMS: 5000, intervalMS: 10000}
	probe := runOpts{timeoutMS: 5000}
	noSystemd := errors.New("dial unix /run/dbus/system_bus_socket: connect: no such file or directory")

	type step struct {
		action string
		o      runOpts
		code   ocf.Code
		reason string
	}
	cases := []struct {
		name  string
		fake  *fakeSystemd
		dial  error
		steps []step
		calls string // the fake's calls, joined; "" skips the check
	}{
		{name: "no systemd", dial: noSystemd, steps: []step{
			{"start", op, ocf.ErrInstalled, "systemd does not answer on D-Bus"},
			{"monitor", probe, ocf.NotRunning, ""},
			{"monitor", mon, ocf.ErrInstalled, "use run_mode=process"},
			{"stop", op, ocf.Success, ""},
			{"validate-all", op, ocf.ErrInstalled, "systemd does not answer"},
		}},
		{name: "unit not installed", fake: &fakeSystemd{units: map[string]*UnitState{}}, steps: []step{
			{"start", op, ocf.ErrInstalled, "unit sho-keystone.service is not installed"},
			{"monitor", probe, ocf.NotRunning, ""},
			{"monitor", mon, ocf.NotRunning, ""},
			{"stop", op, ocf.Success, ""},
		}},
		{name: "masked", fake: &fakeSystemd{units: map[string]*UnitState{"sho-keystone.service": {LoadState: "masked", ActiveState: "inactive"}}}, steps: []step{
			{"start", op, ocf.ErrInstalled, "masked"},
		}},
		{name: "start, monitor, stop", fake: &fakeSystemd{units: map[string]*UnitState{"sho-keystone.service": loaded("inactive")}}, steps: []step{
			{"monitor", probe, ocf.NotRunning, ""},
			{"start", op, ocf.Success, ""},
			{"monitor", mon, ocf.Success, ""},
			{"start", op, ocf.Success, ""},
			{"stop", op, ocf.Success, ""},
			{"monitor", mon, ocf.NotRunning, ""},
			{"stop", op, ocf.Success, ""},
		}, calls: "state state | state state reload start state | state state | state state state | state stop state reload | state state | state"},
		{name: "start job fails", fake: &fakeSystemd{units: map[string]*UnitState{"sho-keystone.service": loaded("inactive")}, startRes: "failed"}, steps: []step{
			{"start", op, ocf.ErrGeneric, `job failed (failed/failed, result exit-code); last lines of its journal: "line 1"; "bad \x1b[31m"`},
			{"monitor", mon, ocf.NotRunning, ""}, // as Pacemaker's systemd class
			{"monitor", probe, ocf.NotRunning, ""},
			{"stop", op, ocf.Success, ""},
		}},
		{name: "unit dies after its start job", fake: &fakeSystemd{units: map[string]*UnitState{"sho-keystone.service": loaded("inactive")},
			afterRun: &UnitState{LoadState: "loaded", ActiveState: "failed", SubState: "failed", Result: "signal"}}, steps: []step{
			{"start", op, ocf.ErrGeneric, "ended while starting (unit sho-keystone.service is failed (failed, result signal))"},
		}},
		{name: "stop leaves it running", fake: &fakeSystemd{units: map[string]*UnitState{"sho-keystone.service": loaded("active")}, stopKeep: true, stopRes: "timeout"}, steps: []step{
			{"stop", op, ocf.ErrGeneric, "job timeout, unit still active/running"},
		}},
		// neutron-api's TimeoutStopSec is systemd's 90 s default: a uwsgi
		// that hangs on SIGTERM would outlast the stop; it is killed first
		{name: "stop job outlasts the operation", fake: &fakeSystemd{units: map[string]*UnitState{"sho-keystone.service": loaded("active")}, stopHang: true}, steps: []step{
			{"stop", runOpts{timeoutMS: 12000}, ocf.Success, ""},
			{"monitor", mon, ocf.NotRunning, ""},
		}},
		{name: "activating", fake: &fakeSystemd{units: map[string]*UnitState{"sho-keystone.service": loaded("activating")}}, steps: []step{
			{"monitor", mon, ocf.ErrGeneric, "is activating"},
		}},
		{name: "reload fails", fake: &fakeSystemd{units: map[string]*UnitState{"sho-keystone.service": loaded("inactive")}, reloadErr: errors.New("org.freedesktop.DBus.Error.AccessDenied")}, steps: []step{
			{"start", op, ocf.ErrGeneric, "reloading systemd after writing"},
		}, calls: "state state reload"},
		{name: "D-Bus error", fake: &fakeSystemd{units: map[string]*UnitState{}, stateErr: errors.New("org.freedesktop.DBus.Error.AccessDenied")}, steps: []step{
			{"monitor", mon, ocf.ErrGeneric, "AccessDenied"},
			{"stop", op, ocf.ErrGeneric, "AccessDenied"},
		}},
	}
	oldJournal := unitJournal
	unitJournal = func(ctx context.Context, unit string, since time.Time) string {
		return quoteLines("line 0\nline 1\n\nbad \x1b[31m\n", 2, 100)
	}
	t.Cleanup(func() { unitJournal = oldJournal })
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			useSystemd(t, tc.fake, tc.dial)
			var calls []string
			for i, s := range tc.steps {
				r := runAgent(t, "keystone", s.action, base, s.o)
				wantCode(t, fmt.Sprintf("step %d %s", i, s.action), r, s.code)
				if s.reason != "" && !strings.Contains(r.reason(), s.reason) {
					t.Fatalf("step %d %s: reason %q lacks %q", i, s.action, r.reason(), s.reason)
				}
				if tc.fake != nil {
					calls = append(calls, strings.Join(shortCalls(tc.fake.calls), " "))
					tc.fake.calls = nil
				}
			}
			if tc.calls != "" {
				if got := strings.Join(calls, " | "); got != tc.calls {
					t.Errorf("D-Bus calls:\n got %s\nwant %s", got, tc.calls)
				}
			}
		})
	}
}

func shortCalls(calls []string) []string {
	var out []string
	for _, c := range calls {
		out = append(out, strings.Fields(c)[0])
	}
	return out
}

// Finding 2 (systemd): start records the unit it started, so a stop whose
// parameters the runtime rejects stops that unit, and a probe with such
// parameters of a unit that runs is never 7. A record that cannot be read
// (finding 8) fails the stop after the configured unit is stopped.
func TestSystemdFromState(t *testing.T) {
	srv := versionServer(t, 300, keystoneDoc)
	unit := "sho-keystone.service"
	fake := &fakeSystemd{units: map[string]*UnitState{unit: loaded("inactive")}}
	useSystemd(t, fake, nil)
	p := map[string]string{"run_mode": "systemd", "unit": unit, "url": srv}
	op := runOpts{timeoutMS: 5000}
	t.Cleanup(func() { removeRecord(testInstance, "keystone") })
	for _, bad := range []map[string]string{{"probe_timeout": "500s"}, {"degraded_ms": "999999"}, {"os_password": "x"}} {
		wantCode(t, "start", runAgent(t, "keystone", "start", p, op), ocf.Success)
		r := runAgent(t, "keystone", "monitor", merge(p, bad), op)
		wantCode(t, fmt.Sprintf("probe with %v", bad), r, ocf.ErrGeneric, "runs (as its record shows) but its configuration is invalid")
		fake.calls = nil
		wantCode(t, fmt.Sprintf("stop with %v", bad), runAgent(t, "keystone", "stop", merge(p, bad), op), ocf.Success)
		if got := strings.Join(fake.calls, ", "); !strings.Contains(got, "stop "+unit) {
			t.Errorf("stop with %v drove %s, want a stop of %s", bad, got, unit)
		}
		if s := fake.units[unit]; s.ActiveState != "inactive" {
			t.Errorf("unit %s is %s after stop", unit, s.ActiveState)
		}
		wantCode(t, "probe after stop", runAgent(t, "keystone", "monitor", merge(p, bad), op), ocf.NotRunning)
	}
	// the record names the unit start started, even when the parameters
	// name another now
	wantCode(t, "start", runAgent(t, "keystone", "start", p, op), ocf.Success)
	fake.units["sho-other.service"] = loaded("inactive")
	fake.calls = nil
	wantCode(t, "stop, unit changed", runAgent(t, "keystone", "stop", merge(p, map[string]string{"unit": "sho-other.service"}), op), ocf.Success)
	if fake.units[unit].ActiveState != "inactive" {
		t.Errorf("stop with another unit configured left the recorded %s %s", unit, fake.units[unit].ActiveState)
	}
	// a record that cannot be read: the configured unit is stopped, and
	// the stop fails with the reason
	wantCode(t, "start", runAgent(t, "keystone", "start", p, op), ocf.Success)
	b, err := os.ReadFile(recordPath("keystone"))
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(recordPath("keystone"), b[:len(b)/2], 0o600)
	wantCode(t, "stop, truncated record", runAgent(t, "keystone", "stop", p, op), ocf.ErrGeneric, "record")
	if fake.units[unit].ActiveState != "inactive" {
		t.Errorf("stop with a truncated record did not stop the configured unit")
	}
	wantCode(t, "stop from state, truncated record", runAgent(t, "keystone", "stop", merge(p, map[string]string{"os_password": "x"}), op),
		ocf.ErrGeneric, "record")
	wantCode(t, "probe, truncated record", runAgent(t, "keystone", "monitor", merge(p, map[string]string{"os_password": "x"}), op),
		ocf.ErrGeneric, "record")
	wantCode(t, "start, truncated record", runAgent(t, "keystone", "start", p, op), ocf.ErrGeneric, "record")
	os.Remove(recordPath("keystone"))
	wantCode(t, "stop, no record", runAgent(t, "keystone", "stop", p, op), ocf.Success)
}
