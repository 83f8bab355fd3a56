package metadata

import (
	"bytes"
	"fmt"
	"strings"
)

// Man renders the declaration as a roff man page (man(7) macros). date is
// the page's date; pass a fixed one for reproducible output.
func (a *Agent) Man(date string) ([]byte, error) {
	if err := a.Check(); err != nil {
		return nil, fmt.Errorf("rendering man page: %w", err)
	}
	var b bytes.Buffer
	title := strings.ToUpper("ocf_stackha_" + a.Name)
	fmt.Fprintf(&b, ".TH %s 7 %q %q \"OCF resource agents\"\n", roffArg(title), date, "stackha "+a.Version)
	b.WriteString(".SH NAME\n")
	fmt.Fprintf(&b, "ocf_stackha_%s \\- %s\n", roff(a.Name), roff(a.ShortText()))
	b.WriteString(".SH SYNOPSIS\n")
	fmt.Fprintf(&b, ".B %s\n", roffArg("/usr/lib/ocf/resource.d/stackha/"+a.Name))
	b.WriteString(".RI [ action ]\n")
	b.WriteString(".PP\n")
	fmt.Fprintf(&b, "In a cluster configuration: \\fBocf:stackha:%s\\fR\n", roff(a.Name))
	b.WriteString(".SH DESCRIPTION\n")
	paragraphs(&b, a.LongText())
	b.WriteString(".SH PARAMETERS\n")
	for _, p := range a.Parameters {
		attrs := manAttrs(p)
		b.WriteString(".TP\n")
		fmt.Fprintf(&b, "\\fB%s\\fR (%s)\n", roff(p.Name), roff(strings.Join(attrs, ", ")))
		fmt.Fprintf(&b, "%s\n", roff(p.Short))
		for _, para := range splitParagraphs(ParamLong10(p)) {
			if para == strings.TrimSpace(p.Short) {
				continue
			}
			b.WriteString(".IP\n")
			fmt.Fprintf(&b, "%s\n", roff(para))
		}
	}
	b.WriteString(".SH ACTIONS\n")
	for _, act := range a.renderedActions(ocf11) {
		b.WriteString(".TP\n")
		line := fmt.Sprintf("\\fB%s\\fR", roff(act.Name))
		b.WriteString(line + "\n")
		det := "timeout " + FormatDuration(act.Timeout)
		if act.Interval > 0 {
			det += ", interval " + FormatDuration(act.Interval)
		}
		if act.Name == "monitor" || act.Name == "validate-all" {
			det += fmt.Sprintf(", depth %d", act.Depth)
		}
		if act.Name == "reload-agent" {
			det += " (OCF 1.1: applies the reloadable parameters)"
		}
		fmt.Fprintf(&b, "%s\n", roff(det))
	}
	b.WriteString(".SH EXIT STATUS\n")
	b.WriteString("The OCF codes: 0 success, 1 generic error, 2 bad arguments for this node, 3 unimplemented action, " +
		"4 insufficient privileges, 5 not installed on this node, 6 not configured (everywhere), 7 not running. " +
		"Every failure prints a line starting with \\fBocf-exit-reason:\\fR on standard error.\n")
	b.WriteString(".SH EXAMPLE\n.nf\n")
	fmt.Fprintf(&b, "crm configure primitive p_%s ocf:stackha:%s", roff(strings.ReplaceAll(a.Name, "-", "_")), roff(a.Name))
	var req []string
	for _, p := range a.Parameters {
		if p.Required {
			req = append(req, p.Name+"=...")
		}
	}
	if len(req) > 0 {
		fmt.Fprintf(&b, " params %s", roff(strings.Join(req, " ")))
	}
	if m, ok := a.Action("monitor"); ok && m.Interval > 0 {
		fmt.Fprintf(&b, " op monitor interval=%s", FormatDuration(m.Interval))
	}
	b.WriteString("\n.fi\n")
	b.WriteString(".SH SEE ALSO\n\\fBcrm\\fR(8), \\fBocf-tester\\fR(8), \\fBstackha\\fR agents\n")
	return b.Bytes(), nil
}

// manAttrs is the parenthesised summary after a parameter's name.
func manAttrs(p Parameter) []string {
	attrs := []string{string(p.Type)}
	if len(p.Options) > 0 {
		attrs[0] = "one of " + strings.Join(p.Options, "|")
	}
	if p.Required {
		attrs = append(attrs, "required")
	}
	if p.Unique {
		attrs = append(attrs, "unique")
	}
	if p.UniqueGroup != "" {
		attrs = append(attrs, "unique with group "+p.UniqueGroup)
	}
	if p.Default != "" {
		attrs = append(attrs, "default: "+p.Default)
	}
	if r := p.FormatRange(); r != "" {
		attrs = append(attrs, "range "+r)
	}
	if p.Reloadable {
		attrs = append(attrs, "reloadable")
	}
	if p.Deprecated != "" {
		attrs = append(attrs, "deprecated")
	}
	return attrs
}

func paragraphs(b *bytes.Buffer, text string) {
	for i, para := range splitParagraphs(text) {
		if i > 0 {
			b.WriteString(".PP\n")
		}
		b.WriteString(roff(para) + "\n")
	}
}

func splitParagraphs(text string) []string {
	var out []string
	for _, p := range strings.Split(strings.TrimSpace(text), "\n\n") {
		p = strings.Join(strings.Fields(p), " ")
		if p != "" {
			out = append(out, p)
		}
	}
	return out
}

// roff escapes text for a roff body line: backslashes, and a leading dot
// or quote that would be read as a request.
func roff(s string) string {
	s = strings.ReplaceAll(s, `\`, `\e`)
	s = strings.ReplaceAll(s, "-", `\-`)
	if strings.HasPrefix(s, ".") || strings.HasPrefix(s, "'") {
		s = `\&` + s
	}
	return s
}

func roffArg(s string) string {
	return strings.ReplaceAll(roff(s), `"`, `\(dq`)
}
