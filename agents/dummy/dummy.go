// Package dummy is the ocf:stackha:dummy agent, the smallest complete
// stackha agent (after Pacemaker's ocf:pacemaker:Dummy): start records the
// instance's parameters with the instance layer, monitor finds the record,
// stop removes it. No process runs. Operators try constraints and timeouts
// with it; docs/adding-an-agent.md walks through it as the template of a
// new agent, and the conformance walk drives it with ocf-tester.
package dummy

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"time"

	"github.com/stackha/stackha/instance"
	"github.com/stackha/stackha/ocf"
)

// kind names the record start saves in the instance's state directory.
var kind = instance.Kind{Name: "dummy", Version: 1}

// record is what start saves: while it exists, the instance runs.
type record struct {
	State string `json:"state"`
	Fake  string `json:"fake"`
}

// settings is the configuration every action reads (r.Config).
type settings struct {
	rec   record        // what start records
	sleep time.Duration // op_sleep
}

// maxState bounds the state text (a record has a size limit).
const maxState = 4096

// remove is instance.Remove; tests make it fail.
var remove = instance.Remove

func init() {
	ocf.Register("dummy", func() *ocf.Agent {
		return &ocf.Agent{
			Meta: Meta,
			Handlers: map[string]ocf.Handler{"start": start, "stop": stop, "monitor": monitor,
				"reload-agent": reload, "validate-all": validate},
			Configure:      configure,
			StopFromState:  stopFromState,
			ProbeFromState: probeFromState,
		}
	})
}

// configure turns the parameters, already typed and in their ranges, into
// the settings. Its error is an invalid configuration: exit 6, while stop
// and a probe work from the record.
func configure(r *ocf.Request) (any, error) {
	state := r.Params.String("state")
	if len(state) > maxState {
		return nil, ocf.Configured("parameter state is %d bytes long: at most %d", len(state), maxState)
	}
	return &settings{rec: record{State: state, Fake: r.Params.String("fake")}, sleep: r.Params.Duration("op_sleep")}, nil
}

func start(ctx context.Context, r *ocf.Request) error { return save(ctx, r, true) }

// reload is reload-agent (OCF 1.1): a running instance records new values.
func reload(ctx context.Context, r *ocf.Request) error { return save(ctx, r, false) }

// save records the settings: start always (a running instance's too),
// reload-agent only when the instance runs.
func save(ctx context.Context, r *ocf.Request, starting bool) error {
	s := r.Config.(*settings)
	if err := pause(ctx, s.sleep); err != nil {
		return err
	}
	name, rec, err := load(r)
	switch {
	case err != nil:
		return err
	case rec == nil && !starting, rec != nil && *rec == s.rec:
		return nil
	}
	return instance.Save(name, kind, &s.rec)
}

func monitor(ctx context.Context, r *ocf.Request) error {
	if err := pause(ctx, r.Config.(*settings).sleep); err != nil {
		return err
	}
	return probeFromState(ctx, r)
}

// probeFromState is monitor from the record alone: running while it
// exists, 7 without one, 1 when it cannot be read.
func probeFromState(_ context.Context, r *ocf.Request) error {
	_, rec, err := load(r)
	if err == nil && rec == nil {
		return ocf.Stopped("no record: not running")
	}
	return err
}

// stop removes the record. Nothing but the record is ours, so a state
// directory that fails its checks holds nothing of ours: a warning.
func stop(ctx context.Context, r *ocf.Request) error {
	if err := pause(ctx, r.Config.(*settings).sleep); err != nil {
		return err
	}
	err := stopFromState(ctx, r)
	if instance.Untrusted(err) {
		r.Log.Warnf("stop: %v: nothing in it can be ours", err)
		return nil
	}
	return err
}

// stopFromState is stop from the record alone: no record is success, one
// that cannot be read fails the stop (it is never taken for "nothing"), and
// so does one that cannot be removed (it is the resource).
func stopFromState(_ context.Context, r *ocf.Request) error {
	name, rec, err := load(r)
	if err != nil || rec == nil {
		return err
	}
	return remove(name, kind)
}

// validate is validate-all beyond the parameters (the runtime checked
// them): at OCF_CHECK_LEVEL 10, that this node can keep the record.
func validate(_ context.Context, r *ocf.Request) error {
	if r.CheckLevel < 10 {
		return nil
	}
	d, err := instance.OpenDir(instance.Root, instance.RootOnly)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil // start makes it
	case err != nil:
		return ocf.Args("this node cannot keep the record: %v", err)
	}
	d.Close()
	return nil
}

// load reads the instance's record: nil without one, an error when one
// exists but cannot be read or its directory fails the checks.
func load(r *ocf.Request) (string, *record, error) {
	name, err := r.Name()
	if err != nil {
		return "", nil, err
	}
	var rec record
	if found, err := instance.Load(name, kind, &rec); !found {
		return name, nil, err
	}
	return name, &rec, nil
}

// pause waits op_sleep; the operation's deadline cuts the wait short.
func pause(ctx context.Context, d time.Duration) error {
	select {
	case <-time.After(d):
		return nil
	case <-ctx.Done():
		return fmt.Errorf("op_sleep %s: %w", d, ctx.Err())
	}
}
