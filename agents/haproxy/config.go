package haproxy

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"regexp"
	"strings"
)

// The parts of an haproxy configuration the agent needs to know: where the
// listeners bind, which admin-level stats socket the workers expose, which
// backends have servers, and whether the operator already chose a server
// state file. haproxy itself remains the judge of validity (haproxy -c); this
// parser only reads what it must and never rejects what haproxy accepts.

// Config is what the agent read from the configuration files.
type Config struct {
	Files        []string // in haproxy's load order, resolved and checked
	StatsSockets []StatsSocket
	// ServerStateFile and ServerStateBase are the global directives of the
	// same names, "" when not set.
	ServerStateFile string
	ServerStateBase string
	// User is the global "user" (a name) or "uid" (a number) the workers
	// run as, "" when not set (they stay root).
	User    string
	Proxies []*Proxy
	// Refs are the files the configuration makes haproxy read as root
	// (configrefs.go), in configuration order.
	Refs []FileRef
}

// StatsSocket is a global "stats socket" line.
type StatsSocket struct {
	Addr  string // as written: a path, or unix@/ipv4@... form
	Level string // "user", "operator" (haproxy's default) or "admin"
	Pos   Pos
}

// UnixPath is the socket's file system path, "" when it is not a unix
// socket in the file system.
func (s StatsSocket) UnixPath() string {
	a := s.Addr
	if p, ok := strings.CutPrefix(a, "unix@"); ok {
		a = p
	}
	if strings.HasPrefix(a, "/") {
		return a
	}
	return ""
}

// Pos is a place in the configuration.
type Pos struct {
	File string
	Line int
}

func (p Pos) String() string { return fmt.Sprintf("%s:%d", p.File, p.Line) }

// Proxy is a frontend, backend or listen section.
type Proxy struct {
	Kind     string // "frontend", "backend" or "listen"
	Name     string
	Pos      Pos
	Disabled bool
	Binds    []Bind
	Servers  []string
	// LoadState is the effective load-server-state-from-file ("none",
	// "global", "local"), inherited from the defaults section in force.
	LoadState string
}

// HasFrontend reports whether the proxy accepts connections.
func (p *Proxy) HasFrontend() bool { return p.Kind == "frontend" || p.Kind == "listen" }

// HasBackend reports whether the proxy forwards to servers.
func (p *Proxy) HasBackend() bool { return p.Kind == "backend" || p.Kind == "listen" }

// Bind is one "bind" line.
type Bind struct {
	Addrs   []string // the comma-separated addresses of the first argument
	Options []string // the rest of the line
	Pos     Pos
}

// HasOption reports whether the bind line carries the keyword.
func (b Bind) HasOption(name string) bool {
	for _, o := range b.Options {
		if o == name {
			return true
		}
	}
	return false
}

// Option returns the argument following keyword name, and whether it is set.
func (b Bind) Option(name string) (string, bool) {
	for i, o := range b.Options {
		if o == name && i+1 < len(b.Options) {
			return b.Options[i+1], true
		}
	}
	return "", false
}

// sectionKeyword reports whether kw starts a new section in an haproxy
// configuration.
func sectionKeyword(kw string) bool {
	switch kw {
	case "global", "defaults", "frontend", "backend", "listen",
		"peers", "resolvers", "userlist", "mailers", "program",
		"http-errors", "ring", "cache", "fcgi-app", "log-forward",
		"dynamic-update", "traces", "crt-store":
		return true
	}
	return false
}

// LoadConfig reads and parses every file of the configuration (see
// ConfigFiles), each under the RootOnly rules: haproxy runs it as root.
func LoadConfig(paths []string) (*Config, error) {
	files, err := ConfigFiles(paths)
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("no configuration file in %s (a directory holds *.cfg files)", strings.Join(paths, ", "))
	}
	c := &Config{Files: files}
	var st parseState
	for _, f := range files {
		b, err := readTrusted(f, maxConfigFile)
		if err != nil {
			return nil, err
		}
		if err := c.parse(&st, f, bytes.NewReader(b)); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// ParseConfig parses one configuration text (name is used in positions).
func ParseConfig(name string, r io.Reader) (*Config, error) {
	c := &Config{}
	var st parseState
	if err := c.parse(&st, name, r); err != nil {
		return nil, err
	}
	return c, nil
}

type parseState struct {
	section      string
	proxy        *Proxy
	defaultsLoad string            // load-server-state-from-file of the last defaults
	named        map[string]string // named defaults sections' value
	currentDef   string            // name of the defaults section being parsed
	bases        bases             // what relative paths are resolved with
	defPath      string            // the global default-path's mode
	origin       string            // and its directory, for "origin"
	mapRE        *regexp.Regexp    // mapConverterRE, compiled for the first line that needs it
}

const maxLine = 1 << 20

func (c *Config) parse(st *parseState, name string, r io.Reader) error {
	if st.named == nil {
		st.named = map[string]string{}
	}
	st.defaultPath(name)
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), maxLine)
	n := 0
	for sc.Scan() {
		n++
		words := splitLine(sc.Text())
		if len(words) == 0 {
			continue
		}
		pos := Pos{File: name, Line: n}
		kw := words[0]
		if sectionKeyword(kw) {
			c.startSection(st, kw, words[1:], pos)
			continue
		}
		c.scanRefs(st, words, pos)
		switch st.section {
		case "global":
			c.globalLine(words, pos)
		case "defaults":
			if kw == "load-server-state-from-file" && len(words) > 1 {
				st.defaultsLoad = words[1]
				if st.currentDef != "" {
					st.named[st.currentDef] = words[1]
				}
			}
		case "frontend", "backend", "listen":
			proxyLine(st.proxy, words, pos)
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("reading %s: %w", name, err)
	}
	return nil
}

func (c *Config) startSection(st *parseState, kw string, args []string, pos Pos) {
	st.section, st.proxy, st.currentDef = kw, nil, ""
	switch kw {
	case "defaults":
		// A defaults section starts from haproxy's built-in values, unless it
		// names another one with "from".
		st.defaultsLoad = "none"
		if len(args) > 0 && args[0] != "from" {
			st.currentDef = args[0]
		}
		if from := fromArg(args); from != "" {
			st.defaultsLoad = st.named[from]
		}
		if st.currentDef != "" {
			st.named[st.currentDef] = st.defaultsLoad
		}
	case "frontend", "backend", "listen":
		p := &Proxy{Kind: kw, Pos: pos, LoadState: st.defaultsLoad}
		if p.LoadState == "" {
			p.LoadState = "none"
		}
		if len(args) > 0 {
			p.Name = args[0]
		}
		if from := fromArg(args); from != "" {
			if v, ok := st.named[from]; ok && v != "" {
				p.LoadState = v
			}
		}
		st.proxy = p
		c.Proxies = append(c.Proxies, p)
	}
}

func fromArg(args []string) string {
	for i, a := range args {
		if a == "from" && i+1 < len(args) {
			return args[i+1]
		}
	}
	return ""
}

func (c *Config) globalLine(w []string, pos Pos) {
	switch w[0] {
	case "stats":
		if len(w) >= 3 && w[1] == "socket" {
			s := StatsSocket{Addr: w[2], Level: "operator", Pos: pos}
			for i := 3; i+1 < len(w); i++ {
				if w[i] == "level" {
					s.Level = w[i+1]
				}
			}
			c.StatsSockets = append(c.StatsSockets, s)
		}
	case "server-state-file":
		if len(w) > 1 {
			c.ServerStateFile = w[1]
		}
	case "server-state-base":
		if len(w) > 1 {
			c.ServerStateBase = w[1]
		}
	case "user", "uid":
		if len(w) > 1 {
			c.User = w[1]
		}
	}
}

func proxyLine(p *Proxy, w []string, pos Pos) {
	if p == nil {
		return
	}
	switch w[0] {
	case "bind":
		b := Bind{Pos: pos}
		if len(w) > 1 {
			for _, a := range strings.Split(w[1], ",") {
				if a != "" {
					b.Addrs = append(b.Addrs, a)
				}
			}
			b.Options = append([]string(nil), w[2:]...)
		}
		p.Binds = append(p.Binds, b)
	case "server":
		if len(w) > 1 {
			p.Servers = append(p.Servers, w[1])
		}
	case "server-template":
		if len(w) > 1 {
			p.Servers = append(p.Servers, w[1]+"*")
		}
	case "disabled":
		p.Disabled = true
	case "enabled":
		p.Disabled = false
	case "load-server-state-from-file":
		if len(w) > 1 {
			p.LoadState = w[1]
		}
	}
}
