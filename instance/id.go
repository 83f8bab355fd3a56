package instance

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxID is the longest resource instance accepted, in bytes: it names a
// directory under Root and a lock file.
const MaxID = 200

// CheckID reports why inst cannot be a resource instance. Pacemaker's
// resource ids are XML ids (an NCName: a letter or '_', then letters,
// digits, marks, '.', '-', '_'), and a clone's instances add ":<number>"
// (haproxy:1). A valid instance never holds '/' or a control character and
// is never "." or "..": it names a directory under Root safely. "" (an agent
// run by hand, outside a cluster) is valid; Name then uses the agent's name.
func CheckID(inst string) error {
	if inst == "" {
		return nil
	}
	if len(inst) > MaxID {
		return fmt.Errorf("OCF_RESOURCE_INSTANCE is %d bytes long: a resource id has at most %d", len(inst), MaxID)
	}
	id := inst
	if i := strings.LastIndexByte(inst, ':'); i >= 0 {
		if _, err := strconv.ParseUint(inst[i+1:], 10, 32); err != nil {
			return fmt.Errorf("OCF_RESOURCE_INSTANCE %s: after ':' a clone instance has a number", Quote(inst))
		}
		id = inst[:i]
	}
	if !isNCName(id) {
		return fmt.Errorf("OCF_RESOURCE_INSTANCE %s is not a valid resource id (a letter or '_', then letters, digits, '.', '-', '_'; a clone instance adds \":<number>\")", Quote(inst))
	}
	return nil
}

// isNCName reports whether s is an NCName as XML ids are.
func isNCName(s string) bool {
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

// Name is the name an instance's state and lock go by: the resource
// instance, or the agent's name for an agent run by hand. It fails for an
// instance CheckID refuses.
func Name(agent, inst string) (string, error) {
	if inst == "" {
		inst = agent
	}
	if inst == "" {
		return "", fmt.Errorf("no resource instance and no agent name")
	}
	if err := CheckID(inst); err != nil {
		return "", err
	}
	return inst, nil
}
