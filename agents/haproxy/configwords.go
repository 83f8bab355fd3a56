package haproxy

import (
	"fmt"
	"strings"

	"github.com/stackha/stackha/instance"
)

// splitLine splits a configuration line into words the way haproxy does:
// blanks separate words, '#' starts a comment, single quotes are literal,
// double quotes group, and a backslash escapes the next character. Quoted
// text is kept without its quotes; environment variables are left as
// written.
func splitLine(line string) []string {
	var words []string
	var cur strings.Builder
	inWord := false
	quote := byte(0)
	for i := 0; i < len(line); i++ {
		ch := line[i]
		switch {
		case quote != 0:
			if ch == quote {
				quote = 0
				continue
			}
			if ch == '\\' && quote == '"' && i+1 < len(line) {
				i++
				ch = line[i]
			}
			cur.WriteByte(ch)
		case ch == '\\' && i+1 < len(line):
			i++
			cur.WriteByte(line[i])
			inWord = true
		case ch == '\'' || ch == '"':
			quote = ch
			inWord = true
		case ch == '#':
			if inWord {
				words = append(words, cur.String())
			}
			return words
		case ch == ' ' || ch == '\t' || ch == '\r':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		default:
			cur.WriteByte(ch)
			inWord = true
		}
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words
}

// AdminSocket is the first admin-level unix stats socket, "" when none.
func (c *Config) AdminSocket() string {
	for _, s := range c.StatsSockets {
		if s.Level == "admin" && s.UnixPath() != "" {
			return s.UnixPath()
		}
	}
	return ""
}

// BackendsWithServers lists the backends (and listen sections) that declare
// at least one server, in configuration order.
func (c *Config) BackendsWithServers() []string {
	var out []string
	for _, p := range c.Proxies {
		if p.HasBackend() && len(p.Servers) > 0 && !p.Disabled {
			out = append(out, p.Name)
		}
	}
	return out
}

// ServerStatePath is where haproxy reads the global server state file,
// "" when the configuration names none. haproxy takes server-state-file
// as it is when it starts with '/' or when there is no server-state-base,
// else it joins the two (src/server_state.c, srv_state_get_filepath); a
// path that is still relative then is read from haproxy's working
// directory, which the agent does not decide on: refused, as are
// environment variables (which haproxy expands and the agent does not)
// and a path that is not clean.
func (c *Config) ServerStatePath() (string, error) {
	f := c.ServerStateFile
	if f == "" {
		return "", nil
	}
	p := f
	if !strings.HasPrefix(f, "/") && c.ServerStateBase != "" {
		sep := "/"
		if strings.HasSuffix(c.ServerStateBase, "/") {
			sep = ""
		}
		p = c.ServerStateBase + sep + f
	}
	switch {
	case strings.Contains(p, "$"):
		return "", fmt.Errorf("server-state-file %s: environment variables are not supported there", instance.Quote(p))
	case !strings.HasPrefix(p, "/"):
		return "", fmt.Errorf("server-state-file %s is relative (server-state-base %s): haproxy would read it from its working directory; give an absolute path",
			instance.Quote(f), instance.Quote(c.ServerStateBase))
	}
	if err := instance.CheckPath("server-state-file", p); err != nil {
		return "", err
	}
	return p, nil
}
