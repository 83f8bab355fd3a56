// Package ocf is the OCF runtime every stackha agent shares: it reads the
// action and the environment Pacemaker passes, parses the declared
// parameters into typed values, sets the operation's deadline, dispatches to
// the agent, logs the way the cluster expects, and turns the agent's error
// into the exit code and the ocf-exit-reason line. It is the only package
// that reads the process environment or exits.
package ocf

import (
	"errors"
	"fmt"
)

// Code is an OCF exit code.
type Code int

// The OCF return codes (resource-agent-api, "Return codes").
const (
	Success          Code = 0
	ErrGeneric       Code = 1
	ErrArgs          Code = 2
	ErrUnimplemented Code = 3
	ErrPerm          Code = 4
	ErrInstalled     Code = 5
	ErrConfigured    Code = 6
	NotRunning       Code = 7
	RunningPromoted  Code = 8
	FailedPromoted   Code = 9
	// RunningDegraded (OCF 1.1, Pacemaker >= 2.0.5): running, but not fully
	// healthy. Only a caller that announced OCF 1.1 gets it; for a 1.0
	// caller the runtime turns it into Success and logs the reason.
	RunningDegraded Code = 190
)

func (c Code) String() string {
	switch c {
	case Success:
		return "OCF_SUCCESS"
	case ErrGeneric:
		return "OCF_ERR_GENERIC"
	case ErrArgs:
		return "OCF_ERR_ARGS"
	case ErrUnimplemented:
		return "OCF_ERR_UNIMPLEMENTED"
	case ErrPerm:
		return "OCF_ERR_PERM"
	case ErrInstalled:
		return "OCF_ERR_INSTALLED"
	case ErrConfigured:
		return "OCF_ERR_CONFIGURED"
	case NotRunning:
		return "OCF_NOT_RUNNING"
	case RunningPromoted:
		return "OCF_RUNNING_PROMOTED"
	case FailedPromoted:
		return "OCF_FAILED_PROMOTED"
	case RunningDegraded:
		return "OCF_DEGRADED"
	}
	return fmt.Sprintf("OCF_CODE_%d", int(c))
}

// Error is a failure that carries its OCF exit code. Agents build them with
// Generic, Args, Perm, Installed, Configured and Stopped; any other error
// returned by an agent counts as OCF_ERR_GENERIC.
type Error struct {
	Code Code
	Err  error
}

func (e *Error) Error() string { return e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

func newErr(c Code, format string, args ...any) error {
	return &Error{Code: c, Err: fmt.Errorf(format, args...)}
}

// Generic is a failure Pacemaker should recover from (exit 1).
func Generic(format string, args ...any) error { return newErr(ErrGeneric, format, args...) }

// Args says the parameters do not fit this node (exit 2).
func Args(format string, args ...any) error { return newErr(ErrArgs, format, args...) }

// Unimplemented says the action is not supported (exit 3).
func Unimplemented(format string, args ...any) error {
	return newErr(ErrUnimplemented, format, args...)
}

// Perm says the agent lacks a privilege on this node (exit 4).
func Perm(format string, args ...any) error { return newErr(ErrPerm, format, args...) }

// Installed says something needed is missing on this node (exit 5).
func Installed(format string, args ...any) error { return newErr(ErrInstalled, format, args...) }

// Configured says the configuration is wrong everywhere (exit 6): Pacemaker
// stops the resource on every node. Use it only for what cannot differ
// between nodes.
func Configured(format string, args ...any) error {
	return newErr(ErrConfigured, format, args...)
}

// Stopped is monitor's "cleanly not running" (exit 7), with the reason it
// knows.
func Stopped(format string, args ...any) error { return newErr(NotRunning, format, args...) }

// Degraded is monitor's "running but degraded" (exit 190 for an OCF 1.1
// caller, 0 with the reason logged for a 1.0 one).
func Degraded(format string, args ...any) error { return newErr(RunningDegraded, format, args...) }

// CodeOf maps an error to its exit code: nil is success, an *Error anywhere
// in the chain gives its code, anything else is OCF_ERR_GENERIC.
func CodeOf(err error) Code {
	if err == nil {
		return Success
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ErrGeneric
}

// IsStopped reports whether err says "not running".
func IsStopped(err error) bool { return err != nil && CodeOf(err) == NotRunning }
