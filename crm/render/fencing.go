package render

import (
	"fmt"
	"strings"
	"time"
)

// Fencing is the cluster's fencing: one device per node. With it the
// cluster runs as production needs (stonith-enabled=true,
// no-quorum-policy=stop); without it, in the how-to's lab mode.
type Fencing struct {
	Devices []Device `yaml:"devices"`
	// PriorityDelay is priority-fencing-delay, set on two nodes only
	// (default 5s): in a fence race after the ring breaks, fencing of the
	// node holding the VIP waits this long, so that node fences the other
	// first and keeps serving. It must exceed the time the VIP holder's
	// device needs to power the other node off; it also delays fencing of
	// a VIP holder that crashed, by as much.
	PriorityDelay Duration `yaml:"priority_delay"`
}

// Device is one fencing device: a fence agent (fence-agents) that powers
// off one node.
type Device struct {
	// Node is the node this device fences (a name from nodes).
	Node string `yaml:"node"`
	// Agent is the fence agent: fence_ipmilan, fence_redfish, fence_virsh,
	// fence_sbd, or another fence_* agent.
	Agent string `yaml:"agent"`
	// ID is the resource id (default fence-NODE).
	ID string `yaml:"id"`
	// Plug is the device's own name for the node when it is not the
	// node's name (a libvirt domain, an outlet): pcmk_host_map NODE:PLUG.
	Plug string `yaml:"plug"`
	// PasswordFile is a root-only file (mode 0600) holding the device's
	// password on every node; the agent reads it through its
	// password_script. The password itself never appears in any output.
	PasswordFile string `yaml:"password_file"`
	// PasswordScript is a program printing the password (the agent's own
	// password_script), instead of PasswordFile.
	PasswordScript string `yaml:"password_script"`
	// MonitorInterval is how often the device is checked (default 60s).
	MonitorInterval Duration `yaml:"monitor_interval"`
	// Params are the agent's further parameters (ip, username, lanplus,
	// ssl_insecure, devices, ...). A name that looks like a secret's
	// (password, secret_key, hexadecimal_kg, apikey, token, ...) is
	// refused here: see secrets.go.
	Params map[string]string `yaml:"params"`
}

var (
	defaultPriorityDelay = Duration(5 * time.Second)
	defaultFenceInterval = Duration(60 * time.Second)
	fenceAgentPattern    = &lazyRegexp{expr: `^fence_[a-z0-9_]{1,58}$`}
	plugPattern          = &lazyRegexp{expr: `^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`}
	idPattern            = &lazyRegexp{expr: `^[A-Za-z][A-Za-z0-9._-]{0,62}$`}
)

// The parameters a device's own fields set.
var fenceTaken = []string{"passwd_script", "password_script", "pcmk_host_list", "pcmk_host_map", "pcmk_host_check", "plug", "port"}

// passwordNeed is what an agent needs to log in (its fence-agents
// device_opt): "required", "required unless ...", "none", or "" (a
// password or not).
func passwordNeed(agent string) string {
	switch agent {
	case "fence_redfish":
		return "required"
	case "fence_virsh":
		return "required unless params.identity_file (an ssh key) is given"
	case "fence_sbd":
		return "none"
	}
	return ""
}

// resolvedDevice is one device as the renderers write it.
type resolvedDevice struct {
	id, agent, node string
	every           Duration
	params          [][2]string // the agent's parameters, in order
}

func (x *resolver) fencing() {
	f := &x.t.Fencing
	if len(f.Devices) == 0 {
		if f.PriorityDelay != 0 {
			x.bad.add("fencing.priority_delay", "set, but there are no fencing.devices")
		}
		return
	}
	nodes := map[string]bool{}
	for _, n := range x.t.Nodes {
		nodes[n.Name] = true
	}
	fenced := map[string]int{}
	ids := map[string]int{}
	for i := range f.Devices {
		d := x.device(fmt.Sprintf("fencing.devices[%d]", i), &f.Devices[i], nodes)
		if d == nil {
			continue
		}
		if j, dup := fenced[d.node]; dup {
			x.bad.add(fmt.Sprintf("fencing.devices[%d].node", i), "%s already has a device (fencing.devices[%d]): one per node", d.node, j)
		}
		fenced[d.node] = i
		if j, dup := ids[d.id]; dup {
			x.bad.add(fmt.Sprintf("fencing.devices[%d].id", i), "duplicate id %s (also fencing.devices[%d])", d.id, j)
		}
		ids[d.id] = i
		x.r.fencing = append(x.r.fencing, *d)
	}
	for i, n := range x.t.Nodes {
		if _, ok := fenced[n.Name]; !ok && nodes[n.Name] {
			x.bad.add(fmt.Sprintf("nodes[%d]", i), "%s has no fencing device: with fencing on, every node needs one in fencing.devices", n.Name)
		}
	}
	if len(x.t.Nodes) == 2 {
		if f.PriorityDelay == 0 {
			f.PriorityDelay = defaultPriorityDelay
		}
		x.span("fencing.priority_delay", f.PriorityDelay, minPriorityDelay, maxPriorityDelay)
	} else if f.PriorityDelay != 0 {
		x.bad.add("fencing.priority_delay", "set, but used on two nodes only (with more, the majority fences)")
	}
}

// device resolves one device (f is its place in the file), or returns nil
// when it names no node to fence.
func (x *resolver) device(f string, d *Device, nodes map[string]bool) *resolvedDevice {
	switch {
	case d.Node == "":
		x.bad.add(f+".node", "required (the node this device fences)")
		return nil
	case !nodes[d.Node]:
		x.bad.add(f+".node", "%q is not a node of nodes", d.Node)
		return nil
	}
	r := &resolvedDevice{node: d.Node, agent: d.Agent, id: d.ID, every: d.MonitorInterval}
	switch {
	case d.Agent == "":
		x.bad.add(f+".agent", "required (a fence agent: fence_ipmilan, fence_redfish, fence_virsh, fence_sbd, ...)")
	case !fenceAgentPattern.re().MatchString(d.Agent):
		x.bad.add(f+".agent", "%q is not a fence agent name (fence_ and lower case letters, digits, '_')", d.Agent)
	}
	if r.id == "" {
		r.id = "fence-" + d.Node
		d.ID = r.id
	} else if !idPattern.re().MatchString(r.id) {
		x.bad.add(f+".id", "%q is not a resource id (a letter, then letters, digits, '.', '_', '-')", r.id)
	}
	if r.every == 0 {
		r.every = defaultFenceInterval
		d.MonitorInterval = r.every
	}
	x.span(f+".monitor_interval", r.every, minFenceMonitor, maxMonitor)
	r.params = extraParams(&x.bad, f+".params", d.Params, fenceFix(f, r.id, d.Agent), fenceTaken...)
	if s := x.password(f, d); s != "" {
		r.params = append(r.params, [2]string{"password_script", s})
	}
	switch {
	case d.Plug == "":
		r.params = append(r.params, [2]string{"pcmk_host_list", d.Node})
	case !plugPattern.re().MatchString(d.Plug):
		x.bad.add(f+".plug", "%q: want letters, digits, '.', '_' or '-'", d.Plug)
	default:
		r.params = append(r.params, [2]string{"pcmk_host_map", d.Node + ":" + d.Plug})
	}
	return r
}

// password checks how a device gets its password and returns the
// password_script to write ("" for none).
func (x *resolver) password(f string, d *Device) string {
	var script string
	switch {
	case d.PasswordFile != "" && d.PasswordScript != "":
		x.bad.add(f+".password_script", "set together with password_file: give one")
	case d.PasswordFile != "":
		if !pathPattern.re().MatchString(d.PasswordFile) {
			x.bad.add(f+".password_file", "%q is not "+plainPath, d.PasswordFile)
		}
		// fence-agents 4.x has no password file parameter: its
		// password_script runs through the shell and its output is the
		// password. The path holds no shell syntax (checked above).
		script = "cat " + d.PasswordFile
	case d.PasswordScript != "":
		if !pathPattern.re().MatchString(d.PasswordScript) {
			x.bad.add(f+".password_script", "%q is not an absolute path of plain characters (a program, no arguments)", d.PasswordScript)
		}
		script = d.PasswordScript
	}
	switch need := passwordNeed(d.Agent); {
	case need == "none" && script != "":
		x.bad.add(f+".password_file", "%s takes no password", d.Agent)
		return ""
	case need == "required" && script == "",
		strings.HasPrefix(need, "required unless") && script == "" && d.Params["identity_file"] == "":
		x.bad.add(f+".password_file", "%s needs a password (%s): name a root-only file holding it, or a password_script", d.Agent, need)
	}
	return script
}
