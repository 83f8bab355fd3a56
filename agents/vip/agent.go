// Package vip is the ocf:stackha:vip agent: a virtual IPv4 or IPv6 address,
// a drop-in for ocf:heartbeat:IPaddr2 done in process with netlink, packet
// sockets (gratuitous ARP) and ICMPv6 (neighbour advertisements).
//
// The files follow the agent's seams: target.go resolves the parameters and
// findif.go places the address on this node; start.go, stop.go and
// monitor.go are the actions; lvs.go is LVS-DR's loopback copy; state.go
// records what start set up (with the instance layer), legacy.go reads what
// earlier releases recorded; bg.go is the background announcer; sys.go is
// the node behind an interface, with netlink.go its implementation.
package vip

import "github.com/stackha/stackha/ocf"

func init() {
	ocf.Register("vip", func() *ocf.Agent {
		return &ocf.Agent{
			Meta: Meta,
			Handlers: map[string]ocf.Handler{
				"start":        start,
				"stop":         stop,
				"monitor":      monitor,
				"status":       monitor,
				"validate-all": validate,
				"reload-agent": reload,
			},
			Configure:      configure,
			StopFromState:  StopFromState,
			ProbeFromState: ProbeFromState,
		}
	})
	ocf.RegisterHelper(announceCmd, announceHelper)
	ocf.RegisterHelper(watchCmd, watchHelper)
}

// configure parses the parameters into the Config every action reads
// (config); when it fails, the runtime stops and probes from the record.
func configure(r *ocf.Request) (any, error) { return ParseConfig(r.Params, r.Clone) }

// config is the action's configuration, parsed by configure.
func config(r *ocf.Request) *Config { return r.Config.(*Config) }
