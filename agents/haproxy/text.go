package haproxy

import (
	"strings"
	"unicode/utf8"
)

// What haproxy, its sockets, /proc or a file prints is untrusted: before it
// goes into an exit reason or a log line, control bytes are replaced and its
// length capped.

// maxQuoted is the most of one untrusted text a message quotes.
const maxQuoted = 512

// clip makes s safe to quote: invalid UTF-8 and control characters become
// '?', and it is cut at maxQuoted bytes.
func clip(s string) string {
	cut := len(s) > maxQuoted
	if cut {
		s = s[:maxQuoted]
	}
	s = strings.Map(func(r rune) rune {
		if r == utf8.RuneError || r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return '?'
		}
		return r
	}, strings.ToValidUTF8(s, "?"))
	if cut {
		s += "..."
	}
	return s
}

// firstLine is the first line of s, clipped.
func firstLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	if len(s) > 200 {
		s = s[:200]
	}
	return clip(s)
}
