package openstack

import (
	"fmt"
	"net"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/stackha/stackha/instance"
	"github.com/stackha/stackha/ocf"
)

// Mode is how the service runs.
type Mode string

// The run modes.
const (
	ModeSystemd Mode = "systemd"
	ModeProcess Mode = "process"
)

// Config is one resource's parameters, checked and with defaults applied.
type Config struct {
	Profile  *Profile
	Instance string // the instance's name: its state and lock (ocf.Request.Name)
	Mode     Mode
	Unit     string
	Binary   string
	// UWSGIIni is the package's uwsgi ini run_mode=process runs Binary
	// with when Binary is uwsgi, as the service's unit does; "": Binary is
	// the service's own server, run directly.
	UWSGIIni string
	// ExtraIni is an ini of the operator's that uwsgi reads after
	// UWSGIIni (extra_ini): its options override the package's.
	ExtraIni    string
	ConfigFile  string
	ExtraArgs   []string
	User        string
	Port        int
	BindHost    string
	URL         *url.URL // version document (depth 0)
	CAFile      string
	PIDFile     string
	LogFile     string
	KeystoneURL string // "" when only the credentials file names it
	Credentials string
	Cloud       string
	AuthPath    string
	// ProbeTimeout bounds one version request (cut further to fit the
	// operation's deadline); DegradedAfter, when not 0, is the answer time
	// beyond which monitor reports the service degraded.
	ProbeTimeout  time.Duration
	DegradedAfter time.Duration
	// Drain before stop (drain.go): 0 and "" where the profile has none.
	DrainTimeout time.Duration
	DrainFile    string
	DrainChecks  time.Duration
	// DrainAgentPort is the drain agent's port (agentcheck.go), for a
	// service without the healthcheck; 0: none.
	DrainAgentPort int
}

// NewConfig checks the parameters of one resource; name is the instance's
// name (ocf.Request.Name), which only its state directory and the default
// pid and log files are built from. Errors are configuration errors (exit
// 6): they are the same on every node.
func NewConfig(p *Profile, params ocf.Params, name string) (*Config, error) {
	if err := instance.CheckID(name); err != nil || name == "" {
		return nil, ocf.Configured("instance name %s: not a resource id", instance.Quote(name))
	}
	c := &Config{
		Profile:     p,
		Instance:    name,
		Mode:        Mode(params.String("run_mode")),
		Unit:        params.String("unit"),
		Binary:      params.String("binary"),
		ConfigFile:  params.String("config"),
		User:        params.String("user"),
		Port:        params.Int("port"),
		CAFile:      params.String("ca_file"),
		PIDFile:     params.String("pidfile"),
		LogFile:     params.String("log_file"),
		KeystoneURL: params.String("keystone_url"),
		Credentials: params.String("credentials"),
		Cloud:       params.String("cloud"),
		AuthPath:    params.String("auth_path"),
	}
	// the runtime has checked every number against its declared Range
	c.ProbeTimeout = params.Duration("probe_timeout")
	if c.ProbeTimeout == 0 {
		c.ProbeTimeout = defaultProbeTimeout
	}
	c.DegradedAfter = time.Duration(params.Int("degraded_ms")) * time.Millisecond
	if bindHostDeclared(p) {
		c.BindHost = params.String("bind_host")
	}
	if p.UWSGIIni != "" {
		if isUWSGI(c.Binary) {
			c.UWSGIIni = params.String("uwsgi_ini")
		}
		c.ExtraIni = params.String("extra_ini")
	}
	switch c.Mode {
	case ModeSystemd:
		if c.Unit == "" {
			return nil, ocf.Configured("run_mode=systemd needs a unit")
		}
	case ModeProcess:
		if c.Binary == "" {
			return nil, ocf.Configured("run_mode=process needs a binary")
		}
		if c.User == "" {
			return nil, ocf.Configured("run_mode=process needs a user")
		}
	default:
		return nil, ocf.Configured("run_mode %q: want systemd or process", c.Mode)
	}
	if c.BindHost != "" && net.ParseIP(c.BindHost) == nil {
		return nil, ocf.Configured("bind_host %q: want an IP address", c.BindHost)
	}
	args, err := SplitArgs(params.String("extra_args"))
	if err != nil {
		return nil, ocf.Configured("extra_args: %v", err)
	}
	c.ExtraArgs = args
	raw := params.String("url")
	if raw == "" {
		host := "127.0.0.1"
		if ip := net.ParseIP(c.BindHost); ip != nil && !ip.IsUnspecified() {
			host = c.BindHost
		}
		raw = "http://" + net.JoinHostPort(host, strconv.Itoa(c.Port)) + p.VersionPath
	}
	if c.URL, err = parseHTTPURL(raw); err != nil {
		return nil, ocf.Configured("url: %v", err)
	}
	if c.KeystoneURL != "" {
		if _, err := parseHTTPURL(c.KeystoneURL); err != nil {
			return nil, ocf.Configured("keystone_url: %v", err)
		}
	}
	if c.AuthPath != "" && !strings.HasPrefix(c.AuthPath, "/") {
		return nil, ocf.Configured("auth_path %q: want a path starting with /", c.AuthPath)
	}
	for _, f := range []struct{ name, v string }{{"binary", c.Binary}, {"uwsgi_ini", c.UWSGIIni}, {"extra_ini", c.ExtraIni}, {"config", c.ConfigFile}, {"ca_file", c.CAFile},
		{"pidfile", c.PIDFile}, {"log_file", c.LogFile}, {"credentials", c.Credentials}} {
		if f.v != "" && (!filepath.IsAbs(f.v) || filepath.Clean(f.v) != f.v) {
			return nil, ocf.Configured("%s %q: want a clean absolute path (no '..', '.', '//' or trailing '/')", f.name, f.v)
		}
	}
	if c.Mode == ModeProcess {
		if err := c.checkServer(); err != nil {
			return nil, err
		}
	}
	if c.PIDFile != "" {
		if err := checkPIDFile(c.PIDFile, name); err != nil {
			return nil, err
		}
	}
	if c.Mode == ModeProcess && c.UWSGIIni != "" && c.ConfigFile != "" {
		if err := c.checkUWSGIConfig(); err != nil {
			return nil, err
		}
	}
	if err := c.parseDrain(params); err != nil {
		return nil, err
	}
	if c.PIDFile == "" {
		c.PIDFile = filepath.Join(instance.StateDir(name), p.Name+".pid")
	}
	if c.LogFile == "" {
		c.LogFile = filepath.Join("/var/log/stackha", name+".log")
	}
	return c, nil
}

// checkPIDFile refuses a pid file among stackha's state (instance.Root)
// anywhere but in the instance's own state directory, and there under the
// name of a record or of a temporary file: writing it would replace a
// record or a lock.
func checkPIDFile(path, name string) error {
	root, dir, base := filepath.Clean(instance.Root), filepath.Dir(path), filepath.Base(path)
	if dir != root && !strings.HasPrefix(dir, root+"/") {
		return nil
	}
	if dir == instance.StateDir(name) && !strings.HasPrefix(base, ".") && !strings.HasSuffix(base, ".record") {
		return nil
	}
	return ocf.Configured("pidfile %s: that name is among stackha's own state; only %s/<name>.pid is free there",
		path, instance.StateDir(name))
}

// parseHTTPURL accepts an absolute http or https URL with a host.
func parseHTTPURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("%q is not a URL", raw)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("%q: want an http:// or https:// URL", raw)
	}
	if u.Host == "" || u.Hostname() == "" {
		return nil, fmt.Errorf("%q has no host", raw)
	}
	if u.User != nil {
		return nil, fmt.Errorf("%q: a URL must not carry credentials", u.Redacted())
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return nil, fmt.Errorf("%q: bad port %q", raw, p)
		}
	}
	return u, nil
}

// serviceBase is the scheme and host of the service's url: where depth 20's
// authenticated path is asked.
func (c *Config) serviceBase() string {
	return c.URL.Scheme + "://" + c.URL.Host
}

// keystoneV3 is the keystone endpoint to get a token from: keystone_url,
// else the credentials' auth_url, else (for keystone itself) its own url.
func (c *Config) keystoneV3(fromCreds string) (string, error) {
	raw := c.KeystoneURL
	if raw == "" {
		raw = fromCreds
	}
	if raw == "" && c.Profile.Name == "keystone" {
		raw = c.serviceBase()
	}
	if raw == "" {
		return "", ocf.Configured("monitor depth 20 needs keystone_url (or auth_url in the credentials file)")
	}
	u, err := parseHTTPURL(raw)
	if err != nil {
		return "", ocf.Configured("keystone url: %v", err)
	}
	s := strings.TrimRight(u.String(), "/")
	if !strings.HasSuffix(s, "/v3") {
		s += "/v3"
	}
	return s, nil
}

// argv is the program and arguments run_mode=process starts: uwsgi with
// the package's ini (uwsgi.go), or the service's own server.
func (c *Config) argv() []string {
	if c.UWSGIIni != "" {
		return c.uwsgiArgv()
	}
	argv := []string{c.Binary}
	if c.ConfigFile != "" {
		argv = append(argv, "--config-file", c.ConfigFile)
	}
	return append(argv, c.ExtraArgs...)
}

// SplitArgs splits s into arguments the way a shell splits words, without
// any expansion: white space separates, single quotes keep everything,
// double quotes keep everything but a backslash-escaped " or \, and a
// backslash outside quotes escapes the next character.
func SplitArgs(s string) ([]string, error) {
	var (
		out   []string
		cur   strings.Builder
		inArg bool
		quote rune
		esc   bool
	)
	for _, r := range s {
		if r == 0 {
			return nil, fmt.Errorf("a NUL byte cannot be part of an argument")
		}
		switch {
		case esc:
			if quote == '"' && r != '"' && r != '\\' {
				cur.WriteRune('\\')
			}
			cur.WriteRune(r)
			esc = false
		case quote == '\'':
			if r == '\'' {
				quote = 0
			} else {
				cur.WriteRune(r)
			}
		case quote == '"':
			switch r {
			case '"':
				quote = 0
			case '\\':
				esc = true
			default:
				cur.WriteRune(r)
			}
		case r == '\\':
			esc, inArg = true, true
		case r == '\'' || r == '"':
			quote, inArg = r, true
		case r == ' ' || r == '\t' || r == '\n' || r == '\r':
			if inArg {
				out = append(out, cur.String())
				cur.Reset()
				inArg = false
			}
		default:
			cur.WriteRune(r)
			inArg = true
		}
	}
	if esc {
		return nil, fmt.Errorf("%q ends with a lone backslash", s)
	}
	if quote != 0 {
		return nil, fmt.Errorf("%q has an unclosed %c quote", s, quote)
	}
	if inArg {
		out = append(out, cur.String())
	}
	return out, nil
}
