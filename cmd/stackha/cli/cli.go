// Package cli is the stackha command line: `stackha agents`, `version`,
// `man`, `render`, `keys`, `tls-reload` and `help`. Agent runs never reach it: cmd/stackha hands
// it only what ocf.Dispatch does not take (an agent through its symlink or
// by name, a helper process), so an agent run does not build the command
// line. It is, with cmd/stackha, the only package that imports urfave/cli.
package cli

import (
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"

	"github.com/stackha/stackha/crm/render"
	"github.com/stackha/stackha/ocf"
	"github.com/urfave/cli/v2"
)

// ManDate is the date printed in man pages; fixed so builds reproduce.
const ManDate = "2026-11-25"

type exitError struct{ code ocf.Code }

func (e exitError) Error() string { return e.code.String() }

// Run runs the command line for argv (argv[0] is the program) and returns
// the exit code. It is an ocf.Tool.
func Run(argv []string, env ocf.Env, s ocf.Streams) ocf.Code {
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
	app.Commands = []*cli.Command{agentsCommand(s.Stdout), versionCommand(s.Stdout), manCommand(app, s), renderCommand(s.Stdout), keysCommand(os.Stdin, s.Stdout), tlsReloadCommand(s.Stdout)}
	// The agents are listed for help; ocf.Dispatch runs them before the
	// command line exists, so these actions serve only `help <agent>`.
	for _, n := range ocf.Names() {
		a, _ := ocf.Lookup(n)
		app.Commands = append(app.Commands, &cli.Command{
			Name:            n,
			Usage:           "agent: " + a.Meta.Short,
			ArgsUsage:       "ACTION",
			SkipFlagParsing: true,
			HideHelp:        true,
			Category:        "agents",
			Action: func(c *cli.Context) error {
				return codeErr(ocf.Run(a, n, c.Args().Slice(), env, s))
			},
		})
	}
	if len(argv) > 1 {
		name := argv[1]
		if name != "" && name[0] != '-' && !known(app, name) {
			fmt.Fprintf(s.Stderr, "stackha: unknown agent or command %q; `stackha agents` lists the agents\n", ocf.Sanitize(name))
			fmt.Fprintf(s.Stderr, "ocf-exit-reason:no agent named %q in this stackha build\n", ocf.Sanitize(name))
			return ocf.ErrInstalled
		}
	}
	err := app.Run(argv)
	var ee exitError
	var ec cli.ExitCoder
	switch {
	case err == nil:
		return ocf.Success
	case errors.As(err, &ee):
		return ee.code
	case errors.As(err, &ec):
		if msg := err.Error(); msg != "" {
			fmt.Fprintln(s.Stderr, "stackha:", ocf.Sanitize(msg))
		}
		return ocf.Code(ec.ExitCode())
	}
	fmt.Fprintln(s.Stderr, "stackha:", ocf.Sanitize(err.Error()))
	return ocf.CodeOf(err)
}

func codeErr(c ocf.Code) error {
	if c == ocf.Success {
		return nil
	}
	return exitError{c}
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

func agentsCommand(w io.Writer) *cli.Command {
	return &cli.Command{
		Name:  "agents",
		Usage: "list the agents, one a line: name, then what it is",
		Action: func(c *cli.Context) error {
			for _, n := range ocf.Names() {
				a, _ := ocf.Lookup(n)
				desc := a.Meta.Short
				if n != a.Meta.Name {
					desc = "alias of " + a.Meta.Name + ": " + desc
				}
				fmt.Fprintf(w, "%s\t%s\n", n, desc)
			}
			return nil
		},
	}
}

func versionCommand(w io.Writer) *cli.Command {
	return &cli.Command{
		Name:  "version",
		Usage: "print the version",
		Action: func(c *cli.Context) error {
			rev := ocf.Commit
			if bi, ok := debug.ReadBuildInfo(); ok && rev == "" {
				for _, kv := range bi.Settings {
					if kv.Key == "vcs.revision" {
						rev = kv.Value
					}
				}
			}
			if rev == "" {
				rev = "unknown"
			}
			fmt.Fprintf(w, "stackha %s (commit %s, %s)\n", ocf.Version, rev, runtime.Version())
			return nil
		},
	}
}

func manCommand(app *cli.App, s ocf.Streams) *cli.Command {
	return &cli.Command{
		Name:      "man",
		Usage:     "print an agent's man page, ocf_stackha_AGENT(7), or without AGENT this command's, stackha(8) (roff)",
		ArgsUsage: "[AGENT]",
		Action: func(c *cli.Context) error {
			name := c.Args().First()
			if name == "" || name == "stackha" {
				_, err := s.Stdout.Write(manPage8(app, ManDate))
				return err
			}
			a, ok := ocf.Lookup(name)
			if !ok {
				fmt.Fprintf(s.Stderr, "stackha: unknown agent %q\n", ocf.Sanitize(name))
				return exitError{ocf.ErrInstalled}
			}
			m := a.Meta
			m.Name = name
			m.Version = ocf.Version
			b, err := m.Man(ManDate)
			if err != nil {
				return err
			}
			_, err = s.Stdout.Write(b)
			return err
		},
	}
}

// renderCommand is `stackha render`: crm/render's RenderFile behind flags.
func renderCommand(w io.Writer) *cli.Command {
	return &cli.Command{
		Name:  "render",
		Usage: "render a cluster configuration (crmsh, pcs, haproxy.cfg, corosync.conf, endpoints) from a topology file",
		Description: "Reads one YAML topology (vip or vips, nodes, services, haproxy, fencing, corosync, cluster)\nand writes " +
			"cluster.crm, cluster.pcs.sh, haproxy.cfg, corosync.conf and endpoints.sh into the output\n" +
			"directory.\n" +
			"A topology with an error writes nothing. See docs/crm.md.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "topology", Aliases: []string{"t"}, Usage: "the topology `FILE` (YAML)", Required: true},
			&cli.StringFlag{Name: "out", Aliases: []string{"o"}, Usage: "the output `DIR` (created when missing)", Required: true},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() > 0 {
				return cli.Exit(fmt.Sprintf("render: unexpected argument %q", c.Args().First()), 2)
			}
			files, err := render.RenderFile(c.String("topology"), c.String("out"))
			if err != nil {
				return cli.Exit("render: "+err.Error(), 1)
			}
			for _, n := range files.Names() {
				fmt.Fprintf(w, "wrote %s\n", n)
			}
			return nil
		},
	}
}
