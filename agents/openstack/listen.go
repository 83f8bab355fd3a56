package openstack

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/stackha/stackha/instance"
	"github.com/stackha/stackha/ocf"
)

// A service that listens on every address of the node (0.0.0.0:PORT or
// [::]:PORT) holds the port on the VIP too, and haproxy on that node
// cannot bind VIP:PORT. validate-all (level 10) and start say so before
// the unit starts, from what the distribution's unit would run, and start
// checks again once the service answers, from the kernel's sockets.

// maxScript and maxDefaults bound what is read of an init script and of
// /etc/default/<name>.
const (
	maxScript   = 256 << 10
	maxDefaults = 64 << 10
)

// wouldListenEverywhere reads how the unit u would bind its port: for an
// openstack-pkg-tools uwsgi unit (Debian's keystone, placement, nova,
// cinder, heat, neutron APIs), the DAEMON_ARGS of /etc/default/<name>; for
// another (glance-api, eventlet), the catalog's BindOption in its config.
// A reason (exit 6) says what to write; nil when it binds an address, or
// when nothing here tells.
func (u *unitService) wouldListenEverywhere() error {
	name := strings.TrimSuffix(u.unit, ".service")
	script, err := instance.ReadPath(filepath.Join(InitScripts, name), maxScript, instance.RootOnly)
	// Every openstack-pkg-tools script carries the uwsgi branch
	// (UWSGI_PORT=${RET}); it runs uwsgi only when the script's own part
	// sets UWSGI_PORT and UWSGI_INI_PATH (glance-api's says
	// "#UWSGI_PORT=9292": eventlet).
	var port, ini string
	if err == nil {
		port, ini = literalValue(string(script), "UWSGI_PORT"), literalValue(string(script), "UWSGI_INI_PATH")
	}
	if port == "" || ini == "" {
		return u.eventletEverywhere()
	}
	file := filepath.Join(Defaults, scriptName(string(script), name))
	want := fmt.Sprintf(`DAEMON_ARGS="--http-socket %s:%s --ini %s"`, u.address(), port, ini)
	b, err := instance.ReadPath(file, maxDefaults, instance.RootOnly)
	if errors.Is(err, fs.ErrNotExist) {
		return ocf.Configured("unit %s would listen on every address (uwsgi --http-socket :%s): write %s in %s so that it listens on this node's address only",
			u.unit, port, want, file)
	}
	if err != nil {
		return ocf.Configured("%s, which %s's init script sources, cannot be trusted: %v", file, u.unit, err)
	}
	args := shellValue(string(b), "DAEMON_ARGS")
	if args == "" {
		return ocf.Configured("unit %s would listen on every address (uwsgi --http-socket :%s): %s sets no DAEMON_ARGS; write %s there",
			u.unit, port, file, want)
	}
	fields, bound := strings.Fields(args), false
	for i, f := range fields {
		var sock string
		switch {
		case f == "--http-socket" && i+1 < len(fields):
			sock = fields[i+1]
		case strings.HasPrefix(f, "--http-socket="):
			sock = strings.TrimPrefix(f, "--http-socket=")
		default:
			continue
		}
		h, _, err := net.SplitHostPort(sock)
		if err != nil || wildcard(h) {
			bound = false
			break
		}
		bound = true
	}
	if bound && !strings.Contains(args, "$") {
		return nil
	}
	return ocf.Configured("unit %s would listen on every address: DAEMON_ARGS in %s (%s) has no --http-socket on an address; write %s there",
		u.unit, file, instance.Quote(args), want)
}

// scriptName is the init script's NAME, whose /etc/default/$NAME it
// sources: openstack-pkg-tools scripts say NAME=${PROJECT_NAME}<suffix>
// (neutron-api.service's is neutron-server). fallback (the unit's name)
// when the script says nothing this reads.
func scriptName(script, fallback string) string {
	v := shellValue(script, "NAME")
	if p := literalValue(script, "PROJECT_NAME"); p != "" {
		v = strings.NewReplacer("${PROJECT_NAME}", p, "$PROJECT_NAME", p).Replace(v)
	}
	if v == "" || strings.ContainsAny(v, "$/`\\") || v == "." || v == ".." {
		return fallback
	}
	return v
}

// eventletEverywhere: a service that binds the option of its config file
// that the catalog names (BindOption: cinder's osapi_volume_listen,
// heat's [heat_api] bind_host; [DEFAULT] bind_host when it names none;
// default 0.0.0.0), read root-only; nil when the file cannot be read (the
// unit will say).
func (u *unitService) eventletEverywhere() error {
	if u.c.ConfigFile == "" {
		return nil
	}
	b, err := instance.ReadPath(u.c.ConfigFile, maxDefaults*16, instance.RootOnly)
	if err != nil {
		return nil
	}
	section, key := "DEFAULT", "bind_host"
	if p := u.c.Profile; p != nil {
		if s, k, ok := strings.Cut(strings.TrimPrefix(p.BindOption, "["), "] "); ok && s != "" && k != "" {
			section, key = s, k
		}
	}
	host := iniValue(string(b), section, key)
	if !wildcard(host) {
		return nil
	}
	return ocf.Configured("unit %s would listen on every address (%s %s): set %s = %s in [%s] of %s",
		u.unit, key, instance.Quote(host), key, u.address(), section, u.c.ConfigFile)
}

// address is the address to suggest: bind_host, else url's host unless it
// is a loopback address.
func (u *unitService) address() string {
	if ip := net.ParseIP(u.c.BindHost); ip != nil && !ip.IsUnspecified() {
		return u.c.BindHost
	}
	if ip := net.ParseIP(u.c.URL.Hostname()); ip != nil && !ip.IsLoopback() && !ip.IsUnspecified() {
		return u.c.URL.Hostname()
	}
	return "<this node's address>"
}

// listensEverywhere asks the kernel (sock_diag, this network namespace)
// for a TCP socket listening on a wildcard address at port; nil when
// there is none.
func (u *unitService) listensEverywhere(port int) error {
	for _, fam := range []uint8{unix.AF_INET, unix.AF_INET6} {
		socks, err := netlink.SocketDiagTCP(fam)
		if err != nil {
			return fmt.Errorf("listing TCP sockets: %w", err)
		}
		for _, s := range socks {
			if s.State == tcpListen && int(s.ID.SourcePort) == port && s.ID.Source.IsUnspecified() {
				return ocf.Configured("%s listens on every address (%s): haproxy cannot bind the VIP's port on this node; %s",
					u.unit, net.JoinHostPort(s.ID.Source.String(), strconv.Itoa(port)), u.advice())
			}
		}
	}
	return nil
}

// advice says what to change for the unit to bind one address.
func (u *unitService) advice() string {
	err := u.wouldListenEverywhere()
	if err == nil {
		return "make it listen on this node's address only"
	}
	_, rest, _ := strings.Cut(err.Error(), ": ")
	return rest
}

// tcpListen is TCP_LISTEN of the kernel's tcp_states.h.
const tcpListen = 10

func wildcard(h string) bool {
	h = strings.Trim(h, "[]")
	return h == "" || h == "*" || h == "0.0.0.0" || h == "::"
}

// shellValue is the last assignment NAME=value (optionally exported) in a
// shell file, its quotes removed; "" when there is none.
func shellValue(s, name string) string { return assigned(s, name, false) }

// literalValue is the last assignment of a value without expansions: the
// init script's own setting (UWSGI_PORT=5000), not what it reads later
// (UWSGI_PORT=${RET}).
func literalValue(s, name string) string { return assigned(s, name, true) }

func assigned(s, name string, literal bool) string {
	val := ""
	for _, l := range strings.Split(s, "\n") {
		l = strings.TrimPrefix(strings.TrimSpace(l), "export ")
		v, ok := strings.CutPrefix(l, name+"=")
		if !ok {
			continue
		}
		if len(v) > 0 && (v[0] == '"' || v[0] == '\'') {
			if end := strings.IndexByte(v[1:], v[0]); end >= 0 {
				v = v[1 : end+1]
			}
		} else if i := strings.IndexAny(v, " \t#;"); i >= 0 {
			v = v[:i]
		}
		if literal && strings.Contains(v, "$") {
			continue
		}
		val = v
	}
	return val
}

// iniValue is key in [section] of an oslo.config file; "" when unset.
func iniValue(s, section, key string) string {
	in, val := false, ""
	for _, l := range strings.Split(s, "\n") {
		l = strings.TrimSpace(l)
		if strings.HasPrefix(l, "[") {
			in = strings.EqualFold(strings.Trim(l, "[] "), section)
			continue
		}
		if k, v, ok := strings.Cut(l, "="); in && ok && strings.TrimSpace(k) == key {
			val = strings.TrimSpace(v)
		}
	}
	return val
}
