package ocf

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxInstance is the longest OCF_RESOURCE_INSTANCE accepted, in bytes: the
// instance names a directory under /run/stackha and files in it.
const MaxInstance = 200

// CheckInstance reports why inst cannot be a resource instance. Pacemaker's
// resource ids are XML ids (an NCName: a letter or '_', then letters,
// digits, '.', '-', '_'), and a clone's instances add ":<number>"
// (haproxy:1). So a valid instance never holds '/' and is never "." or
// "..": it can name a directory under /run/stackha safely. "" (an agent
// run by hand, outside a cluster) is valid.
func CheckInstance(inst string) error {
	if inst == "" {
		return nil
	}
	if len(inst) > MaxInstance {
		return fmt.Errorf("OCF_RESOURCE_INSTANCE is %d bytes long: a resource id has at most %d", len(inst), MaxInstance)
	}
	id := inst
	if i := strings.LastIndexByte(inst, ':'); i >= 0 {
		if _, err := strconv.ParseUint(inst[i+1:], 10, 32); err != nil {
			return fmt.Errorf("OCF_RESOURCE_INSTANCE %s: after ':' a clone instance has a number", quote(inst))
		}
		id = inst[:i]
	}
	if !isID(id) {
		return fmt.Errorf("OCF_RESOURCE_INSTANCE %s is not a valid resource id (a letter or '_', then letters, digits, '.', '-', '_'; a clone instance adds \":<number>\")", quote(inst))
	}
	return nil
}

// isID reports whether s is an NCName as XML ids are.
func isID(s string) bool {
	if s == "" || !utf8.ValidString(s) {
		return false
	}
	for i, r := range s {
		switch {
		case r == '_' || unicode.IsLetter(r):
		case i > 0 && (r == '.' || r == '-' || unicode.IsDigit(r) || unicode.IsMark(r)):
		default:
			return false
		}
	}
	return true
}

// safeName turns any string into one directory name: bytes outside
// [A-Za-z0-9._:-] become '_', and a leading '.' or '-' gets a '_' before
// it, so the result never holds '/' and is never "." or "..".
func safeName(s string) string {
	if s == "" {
		return "_"
	}
	b := []byte(s)
	if len(b) > MaxInstance {
		b = b[:MaxInstance]
	}
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == ':' || c == '-') {
			b[i] = '_'
		}
	}
	if b[0] == '.' || b[0] == '-' {
		return "_" + string(b)
	}
	return string(b)
}

// quote quotes a value from outside for a message, capped.
func quote(s string) string {
	if len(s) > 64 {
		s = s[:64] + "..."
	}
	return strconv.QuoteToASCII(s)
}
