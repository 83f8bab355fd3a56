package yamlstr

import (
	"testing"

	"github.com/goccy/go-yaml"
)

func TestStringsAsWritten(t *testing.T) {
	tests := []struct{ doc, want string }{
		{"v: 010", "010"}, {"v: 0x1F", "0x1F"}, {"v: 1.0", "1.0"}, {"v: 1e3", "1e3"}, {"v: 0o17", "0o17"},
		{"v: -0", "-0"}, {"v: .inf", ".inf"}, {"v: .nan", ".nan"}, {"v: true", "true"}, {"v: yes", "yes"},
		{`v: "007"`, "007"}, {"v: '010'", "010"}, {`v: "a\tb"`, "a\tb"}, {"v: plain text", "plain text"},
		{"v: 010 # outlet", "010"}, {"v: |\n  two\n  lines\n", "two\nlines\n"}, {"v: null", ""}, {"v: ~", ""},
		{"v:", ""}, {"v: 2001-12-14", "2001-12-14"}, {"v: 12:30", "12:30"},
	}
	for _, tc := range tests {
		var got struct {
			V string `yaml:"v"`
		}
		if err := yaml.UnmarshalWithOptions([]byte(tc.doc), &got, Option()); err != nil || got.V != tc.want {
			t.Errorf("%q: %q, %v; want %q", tc.doc, got.V, err, tc.want)
		}
		var m map[string]string
		if err := yaml.UnmarshalWithOptions([]byte(tc.doc), &m, Option()); err != nil || m["v"] != tc.want {
			t.Errorf("%q into a map: %q, %v; want %q", tc.doc, m["v"], err, tc.want)
		}
	}
	var bad struct {
		V string `yaml:"v"`
	}
	if err := yaml.UnmarshalWithOptions([]byte("v: {a: 1}"), &bad, Option()); err == nil {
		t.Errorf("a mapping into a string: no error (%q)", bad.V)
	}
	var n struct {
		N int `yaml:"n"`
	}
	if err := yaml.UnmarshalWithOptions([]byte("n: 42"), &n, Option()); err != nil || n.N != 42 {
		t.Errorf("an int field: %d, %v", n.N, err)
	}
}
