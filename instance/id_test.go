package instance

import (
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestCheckID(t *testing.T) {
	cases := []struct {
		inst string
		ok   bool
	}{
		{"", true},
		{"vip", true},
		{"haproxy:1", true},
		{"p_keystone-api.0", true},
		{"_x", true},
		{"ünïcode", true},
		{strings.Repeat("a", MaxID), true},
		{strings.Repeat("a", MaxID+1), false},
		{"../../x", false},
		{"../x", false},
		{"..", false},
		{".", false},
		{"a/b", false},
		{"/etc", false},
		{"0abc", false},
		{"-x", false},
		{"a b", false},
		{"a\nb", false},
		{"a\x00b", false},
		{"haproxy:", false},
		{"haproxy:x", false},
		{"haproxy:-1", false},
		{":1", false},
		{"a:b:1", false},
		{"a\xffb", false},
		// Letters of any script, marks and digits after the first.
		{"secé", true},
		{"é", true},
		{"Ωmega", true},
		{"日本", true},
		{"e\u0301", true},  // a combining mark after a letter
		{"\u0301e", false}, // ... but not first
		{"x\u0663", true},  // an Arabic-Indic digit after a letter
		{"\u0663x", false}, // ... but not first
		{"secé:12", true},  // a clone instance of one
		{"haproxy:4294967295", true},
		{"haproxy:4294967296", false},
		{"haproxy:01", true},
		{"haproxy:+1", false},
		{"haproxy: 1", false},
		// Control characters, of C0, DEL and C1, anywhere.
		{"\tx", false},
		{"a\tb", false},
		{"a\rb", false},
		{"a\x1bb", false},   // ESC: a terminal sequence
		{"a\x7fb", false},   // DEL
		{"a\u0085b", false}, // NEL
		{"a\u009bb", false}, // CSI
		{"vip\n", false},
		// Invisible or separating characters that are not letters.
		{"a\u200bb", false}, // zero-width space
		{"a\u2028b", false}, // line separator
		{"a\u202eb", false}, // right-to-left override
		{"a\ufeffb", false}, // byte order mark
		// Names that would alias a file of the state directory.
		{".locks", false},
		{".x", false},
		{"x.", true},
		{"a..b", true},
		{"~root", false},
		{"a\\b", false},
		{strings.Repeat("é", MaxID/2), true},
		{strings.Repeat("é", MaxID/2) + "a", false}, // MaxID counts bytes
		{strings.Repeat("a", MaxID-2) + ":1", true},
		{strings.Repeat("a", MaxID-1) + ":1", false},
	}
	for _, c := range cases {
		if err := CheckID(c.inst); (err == nil) != c.ok {
			t.Errorf("CheckID(%q) = %v, want ok=%t", c.inst, err, c.ok)
		}
	}
}

func TestName(t *testing.T) {
	cases := []struct {
		agent, inst, want string
		ok                bool
	}{
		{"vip", "", "vip", true},
		{"vip", "p_vip", "p_vip", true},
		{"haproxy", "haproxy:2", "haproxy:2", true},
		{"", "secé", "secé", true},
		{"", "", "", false},
		{"vip", "../x", "", false},
		{"../x", "", "", false},
		{"vip", "a\nb", "", false},
	}
	for _, c := range cases {
		got, err := Name(c.agent, c.inst)
		if (err == nil) != c.ok || got != c.want {
			t.Errorf("Name(%q, %q) = %q, %v; want %q, ok=%t", c.agent, c.inst, got, err, c.want, c.ok)
		}
	}
}

// A refusal quotes the id: it never carries the control characters or
// invalid bytes it refused into a reason.
func TestCheckIDReasonIsQuoted(t *testing.T) {
	for _, inst := range []string{"a\nb", "a\x1b[2Jb", "a\xffb", "x:\ny", "../\x00"} {
		err := CheckID(inst)
		if err == nil {
			t.Fatalf("CheckID(%q) accepted", inst)
		}
		if !printableASCII(err.Error()) {
			t.Errorf("CheckID(%q) = %q: not one line of printable ASCII", inst, err)
		}
	}
}

func FuzzCheckID(f *testing.F) {
	for _, s := range []string{"", "vip", "haproxy:1", "secé", "..", ".", "a/b", "/", "a\x00", ".locks",
		"a:1:2", strings.Repeat("a", MaxID), "e\u0301", "\xff", "x.", "a..b"} {
		f.Add(s)
	}
	root := "/run/stackha"
	f.Fuzz(func(t *testing.T, id string) {
		if CheckID(id) != nil || id == "" {
			return
		}
		switch {
		case len(id) > MaxID:
			t.Fatalf("%q accepted: %d bytes", id, len(id))
		case strings.ContainsAny(id, "/\x00"):
			t.Fatalf("%q accepted: holds '/' or NUL", id)
		case id == "." || id == "..":
			t.Fatalf("%q accepted", id)
		case strings.HasPrefix(id, "."):
			t.Fatalf("%q accepted: it could name a file of Root such as %s", id, lockDir)
		case !utf8.ValidString(id):
			t.Fatalf("%q accepted: not UTF-8", id)
		}
		for _, r := range id {
			if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
				t.Fatalf("%q accepted: holds the control character %U", id, r)
			}
		}
		p := filepath.Join(root, id)
		if filepath.Dir(p) != root || filepath.Base(p) != id {
			t.Fatalf("%q accepted: %s is not directly under %s", id, p, root)
		}
		if name, err := Name("agent", id); err != nil || name != id {
			t.Fatalf("Name(agent, %q) = %q, %v", id, name, err)
		}
	})
}

// printableASCII reports one line of printable ASCII: no byte below 0x20
// nor above 0x7e.
func printableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}
