package instance

import (
	"strings"
	"testing"
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
	}
	for _, c := range cases {
		if err := CheckID(c.inst); (err == nil) != c.ok {
			t.Errorf("CheckID(%q) = %v, want ok=%t", c.inst, err, c.ok)
		}
	}
}
