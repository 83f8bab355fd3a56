package haproxy

import (
	"path/filepath"
	"strings"
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

// ServerStatePath is where haproxy reads the global server state file, ""
// when the configuration names none.
func (c *Config) ServerStatePath() string {
	f := c.ServerStateFile
	if f == "" {
		return ""
	}
	if !strings.HasPrefix(f, "/") && c.ServerStateBase != "" {
		return filepath.Join(c.ServerStateBase, f)
	}
	return f
}
