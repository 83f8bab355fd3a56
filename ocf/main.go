package ocf

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"syscall"
)

// Version is stackha's version, set at build time with
// -ldflags "-X github.com/stackha/stackha/ocf.Version=...".
var Version = "0.1.0"

// Commit is the source revision, set at build time like Version; the
// command line's `version` falls back to the Go build information.
var Commit = ""

// Tool is the rest of the program: the stackha command line, run for an
// invocation that names neither an agent nor a helper.
type Tool func(argv []string, env Env, s Streams) Code

// Main is the whole program: Dispatch, else tool. It exits the process.
func Main(tool Tool) {
	// A Go runtime fatal error (or a panic outside a handler) exits 2 by
	// default, which Pacemaker reads as OCF_ERR_ARGS (a hard error that
	// bans the resource from the node). With "crash" the runtime ends the
	// process with SIGABRT instead: Pacemaker sees an agent killed by a
	// signal, a plain failure.
	debug.SetTraceback("crash")
	os.Exit(int(MainArgs(os.Args, ProcessEnv, Streams{Stdout: os.Stdout, Stderr: os.Stderr}, tool)))
}

// MainArgs is Main without the exit, for tests. A nil tool answers every
// invocation that Dispatch does not take with OCF_ERR_INSTALLED.
func MainArgs(argv []string, env Env, s Streams, tool Tool) Code {
	if code, ok := Dispatch(argv, env, s); ok {
		return code
	}
	if tool == nil {
		name := filepath.Base(argv[0])
		if len(argv) > 1 {
			name = argv[1]
		}
		return exitReason(s.Stderr, env, ErrInstalled, fmt.Sprintf("no agent named %q in this stackha build", name))
	}
	return tool(argv, env, s)
}

// Dispatch runs what the runtime itself answers, so that an agent run never
// builds the command line:
//   - the agent named by argv[0]'s base name (the symlink Pacemaker runs),
//   - `stackha <helper> args...` (a registered helper process),
//   - `stackha <agent> <action>` (an agent by name).
//
// ok is false for anything else (the command line's business).
func Dispatch(argv []string, env Env, s Streams) (code Code, ok bool) {
	if len(argv) == 0 {
		return 0, false
	}
	base := filepath.Base(argv[0])
	if a, found := Lookup(base); found {
		return Run(a, base, argv[1:], env, s), true
	}
	if len(argv) < 2 {
		return 0, false
	}
	if h, found := Helper(argv[1]); found {
		ctx, cancel := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
		defer cancel()
		if err := h(ctx, argv[2:]); err != nil {
			fmt.Fprintf(s.Stderr, "stackha %s: %s\n", argv[1], Sanitize(err.Error()))
			return CodeOf(err), true
		}
		return Success, true
	}
	if a, found := Lookup(argv[1]); found {
		return Run(a, argv[1], argv[2:], env, s), true
	}
	return 0, false
}
