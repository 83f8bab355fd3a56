package haproxy

import (
	"path/filepath"
	"regexp"
	"strings"
)

// The files an haproxy configuration makes haproxy read as root, found by
// the same reader as the rest (splitLine, section by section): code it runs
// (Lua, a program, an external check), keys and certificates, and data that
// decides what it does (maps, ACL pattern files, error pages, CA and CRL
// files, DH parameters, header case maps, filter configurations). Paths are
// resolved as haproxy 2.6 resolves them: crt-base before a relative crt or
// crt-list entry, ca-base before a relative ca-file, crl-file or
// ca-sign-file, then the working directory, which default-path chooses (the
// agent starts haproxy in "/"). trust.go checks them.

// RefKind says how haproxy uses a file, and so what it must be.
type RefKind int

const (
	RefCode    RefKind = iota // code haproxy runs as root (or loads into itself)
	RefData                   // data that decides what haproxy does
	RefKey                    // a secret: readable by no one but root (and its group)
	RefCert                   // crt: a PEM file or a directory of them, keys inside or beside
	RefCrtList                // crt-list: the list, and each certificate it names
	RefTree                   // a directory whose files are loaded (Lua modules, providers, issuers)
)

// FileRef is one file (or directory) the configuration names.
type FileRef struct {
	Directive string // what names it, as written ("lua-load", "bind crt", "acl -f", "map_dom")
	Raw       string // the path as written
	Path      string // as haproxy resolves it: absolute; "" when it cannot be known (see Problem)
	Problem   string // why the agent cannot know which file haproxy reads
	Kind      RefKind
	Pos       Pos
	bases     bases // in force at the line: a crt-list's entries are resolved with them
}

// bases are the global directives relative paths are resolved with.
type bases struct {
	crt, ca string // crt-base, ca-base ("" when not set)
	cwd     string // haproxy's working directory while it parses the line
}

// resolve makes p absolute as haproxy does: base (when set) before a
// relative p, then the working directory. haproxy expands environment
// variables, which the agent does not: a path with '$' cannot be checked.
func (b bases) resolve(p, base string) (abs, problem string) {
	switch {
	case strings.Contains(p, "$"):
		return "", "an environment variable in a path the agent must check (haproxy expands it, the agent does not): write the path out"
	case !strings.HasPrefix(p, "/") && base != "":
		p = base + "/" + p
	}
	if !strings.HasPrefix(p, "/") {
		p = strings.TrimSuffix(b.cwd, "/") + "/" + p
	}
	return p, ""
}

// defaultPath applies a global "default-path" to the file name being
// parsed (haproxy chdirs accordingly, then again at each file).
func (st *parseState) defaultPath(file string) {
	switch st.defPath {
	case "config":
		st.bases.cwd = filepath.Dir(file)
	case "parent":
		st.bases.cwd = filepath.Dir(filepath.Dir(file))
	case "origin":
		st.bases.cwd = st.origin
	default:
		st.bases.cwd = "/"
	}
	if !strings.HasPrefix(st.bases.cwd, "/") {
		st.bases.cwd = "/" + st.bases.cwd
	}
}

// sslFile says whether a bind or server option names a file, of which kind,
// and the base a relative one is joined with ("crt", "ca" or ""). A switch,
// not a table: the agents' init does no work (test/install's budget).
func sslFile(opt string) (kind RefKind, base string, ok bool) {
	switch opt {
	case "crt":
		return RefCert, "crt", true
	case "crt-list":
		return RefCrtList, "", true
	case "tls-ticket-keys":
		return RefKey, "", true
	case "ca-file", "ca-verify-file", "crl-file":
		return RefData, "ca", true
	case "ca-sign-file": // the CA's certificate and private key
		return RefKey, "ca", true
	}
	return 0, "", false
}

// optionArgWords are the bind and server options that take one argument
// (haproxy 2.6's keyword table, `haproxy -dKall`; TestOptionArgsMatchHaproxy
// compares): their argument is never read as an option.
const optionArgWords = `accept-netscaler-cip addr agent-addr agent-inter agent-port agent-send
alpn backlog ca-ignore-err ca-sign-pass check-alpn check-proto check-sni ciphers ciphersuites
cookie crt-ignore-err curves downinter ecdhe error-limit expose-fd fall fastinter gid group id
init-addr inter interface level log-proto max-reuse maxconn maxqueue minconn mode mss name
namespace nice npn observe on-error on-marked-down on-marked-up pool-low-conn pool-max-conn
pool-purge-delay port process proto proxy-v2-options redir resolve-net resolve-opts
resolve-prefer resolvers rise severity-output shards slowstart sni socks4 source ssl-max-ver
ssl-min-ver tcp-ut thread track uid user verify verifyhost weight ws`

// takesArg reports whether opt is one of optionArgWords.
func takesArg(opt string) bool {
	for _, w := range strings.Fields(optionArgWords) {
		if w == opt {
			return true
		}
	}
	return false
}

// mapConverterRE finds the map converters (map, map_str, map_beg_ip, ...),
// whose first argument is a file; set-map and the like name a file some
// other line loads, and read none. Compiled when a configuration is read,
// not at init.
const mapConverterRE = `(?:^|[^a-zA-Z0-9_.-])(map(?:_[a-z]+)*)\(`

// scanRefs records the files line w names (see the top of this file).
func (c *Config) scanRefs(st *parseState, w []string, pos Pos) {
	add := func(directive, raw string, kind RefKind, base string) {
		if raw == "" || kind == RefData && strings.HasPrefix(raw, "@system-ca") {
			return
		}
		r := FileRef{Directive: directive, Raw: raw, Kind: kind, Pos: pos, bases: st.bases}
		switch base {
		case "crt":
			base = st.bases.crt
		case "ca":
			base = st.bases.ca
		}
		r.Path, r.Problem = st.bases.resolve(raw, base)
		c.Refs = append(c.Refs, r)
	}
	arg := func(i int) string {
		if i < len(w) {
			return w[i]
		}
		return ""
	}
	kw := w[0]
	switch st.section {
	case "program":
		if kw == "command" {
			c.command(st, "program command", arg(1), pos)
		}
		return // the rest is the program's, not haproxy's
	case "userlist":
		return
	case "global":
		switch kw {
		case "crt-base":
			st.bases.crt = arg(1)
		case "ca-base":
			st.bases.ca = arg(1)
		case "default-path":
			st.defPath, st.origin = arg(1), arg(2)
			st.defaultPath(pos.File)
		case "lua-load", "lua-load-per-thread":
			add(kw, arg(1), RefCode, "")
		case "lua-prepend-path":
			add(kw, luaPathDir(arg(1)), RefTree, "")
		case "ssl-provider-path", "issuers-chain-path":
			add(kw, arg(1), RefTree, "")
		case "ssl-dh-param-file", "h1-case-adjust-file", "httpclient.ssl.ca-file":
			add(kw, arg(1), RefData, "")
		}
	}
	first := 0 // where a bind or server line's options start
	switch kw {
	case "stats":
		if arg(1) == "socket" { // takes the bind options (ssl crt ...)
			first, kw = 3, "stats socket"
		}
	case "bind":
		first = 2
	case "server", "peer":
		first = 3
	case "server-template":
		first = 4
	case "default-bind", "default-server":
		first = 1
	case "errorfile":
		add(kw, arg(2), RefData, "")
	case "filter":
		for i := 1; i+1 < len(w); i++ {
			if w[i] == "config" {
				add("filter "+arg(1)+" config", w[i+1], RefData, "")
			}
		}
	case "external-check":
		if arg(1) == "command" {
			c.command(st, "external-check command", arg(2), pos)
		}
	case "http-request", "http-response", "http-after-response", "http-error":
		for i := 1; i+1 < len(w) && w[i] != "if" && w[i] != "unless"; i++ {
			if w[i] == "errorfile" || w[i] == "file" || w[i] == "lf-file" {
				add(kw+" "+w[i], w[i+1], RefData, "")
			}
		}
	}
	for i := first; first > 0 && i < len(w); i++ {
		if kind, base, ok := sslFile(w[i]); ok && i+1 < len(w) {
			add(kw+" "+w[i], w[i+1], kind, base)
			i++
		} else if takesArg(w[i]) {
			i++
		}
	}
	acl := kw == "acl"
	for i, word := range w {
		if word == "if" || word == "unless" {
			acl = true
		}
		if acl && word == "-f" && i+1 < len(w) {
			add("acl -f", w[i+1], RefData, "")
		}
		if st.mapRE == nil {
			st.mapRE = regexp.MustCompile(mapConverterRE)
		}
		for _, m := range st.mapRE.FindAllStringSubmatchIndex(word, -1) {
			add(word[m[2]:m[3]], convArg(word[m[1]:]), RefData, "")
		}
	}
}

// command records the program a program section or an external check
// runs: haproxy looks a bare name up in a PATH the agent does not decide,
// so only an absolute path can be checked.
func (c *Config) command(st *parseState, directive, cmd string, pos Pos) {
	if cmd == "" {
		return
	}
	r := FileRef{Directive: directive, Raw: cmd, Kind: RefCode, Pos: pos, bases: st.bases}
	if strings.HasPrefix(cmd, "/") {
		r.Path, r.Problem = st.bases.resolve(cmd, "")
	} else {
		r.Problem = "haproxy runs it as root, found in a PATH: give its absolute path, so that the agent can check the file"
	}
	c.Refs = append(c.Refs, r)
}

// convArg is a converter's first argument in s (what follows its '('):
// up to an unquoted ',' or ')', with haproxy's quotes and backslashes.
func convArg(s string) string {
	var b strings.Builder
	quote := byte(0)
	for i := 0; i < len(s); i++ {
		ch := s[i]
		switch {
		case ch == '\\' && i+1 < len(s):
			i++
			b.WriteByte(s[i])
		case quote != 0 && ch == quote:
			quote = 0
		case quote != 0:
			b.WriteByte(ch)
		case ch == '\'' || ch == '"':
			quote = ch
		case ch == ',' || ch == ')':
			return b.String()
		default:
			b.WriteByte(ch)
		}
	}
	return b.String()
}

// luaPathDir is the directory below which Lua looks for what a
// lua-prepend-path template ("/etc/haproxy/lua/?.lua") names: the part
// before the first '?', up to its last '/' (a module name "a.b" becomes
// "a/b", so the whole tree below counts).
func luaPathDir(tmpl string) string {
	p, _, _ := strings.Cut(tmpl, "?")
	if i := strings.LastIndexByte(p, '/'); i > 0 {
		return p[:i]
	} else if i == 0 {
		return "/"
	}
	return "." // relative: the working directory
}
