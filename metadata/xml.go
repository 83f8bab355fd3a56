package metadata

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/beevik/etree"
)

// DTD is the document type the OCF 1.0 rendering names; resource-agents
// ships it as /usr/share/resource-agents/ra-api-1.dtd.
const DTD = "ra-api-1.dtd"

// flavour is the OCF version a rendering speaks.
type flavour int

const (
	ocf10 flavour = iota
	ocf11
)

// XML renders the declaration as OCF 1.0 meta-data that validates against
// ra-api-1.dtd, for callers that do not announce 1.1 (ocf-tester, older
// tools). The DTD rejects the 1.1 additions, so none is used: no
// reload-agent action, no depth on validate-all, UniqueGroup rendered as
// unique="1", and the options, deprecations and ranges said in the long
// descriptions.
func (a *Agent) XML() ([]byte, error) { return a.render(ocf10) }

// XML11 renders the declaration as OCF 1.1 meta-data, valid against the
// schema pcs ships (/usr/share/pcs/data/ocf-1.1.rng): the agent's version
// in resource-agent@version, reloadable parameters and the reload-agent
// action, content type="select" with options, deprecated parameters with
// the one replacing them, unique-group, and depth on monitor and
// validate-all (validate-all is offered at depths 0 and 10: the runtime
// checks the parameters only at 0, also this node's environment at 10).
// OCF 1.1 has no element for a deprecated agent, so Agent.ReplacedWith is
// said in the descriptions, as in XML.
func (a *Agent) XML11() ([]byte, error) { return a.render(ocf11) }

func (a *Agent) render(f flavour) ([]byte, error) {
	if err := a.Check(); err != nil {
		return nil, fmt.Errorf("rendering meta-data: %w", err)
	}
	doc := etree.NewDocument()
	doc.CreateProcInst("xml", `version="1.0"`)
	if f == ocf10 {
		doc.CreateDirective(`DOCTYPE resource-agent SYSTEM "` + DTD + `"`)
	}
	root := doc.CreateElement("resource-agent")
	root.CreateAttr("name", a.Name)
	root.CreateAttr("version", a.Version)
	root.CreateElement("version").SetText(map[flavour]string{ocf10: "1.0", ocf11: "1.1"}[f])
	desc(root, "longdesc", a.LongText())
	desc(root, "shortdesc", a.ShortText())

	params := root.CreateElement("parameters")
	for _, p := range a.Parameters {
		parameter(params, p, f)
	}
	actions := root.CreateElement("actions")
	for _, act := range a.renderedActions(f) {
		ae := actions.CreateElement("action")
		ae.CreateAttr("name", act.Name)
		ae.CreateAttr("timeout", FormatDuration(act.Timeout))
		if act.Interval > 0 {
			ae.CreateAttr("interval", FormatDuration(act.Interval))
		}
		if act.Name == "monitor" && (act.Interval > 0 || f == ocf11) || act.Name == "validate-all" && f == ocf11 {
			ae.CreateAttr("depth", strconv.Itoa(act.Depth))
		}
		if act.Role != "" {
			ae.CreateAttr("role", role(act.Role, f))
		}
	}
	doc.Indent(1)
	doc.WriteSettings.CanonicalText = false
	b, err := doc.WriteToBytes()
	if err != nil {
		return nil, fmt.Errorf("rendering meta-data of %s: %w", a.Name, err)
	}
	return b, nil
}

func parameter(parent *etree.Element, p Parameter, f flavour) {
	pe := parent.CreateElement("parameter")
	pe.CreateAttr("name", p.Name)
	switch {
	case f == ocf10:
		pe.CreateAttr("unique", bit(p.Unique || p.UniqueGroup != ""))
	case p.UniqueGroup != "":
		pe.CreateAttr("unique-group", p.UniqueGroup)
	case p.Unique:
		pe.CreateAttr("unique-group", p.Name) // a group of one
	}
	pe.CreateAttr("required", bit(p.Required))
	if f == ocf11 && p.Reloadable {
		pe.CreateAttr("reloadable", "1")
	}
	if f == ocf10 {
		desc(pe, "longdesc", ParamLong10(p))
	} else {
		desc(pe, "longdesc", ParamLong(p))
	}
	desc(pe, "shortdesc", p.Short)
	if f == ocf11 && p.Deprecated != "" {
		d := pe.CreateElement("deprecated")
		if p.ReplacedWith != "" {
			d.CreateElement("replaced-with").CreateAttr("name", p.ReplacedWith)
		}
		desc(d, "desc", p.Deprecated)
	}
	c := pe.CreateElement("content")
	if f == ocf11 && len(p.Options) > 0 {
		c.CreateAttr("type", "select")
		for _, o := range p.Options {
			c.CreateElement("option").CreateAttr("value", o)
		}
	} else {
		c.CreateAttr("type", string(p.Type))
	}
	if p.Default != "" {
		c.CreateAttr("default", p.Default)
	}
}

// renderedActions is the action list of a flavour. 1.0 drops reload-agent
// and keeps one validate-all (the DTD knows no levels for it); 1.1 offers
// validate-all at depth 10 too when only depth 0 is declared, since the
// runtime implements both levels for every agent.
func (a *Agent) renderedActions(f flavour) []Action {
	var out []Action
	validate := map[int]bool{}
	for _, act := range a.Actions {
		if act.Name == "validate-all" {
			validate[act.Depth] = true
		}
	}
	for _, act := range a.Actions {
		switch {
		case f == ocf10 && act.Name == "reload-agent":
			continue
		case f == ocf10 && act.Name == "validate-all" && act.Depth != 0 && validate[0]:
			continue
		case f == ocf10 && act.Name == "validate-all":
			act.Depth = 0
		}
		out = append(out, act)
		if f == ocf11 && act.Name == "validate-all" && act.Depth == 0 && !validate[10] {
			act.Depth = 10
			out = append(out, act)
		}
	}
	return out
}

// role spells a role for the flavour: 1.1 says Promoted and Unpromoted
// where 1.0 said Master and Slave.
func role(r string, f flavour) string {
	names := map[string]string{"Master": "Promoted", "Slave": "Unpromoted"}
	if f == ocf10 {
		names = map[string]string{"Promoted": "Master", "Unpromoted": "Slave"}
	}
	if n, ok := names[r]; ok {
		return n
	}
	return r
}

// ShortText is the agent's one-line description, marked when the agent name
// is a deprecated alias.
func (a *Agent) ShortText() string {
	if a.ReplacedWith != "" {
		return a.Short + " (deprecated alias of " + a.ReplacedWith + ")"
	}
	return a.Short
}

// LongText is the agent's description, opened by a deprecation notice when
// the agent name is a deprecated alias (OCF 1.1 has no element for it).
func (a *Agent) LongText() string {
	if a.ReplacedWith != "" {
		return "Deprecated: " + a.Name + " is an old name of ocf:stackha:" + a.ReplacedWith +
			"; configure that agent instead. This name behaves the same and is kept for existing configurations.\n\n" + a.Long
	}
	return a.Long
}

// ParamLong is the long description as shown to operators by every
// rendering: the declared text, the range of a number, the options of a
// select (pcs 0.11 and crmsh 4.4 do not list a 1.1 select's options), and
// what the runtime does with unsupported or ignored values.
func ParamLong(p Parameter) string {
	s := p.Long
	if r := p.FormatRange(); r != "" {
		s += "\n\nRange: " + r + "."
	}
	if len(p.Options) > 0 {
		s += "\n\nOne of: " + strings.Join(p.Options, ", ") + "."
	}
	if p.Unsupported != "" {
		s += "\n\nNot supported by stackha: " + p.Unsupported + " Setting it is a configuration error."
	}
	if p.Ignored != "" {
		s += "\n\nAccepted for compatibility and ignored: " + p.Ignored
	}
	return s
}

// ParamLong10 is ParamLong plus, in words, what OCF 1.1 says in elements and
// 1.0 cannot: the deprecation and reloadability.
func ParamLong10(p Parameter) string {
	s := ParamLong(p)
	if p.Deprecated != "" {
		s += "\n\nDeprecated: " + p.Deprecated
		if p.ReplacedWith != "" {
			s += " Use " + p.ReplacedWith + " instead."
		}
	}
	if p.Reloadable {
		s += "\n\nReloadable: with a cluster manager that speaks OCF 1.1 (Pacemaker 2.1), a change takes effect without a restart (reload-agent)."
	}
	return s
}

func desc(parent *etree.Element, tag, text string) {
	e := parent.CreateElement(tag)
	e.CreateAttr("lang", "en")
	e.SetText(strings.TrimSpace(text))
}

func bit(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

// FormatDuration writes a duration the way Pacemaker reads it: whole
// seconds as "20s", anything finer in milliseconds.
func FormatDuration(d time.Duration) string {
	if d%time.Second == 0 {
		return fmt.Sprintf("%ds", d/time.Second)
	}
	return fmt.Sprintf("%dms", d/time.Millisecond)
}
