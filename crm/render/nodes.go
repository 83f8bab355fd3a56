package render

import (
	"fmt"
	"path"
	"strings"
)

// nodesDir holds the per-node files: nodes/<node>/ mirrors what goes on
// that node (nodes/<node>/etc/default/keystone is its /etc/default/keystone),
// with a README saying what to install and what to set by hand.
const nodesDir = "nodes"

// NodeFiles are the per-node files: for every node, the /etc/default file
// of each Debian uwsgi service run by its unit (run_mode=systemd), which
// makes it listen on the node's address only, and a README. A service run
// as a process gets its address from the agent (bind_host) and needs no
// file.
func (r *resolved) NodeFiles() Files {
	f := Files{}
	for _, n := range r.nodes {
		dir := path.Join(nodesDir, n.name)
		var readme strings.Builder
		header(&readme, "#", "What node "+n.name+" ("+n.addr.String()+") needs for its API services")
		readme.WriteString(`#
# Each API service listens on this node's own address: haproxy holds the
# same port on the VIP on every node (non-local bind), and a service that
# listens on every address would take the port from it.
`)
		byHand := false
		for _, s := range r.services {
			c := s.service
			fmt.Fprintf(&readme, "#\n# %s (port %d):\n", s.name, s.port)
			switch {
			case s.mode != "systemd" && s.bindHost:
				fmt.Fprintf(&readme, "#   run_mode=%s: the agent passes bind_host=%s (cluster.crm).\n", s.mode, n.addr)
			case s.mode != "systemd":
				byHand = true
				fmt.Fprintf(&readme, "#   run_mode=%s: set %s = %s in %s.\n", s.mode, c.BindOption, n.addr, c.Config)
			case c.UWSGIIni != "":
				file := c.DefaultsFile()
				f[path.Join(dir, file)] = []byte(r.defaultsFile(n, s))
				fmt.Fprintf(&readme, "#   install etc/default/%s as %s:\n", c.InitName, file)
				fmt.Fprintf(&readme, "#   %s's init script sources it after building DAEMON_ARGS.\n#   No package owns it: upgrades keep it.\n", c.Unit)
			default:
				byHand = true
				if c.UnitProgram != "" {
					fmt.Fprintf(&readme, "#   not run by uwsgi (%s runs %s):\n", c.Unit, c.UnitProgram)
				} else {
					fmt.Fprintf(&readme, "#   not in Debian 12 (%s):\n", c.Deprecated)
				}
				fmt.Fprintf(&readme, "#   set %s = %s in %s.\n", c.BindOption, n.addr, c.Config)
			}
		}
		if !byHand {
			readme.WriteString("#\n# Nothing to set by hand.\n")
		}
		r.tlsReadme(&readme)
		r.backendTLSReadme(n, &readme)
		r.drainNodeFiles(f, dir, &readme)
		r.statefulNodeFiles(f, n, dir, &readme)
		f[path.Join(dir, "README")] = []byte(readme.String())
	}
	return f
}

// defaultsFile is /etc/default/<name> of a uwsgi service on node n.
func (r *resolved) defaultsFile(n resolvedNode, s resolvedService) string {
	c := s.service
	var b strings.Builder
	header(&b, "#", fmt.Sprintf("%s on %s: listen on %s only", s.name, n.name, n.addr))
	fmt.Fprintf(&b, `#
# /etc/init.d/%s (run by %s) builds DAEMON_ARGS, listening on
# every address, then sources this file: DAEMON_ARGS is replaced (the
# init script's own https socket and --processes with it).
`, strings.TrimSuffix(c.Unit, ".service"), c.Unit)
	args := r.socketOption(hostPort(n.addr.String(), s.port))
	if s.legacyPort != 0 && s.legacyAdmin {
		args += " " + r.socketOption(hostPort(n.addr.String(), s.legacyPort))
	}
	fmt.Fprintf(&b, "DAEMON_ARGS=\"%s --ini %s\"\n", args, c.UWSGIIni)
	return b.String()
}
