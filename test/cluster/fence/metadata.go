package fence

import (
	"encoding/xml"
	"strconv"
)

// AgentName is the agent's name, as Pacemaker's stonith resources name it.
const AgentName = "fence_shc"

type mdAgent struct {
	XMLName   xml.Name  `xml:"resource-agent"`
	Name      string    `xml:"name,attr"`
	ShortDesc string    `xml:"shortdesc,attr"`
	LongDesc  string    `xml:"longdesc"`
	VendorURL string    `xml:"vendor-url"`
	Params    []mdParam `xml:"parameters>parameter"`
	Actions   []mdAct   `xml:"actions>action"`
}

type mdParam struct {
	Name       string    `xml:"name,attr"`
	Unique     string    `xml:"unique,attr"`
	Required   string    `xml:"required,attr"`
	Obsoletes  string    `xml:"obsoletes,attr,omitempty"`
	Deprecated string    `xml:"deprecated,attr,omitempty"`
	Getopt     mdGetopt  `xml:"getopt"`
	Content    mdContent `xml:"content"`
	ShortDesc  mdDesc    `xml:"shortdesc"`
}

type mdGetopt struct {
	Mixed string `xml:"mixed,attr"`
}

type mdContent struct {
	Type    string `xml:"type,attr"`
	Default string `xml:"default,attr,omitempty"`
}

type mdDesc struct {
	Lang string `xml:"lang,attr"`
	Text string `xml:",chardata"`
}

type mdAct struct {
	Name      string `xml:"name,attr"`
	Automatic string `xml:"automatic,attr,omitempty"`
}

func param(name, required, getopt, typ, def, desc string) mdParam {
	return mdParam{Name: name, Unique: "0", Required: required, Getopt: mdGetopt{getopt},
		Content: mdContent{Type: typ, Default: def}, ShortDesc: mdDesc{"en", desc}}
}

// Metadata returns the agent's XML description, in the shape fence-agents
// print and pacemaker-fenced reads: the plug parameter (with its old name
// port) tells Pacemaker how to pass the node to fence, the list action
// lets it ask which nodes the device can fence, and "on" is not automatic.
func Metadata() []byte {
	plugDesc := "Name of the node to act on (its power outlet on the switch)"
	plug := param("plug", "1", "-n, --plug=[id]", "string", "", plugDesc)
	plug.Obsoletes = "port"
	port := param("port", "1", "-n, --plug=[id]", "string", "", plugDesc)
	port.Deprecated = "1"
	md := mdAgent{
		Name:      AgentName,
		ShortDesc: "Fence agent for the power switch of the stackha test harness",
		LongDesc: "fence_shc powers a node of the stackha cluster test harness off or on through the " +
			"power switch of the harness, a unix socket served by the test process. Powering off kills every " +
			"process of the node at once, as a power loss does. Test use only.",
		VendorURL: "https://github.com/stackha/stackha",
		Params: []mdParam{
			param("action", "1", "-o, --action=[action]", "string", "reboot", "Fencing action"),
			plug,
			port,
			param("socket", "0", "-s, --socket=[path]", "string", DefaultSocket, "Path of the unix socket of the power switch"),
			param("power_timeout", "0", "--power-timeout=[seconds]", "second", strconv.Itoa(defaultTimeout),
				"Limit of one request to the switch, in seconds"),
			param("verbose", "0", "-v, --verbose", "boolean", "", "Verbose mode"),
		},
		Actions: []mdAct{{Name: "on", Automatic: "0"}},
	}
	for _, a := range []string{"off", "reboot", "status", "list", "list-status", "monitor", "metadata", "validate-all"} {
		md.Actions = append(md.Actions, mdAct{Name: a})
	}
	out, err := xml.MarshalIndent(md, "", "\t")
	if err != nil {
		panic(err) // static data: cannot fail
	}
	return append(append([]byte("<?xml version=\"1.0\" ?>\n"), out...), '\n')
}
