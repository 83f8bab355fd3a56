package cli

import (
	"bytes"
	"fmt"
	"sort"
	"strings"

	"github.com/stackha/stackha/ocf"
	"github.com/urfave/cli/v2"
)

// manPage8 renders stackha(8), the operator's command, from the same
// command definitions the command line runs: every visible command with
// its usage, arguments, flags and description, then the agents.
func manPage8(app *cli.App, date string) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, ".TH STACKHA 8 %q %q \"System Administration\"\n", date, "stackha "+ocf.Version)
	b.WriteString(".SH NAME\nstackha \\- " + roff(app.Usage) + "\n")
	b.WriteString(".SH SYNOPSIS\n")
	b.WriteString(".B stackha\n.I command\n.RI [ options ]\n.br\n")
	b.WriteString(".B stackha\n.I agent action\n.br\n")
	b.WriteString(".B /usr/lib/ocf/resource.d/stackha/\\fIagent\\fP\n.I action\n")
	b.WriteString(".SH DESCRIPTION\n")
	b.WriteString("stackha is one static binary holding every stackha OCF resource agent. " +
		"Pacemaker runs it through the symlinks in /usr/lib/ocf/resource.d/stackha/, " +
		"one per agent, and the base name of the link selects the agent. " +
		"Run as stackha, it is the operator's command described here.\n")
	b.WriteString(".SH COMMANDS\n")
	for _, c := range app.Commands {
		if c.Hidden || c.Category == "agents" {
			continue
		}
		b.WriteString(".TP\n")
		head := "\\fB" + roff(c.Name) + "\\fR"
		if c.ArgsUsage != "" {
			head += " \\fI" + roff(c.ArgsUsage) + "\\fR"
		}
		b.WriteString(head + "\n" + roff(c.Usage) + "\n")
		if c.Description != "" {
			for _, para := range strings.Split(c.Description, "\n\n") {
				b.WriteString(".IP\n" + roff(strings.Join(strings.Fields(para), " ")) + "\n")
			}
		}
		for _, f := range c.Flags {
			names := f.Names()
			if names[0] == "help" {
				continue
			}
			var parts []string
			for _, n := range names {
				dash := "\\-\\-"
				if len(n) == 1 {
					dash = "\\-"
				}
				parts = append(parts, "\\fB"+dash+roff(n)+"\\fR")
			}
			usage := ""
			if u, ok := f.(interface{ GetUsage() string }); ok {
				usage = strings.ReplaceAll(u.GetUsage(), "`", "")
			}
			b.WriteString(".IP\n" + strings.Join(parts, ", ") + ": " + roff(usage) + "\n")
		}
	}
	b.WriteString(".SH AGENTS\n")
	names := ocf.Names()
	sort.Strings(names)
	for _, n := range names {
		a, _ := ocf.Lookup(n)
		desc := a.Meta.Short
		if n != a.Meta.Name {
			desc = "alias of " + a.Meta.Name
		}
		b.WriteString(".TP\n\\fB" + roff(n) + "\\fR\n" + roff(desc) + " (see \\fBocf_stackha_" + roff(n) + "\\fR(7))\n")
	}
	b.WriteString(".SH EXIT STATUS\n")
	b.WriteString("An agent exits with the OCF code of its result. A command exits 0 on success, " +
		"2 for a usage error, 5 for an unknown agent and 1 otherwise; each failure says why on standard error.\n")
	b.WriteString(".SH FILES\n")
	b.WriteString(".TP\n/usr/lib/stackha/stackha\nthe binary\n")
	b.WriteString(".TP\n/usr/lib/ocf/resource.d/stackha/\none symlink per agent\n")
	b.WriteString(".TP\n/run/stackha/\nthe agents' state, one directory per resource\n")
	b.WriteString(".TP\n/usr/share/doc/stackha/\nthe README, crm snippets and example topologies\n")
	b.WriteString(".SH SEE ALSO\n\\fBcrm\\fR(8), \\fBpcs\\fR(8), \\fBcrm_resource\\fR(8)")
	for _, n := range names {
		b.WriteString(", \\fBocf_stackha_" + roff(n) + "\\fR(7)")
	}
	b.WriteString("\n")
	return b.Bytes()
}

// roff escapes text for a roff line: backslashes, and a leading dot or
// quote that would start a request.
func roff(s string) string {
	s = strings.ReplaceAll(s, "\\", "\\e")
	s = strings.ReplaceAll(s, "-", "\\-")
	if strings.HasPrefix(s, ".") || strings.HasPrefix(s, "'") {
		s = "\\&" + s
	}
	return s
}
