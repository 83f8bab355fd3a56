package ocf

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"syscall"

	"github.com/urfave/cli/v2"
)

// Version is stackha's version, set at build time with
// -ldflags "-X github.com/stackha/stackha/ocf.Version=...".
var Version = "0.1.0"

// Commit is the source revision, set at build time like Version; when it
// is not, the Go build information is used.
var Commit = ""

// ManDate is the date printed in man pages; fixed so builds reproduce.
const ManDate = "2026-11-25"

// Main is the whole program: the agent named by argv[0]'s base name, or the
// stackha command line. It exits the process.
func Main() {
	os.Exit(int(MainArgs(os.Args, ProcessEnv, Streams{Stdout: os.Stdout, Stderr: os.Stderr})))
}

type exitError struct{ code Code }

func (e exitError) Error() string { return e.code.String() }

// MainArgs is Main without the exit, for tests.
func MainArgs(argv []string, env Env, s Streams) Code {
	base := filepath.Base(argv[0])
	if a, ok := Lookup(base); ok {
		return Run(a, base, argv[1:], env, s)
	}
	if len(argv) > 1 {
		if h, ok := Helper(argv[1]); ok {
			ctx, cancel := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
			defer cancel()
			if err := h(ctx, argv[2:]); err != nil {
				fmt.Fprintf(s.Stderr, "stackha %s: %v\n", argv[1], err)
				return CodeOf(err)
			}
			return Success
		}
	}
	app := &cli.App{
		Name:            "stackha",
		Usage:           "Pacemaker OCF resource agents for an OpenStack API control plane",
		UsageText:       "stackha <agent> <action>   (or run the agent through its symlink)\n   stackha <command> [options]",
		Writer:          s.Stdout,
		ErrWriter:       s.Stderr,
		HideVersion:     true,
		ExitErrHandler:  func(*cli.Context, error) {},
		CommandNotFound: func(c *cli.Context, name string) {},
	}
	app.Commands = append(app.Commands,
		&cli.Command{
			Name:  "agents",
			Usage: "list the agents, one a line: name, then what it is",
			Action: func(c *cli.Context) error {
				for _, n := range Names() {
					a, _ := Lookup(n)
					desc := a.Meta.Short
					if n != a.Meta.Name {
						desc = "alias of " + a.Meta.Name + ": " + desc
					}
					fmt.Fprintf(s.Stdout, "%s\t%s\n", n, desc)
				}
				return nil
			},
		},
		&cli.Command{
			Name:  "version",
			Usage: "print the version",
			Action: func(c *cli.Context) error {
				rev := Commit
				if bi, ok := debug.ReadBuildInfo(); ok {
					for _, kv := range bi.Settings {
						if kv.Key == "vcs.revision" && rev == "" {
							rev = kv.Value
						}
					}
				}
				if rev == "" {
					rev = "unknown"
				}
				fmt.Fprintf(s.Stdout, "stackha %s (commit %s, %s)\n", Version, rev, runtime.Version())
				return nil
			},
		},
		&cli.Command{
			Name:      "man",
			Usage:     "print an agent's man page (roff)",
			ArgsUsage: "AGENT",
			Action: func(c *cli.Context) error {
				a, ok := Lookup(c.Args().First())
				if !ok {
					fmt.Fprintf(s.Stderr, "stackha: unknown agent %q\n", c.Args().First())
					return exitError{ErrInstalled}
				}
				m := a.Meta
				m.Name = c.Args().First()
				b, err := m.Man(ManDate)
				if err != nil {
					return err
				}
				_, err = s.Stdout.Write(b)
				return err
			},
		},
	)
	for _, n := range Names() {
		n := n
		a, _ := Lookup(n)
		app.Commands = append(app.Commands, &cli.Command{
			Name:            n,
			Usage:           "agent: " + a.Meta.Short,
			ArgsUsage:       "ACTION",
			SkipFlagParsing: true,
			HideHelp:        true,
			Category:        "agents",
			Action: func(c *cli.Context) error {
				if code := Run(a, n, c.Args().Slice(), env, s); code != Success {
					return exitError{code}
				}
				return nil
			},
		})
	}
	regMu.RLock()
	app.Commands = append(app.Commands, commands...)
	regMu.RUnlock()

	args := argv
	if len(args) > 1 {
		name := args[1]
		if name != "" && name[0] != '-' && !known(app, name) {
			fmt.Fprintf(s.Stderr, "stackha: unknown agent or command %q; `stackha agents` lists the agents\n", name)
			exitReason(s.Stderr, env, ErrInstalled, fmt.Sprintf("no agent named %q in this stackha build", name))
			return ErrInstalled
		}
	}
	err := app.Run(args)
	var ee exitError
	switch {
	case err == nil:
		return Success
	case errors.As(err, &ee):
		return ee.code
	default:
		var ec cli.ExitCoder
		if errors.As(err, &ec) {
			if msg := err.Error(); msg != "" {
				fmt.Fprintln(s.Stderr, "stackha:", msg)
			}
			return Code(ec.ExitCode())
		}
		fmt.Fprintln(s.Stderr, "stackha:", err)
		return CodeOf(err)
	}
}

func known(app *cli.App, name string) bool {
	if name == "help" || name == "h" {
		return true
	}
	for _, c := range app.Commands {
		if c.HasName(name) {
			return true
		}
	}
	return false
}
