package metadata

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/beevik/etree"
)

// DTD is the document type every rendering names; resource-agents ships it
// as /usr/share/resource-agents/ra-api-1.dtd.
const DTD = "ra-api-1.dtd"

// XML renders the declaration as OCF 1.0 meta-data that validates against
// ra-api-1.dtd (which rejects the OCF 1.1 additions, so none are used).
func (a *Agent) XML() ([]byte, error) {
	if err := a.Check(); err != nil {
		return nil, fmt.Errorf("rendering meta-data: %w", err)
	}
	doc := etree.NewDocument()
	doc.CreateProcInst("xml", `version="1.0"`)
	doc.CreateDirective(`DOCTYPE resource-agent SYSTEM "` + DTD + `"`)
	root := doc.CreateElement("resource-agent")
	root.CreateAttr("name", a.Name)
	root.CreateAttr("version", a.Version)
	root.CreateElement("version").SetText("1.0")
	desc(root, "longdesc", a.Long)
	desc(root, "shortdesc", a.Short)

	params := root.CreateElement("parameters")
	for _, p := range a.Parameters {
		pe := params.CreateElement("parameter")
		pe.CreateAttr("name", p.Name)
		pe.CreateAttr("unique", bit(p.Unique))
		pe.CreateAttr("required", bit(p.Required))
		desc(pe, "longdesc", ParamLong(p))
		desc(pe, "shortdesc", p.Short)
		c := pe.CreateElement("content")
		c.CreateAttr("type", string(p.Type))
		if p.Default != "" {
			c.CreateAttr("default", p.Default)
		}
	}

	actions := root.CreateElement("actions")
	for _, act := range a.Actions {
		ae := actions.CreateElement("action")
		ae.CreateAttr("name", act.Name)
		ae.CreateAttr("timeout", FormatDuration(act.Timeout))
		if act.Interval > 0 {
			ae.CreateAttr("interval", FormatDuration(act.Interval))
		}
		if act.Name == "monitor" && act.Interval > 0 {
			ae.CreateAttr("depth", strconv.Itoa(act.Depth))
		}
		if act.Role != "" {
			ae.CreateAttr("role", act.Role)
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

// ParamLong is the long description as shown to operators: the declared
// text plus what the runtime does with unsupported or ignored values.
func ParamLong(p Parameter) string {
	s := p.Long
	if p.Unsupported != "" {
		s += "\n\nNot supported by stackha: " + p.Unsupported + " Setting it is a configuration error."
	}
	if p.Ignored != "" {
		s += "\n\nAccepted for compatibility and ignored: " + p.Ignored
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
