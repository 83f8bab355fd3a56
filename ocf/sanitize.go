package ocf

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxLine is the most bytes an exit reason or a log message keeps. Reasons
// and log lines may quote what a service wrote (its log, a status socket's
// answer); crm_mon, the CIB and the logs must not carry megabytes of it.
const MaxLine = 4096

// Sanitize makes s fit on one line of a log or an exit reason: line breaks
// become "; ", tabs a space, every other control character (C0, DEL, C1)
// and invalid UTF-8 is dropped, and the result is capped at MaxLine bytes
// (cut on a character boundary, with a note of how much was cut). Agents
// use it on anything they quote from a file or socket a service can write.
func Sanitize(s string) string {
	if clean(s) {
		return s
	}
	var b strings.Builder
	b.Grow(min(len(s), MaxLine))
	cut := 0
	for i, r := range s {
		var add string
		switch {
		case r == '\r' && strings.HasPrefix(s[i+1:], "\n"):
			continue // the "\n" that follows adds the separator
		case r == '\n' || r == '\r':
			add = "; "
		case r == '\t':
			add = " "
		case r == utf8.RuneError && !strings.HasPrefix(s[i:], "\uFFFD"):
			continue // invalid UTF-8
		case unicode.IsControl(r):
			continue
		default:
			add = string(r)
		}
		if b.Len()+len(add) > MaxLine-len(truncNote(len(s))) {
			cut = len(s) - i
			break
		}
		b.WriteString(add)
	}
	if cut > 0 {
		b.WriteString(truncNote(cut))
	}
	return b.String()
}

func truncNote(n int) string { return " …(" + strconv.Itoa(n) + " more bytes cut)" }

// clean reports whether s needs no change: short, printable ASCII or valid
// UTF-8 without control characters. The common case costs one scan.
func clean(s string) bool {
	if len(s) > MaxLine {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c == 0x7f {
			return false
		}
		if c >= 0x80 {
			return cleanUnicode(s[i:])
		}
	}
	return true
}

func cleanUnicode(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return false
		}
	}
	return true
}
