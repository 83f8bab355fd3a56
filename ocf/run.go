package ocf

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/stackha/stackha/instance"
	"github.com/stackha/stackha/metadata"
)

// DefaultTimeout applies when Pacemaker passes no timeout and the agent
// declares none for the action.
const DefaultTimeout = 20 * time.Second

// The bounds of the operation attributes Pacemaker passes in milliseconds
// (CRM_meta_timeout, CRM_meta_interval). Inside them no arithmetic on the
// durations can wrap.
const (
	MinTimeout  = time.Millisecond
	MaxTimeout  = 7 * 24 * time.Hour
	MaxInterval = 365 * 24 * time.Hour
)

// Margin is how much of the operation's timeout the runtime keeps back, so
// the agent can still report why it ran out of time before Pacemaker kills
// it: a tenth of the timeout, at least 100 ms and at most 2 s, and never
// more than half the timeout (so the agent's deadline is always ahead).
func Margin(timeout time.Duration) time.Duration {
	m := timeout / 10
	if m < 100*time.Millisecond {
		m = 100 * time.Millisecond
	}
	if m > 2*time.Second {
		m = 2 * time.Second
	}
	if m > timeout/2 {
		m = timeout / 2
	}
	return m
}

// Streams are the standard output and error the runtime writes to.
type Streams struct {
	Stdout, Stderr io.Writer
}

// Run runs one action of agent a, invoked as name, with args (args[0] is
// the action) and the environment env, and returns the exit code. It never
// panics: a panic in the agent becomes OCF_ERR_GENERIC with a reason.
func Run(a *Agent, name string, args []string, env Env, s Streams) Code {
	if len(args) == 0 {
		usage(a, name, s.Stderr)
		return exitReason(s.Stderr, env, ErrArgs, "no action given; see usage")
	}
	action := args[0]
	switch action {
	case "usage", "help", "--help", "-h":
		usage(a, name, s.Stdout)
		return Success
	case "meta-data":
		return metaData(a, name, env, s)
	}
	decl, declared := a.Meta.Action(action)
	if !declared && action != "validate-all" {
		usage(a, name, s.Stderr)
		return exitReason(s.Stderr, env, ErrUnimplemented, fmt.Sprintf("action %q is not implemented by %s", action, name))
	}
	inst := get(env, "OCF_RESOURCE_INSTANCE")
	if err := CheckInstance(inst); err != nil {
		if action == "stop" {
			// Nothing can have been started under an id that start refuses,
			// and a failed stop gets the node fenced: succeed, touch nothing.
			fmt.Fprintf(s.Stderr, "%s: stop: %s: nothing of ours can be running\n", name, Sanitize(err.Error()))
			return Success
		}
		return exitReason(s.Stderr, env, ErrArgs, err.Error())
	}

	r := &Request{Agent: name, Action: action, Instance: inst, CRMMeta: crmMeta(env)}
	r.Log = NewLogger(logConfigFromEnv(env, name, r.Instance, s.Stderr))
	defer r.Log.Close()
	var warnings []string
	r.Interval, r.Timeout, warnings = opTiming(r.CRMMeta, decl.Timeout)
	for _, w := range warnings {
		r.Log.Warnf("%s", w)
	}
	r.CheckLevel = checkLevel(env, action)
	r.OCF11 = CallerOCF11(env)
	r.Clone = cloneInfo(r.CRMMeta)
	r.Self, _ = os.Executable()

	start := time.Now()
	err := prepareAndRun(a, r, env)
	code := CodeOf(err)
	if code == RunningDegraded && !r.OCF11 {
		r.Log.Warnf("degraded (a 1.0 caller sees success): %v", err)
		code, err = Success, nil
	}
	took := time.Since(start)
	done := fmt.Sprintf("%s finished in %s: %d (%s)", action, took.Round(10*time.Microsecond), code, code)
	switch {
	case code == Success && action == "monitor":
		r.Log.Debugf("%s", done)
	case code == Success:
		r.Log.Infof("%s", done)
	case code == NotRunning && action == "monitor":
		r.Log.Infof("%s: %v", done, err)
	case code == RunningDegraded:
		r.Log.Warnf("%s: %v", done, err)
	default:
		r.Log.Errorf("%s: %v", done, err)
	}
	if code != Success && !(code == NotRunning && action == "monitor") && code != RunningDegraded {
		return exitReason(s.Stderr, env, code, err.Error())
	}
	return code
}

func prepareAndRun(a *Agent, r *Request, env Env) error {
	ctx, cancel := context.WithTimeout(context.Background(), r.Timeout-Margin(r.Timeout))
	defer cancel()
	params, warnings, perr := ParseParams(&a.Meta, env)
	r.Params = params
	for _, w := range warnings {
		r.Log.Warnf("%s", w)
	}
	if perr == nil && a.Configure != nil {
		r.Config, perr = configure(a, r)
	}
	if r.Action != "validate-all" {
		release, err := lock(ctx, r)
		if err != nil {
			return err
		}
		defer release()
	}
	if perr != nil {
		r.Config = nil
		return invalidConfig(ctx, a, r, perr)
	}
	h := a.Handlers[r.Action]
	switch {
	case h == nil && r.Action == "validate-all": // the parameters were all it checks
		return nil
	case h == nil: // declared but not handled: a bug Agent.Check finds in the tests
		return Unimplemented("action %s is declared but %s has no handler for it", r.Action, r.Agent)
	}
	return runHandler(ctx, h, r)
}

// configure runs the agent's Configure; a panic in it is an internal error.
func configure(a *Agent, r *Request) (c any, err error) {
	defer func() {
		if p := recover(); p != nil {
			r.Log.Errorf("panic in %s configure: %v\n%s", r.Agent, p, debug.Stack())
			c, err = nil, Generic("internal error in %s configure: %v", r.Agent, p)
		}
	}()
	return a.Configure(r)
}

// lock takes the instance's lock for the action (instance.Lock), waiting
// until ctx ends. Another action of the same instance holding it fails the
// action. A lock that cannot be taken at all (a read-only /run, a state
// directory that fails its checks) fails every action but stop and
// monitor: those go on without it and say so, as a failed stop gets the
// node fenced and a monitor must report what it sees.
func lock(ctx context.Context, r *Request) (func(), error) {
	name, err := r.Name()
	if err == nil {
		var release func()
		if release, err = instance.Lock(ctx, name, r.Action); err == nil {
			return release, nil
		}
	}
	if errors.Is(err, instance.ErrBusy) {
		return nil, Generic("%s: %w", r.Action, err)
	}
	if r.Action == "stop" || r.Action == "monitor" {
		r.Log.Warnf("%s without the instance's lock: %v", r.Action, err)
		return func() {}, nil
	}
	return nil, Generic("taking the instance's lock: %w", err)
}

// invalidConfig is the one policy for an action whose configuration does
// not parse (perr): stop and probe work from what start recorded, a
// recurring monitor fails without stopping the resource everywhere, every
// other action fails with perr's code.
func invalidConfig(ctx context.Context, a *Agent, r *Request, perr error) error {
	switch {
	case r.Action == "stop" && a.StopFromState != nil:
		r.Log.Warnf("stop with an invalid configuration (%v): stopping what start recorded", perr)
		return runHandler(ctx, a.StopFromState, r)
	case r.Action == "stop":
		// This agent keeps no state: nothing can have been started with a
		// configuration that never parsed, and a failed stop gets the node
		// fenced.
		r.Log.Warnf("stop with an invalid configuration (%v): nothing of ours can be running", perr)
		return nil
	case r.Probe() && a.ProbeFromState != nil:
		err := runHandler(ctx, a.ProbeFromState, r)
		if err == nil {
			return Generic("runs (as its record shows) but its configuration is invalid: %w; stop works from the record", perr)
		}
		if IsStopped(err) {
			return Stopped("invalid configuration, and nothing of it runs: %v", perr)
		}
		return err
	case r.Probe():
		r.Log.Warnf("probe with an invalid configuration (%v): not running", perr)
		return Stopped("invalid configuration: %v", perr)
	case r.Action == "monitor":
		// A monitor must not stop the resource everywhere.
		return Generic("invalid configuration: %w", perr)
	}
	return perr
}

// runHandler runs h until ctx's deadline; a panic becomes OCF_ERR_GENERIC
// with a reason.
func runHandler(ctx context.Context, h Handler, r *Request) (err error) {
	limit := r.Timeout - Margin(r.Timeout)
	done := make(chan error, 1)
	go func() {
		defer func() {
			if p := recover(); p != nil {
				r.Log.Errorf("panic in %s %s: %v\n%s", r.Agent, r.Action, p, debug.Stack())
				done <- Generic("internal error in %s %s: %v", r.Agent, r.Action, p)
			}
		}()
		done <- h(ctx, r)
	}()
	select {
	case err = <-done:
		if err != nil && errors.Is(err, context.DeadlineExceeded) && CodeOf(err) == ErrGeneric {
			err = Generic("%s did not finish within %s: %w", r.Action, limit, err)
		}
		return err
	case <-time.After(r.Timeout - Margin(r.Timeout)/2):
		return Generic("%s did not finish within %s (timeout %s)", r.Action, r.Timeout-Margin(r.Timeout)/2, r.Timeout)
	}
}

// exitReason writes the reason Pacemaker shows in crm_mon: one line, without
// control bytes, at most MaxLine bytes.
func exitReason(w io.Writer, env Env, code Code, reason string) Code {
	prefix := "ocf-exit-reason:"
	if p, ok := env.Lookup("OCF_EXIT_REASON_PREFIX"); ok && p != "" {
		prefix = Sanitize(p)
	}
	reason = strings.Join(strings.Fields(Sanitize(reason)), " ")
	fmt.Fprintf(w, "%s%s\n", prefix, reason)
	return code
}

// CallerOCF11 reports whether the caller speaks OCF 1.1: STACKHA_OCF=1.0
// or 1.1 decides when set; otherwise OCF_RA_VERSION_MAJOR/MINOR (which
// Pacemaker 2.1's executor and crm_resource pass, and ocf-tester does not).
func CallerOCF11(env Env) bool {
	switch get(env, "STACKHA_OCF") {
	case "1.1":
		return true
	case "1.0":
		return false
	}
	major, err1 := strconv.Atoi(get(env, "OCF_RA_VERSION_MAJOR"))
	minor, err2 := strconv.Atoi(get(env, "OCF_RA_VERSION_MINOR"))
	return err1 == nil && err2 == nil && (major > 1 || major == 1 && minor >= 1)
}

func crmMeta(env Env) map[string]string {
	out := map[string]string{}
	for _, k := range []string{"interval", "timeout", "clone", "clone_max", "clone_node_max",
		"globally_unique", "notify", "promotable", "name", "on_node", "on_node_uuid",
		"notify_type", "notify_operation"} {
		if v, ok := env.Lookup("OCF_RESKEY_CRM_meta_" + k); ok {
			out[k] = strings.TrimSpace(v)
		}
	}
	return out
}

func cloneInfo(m map[string]string) Clone {
	c := Clone{Instance: m["clone"]}
	if v, ok := m["clone_max"]; ok {
		c.IsClone = true
		c.Max, _ = strconv.Atoi(v)
	}
	c.NodeMax, _ = strconv.Atoi(m["clone_node_max"])
	c.GloballyUnique, _ = metadata.ParseBool(m["globally_unique"])
	c.Notify, _ = metadata.ParseBool(m["notify"])
	return c
}

func usage(a *Agent, name string, w io.Writer) {
	acts := map[string]bool{"meta-data": true, "validate-all": true, "usage": true}
	for _, act := range a.Meta.Actions {
		acts[act.Name] = true
	}
	var names []string
	for n := range acts {
		names = append(names, n)
	}
	sort.Strings(names)
	fmt.Fprintf(w, "usage: %s {%s}\n\n%s\nParameters come from OCF_RESKEY_<name>; see `%s meta-data`.\n",
		name, strings.Join(names, "|"), a.Meta.Short, name)
}
