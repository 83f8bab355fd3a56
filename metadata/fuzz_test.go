package metadata

import (
	"math/big"
	"strconv"
	"strings"
	"testing"
	"time"
)

func FuzzParseDuration(f *testing.F) {
	for _, s := range []string{"20", "5s", "500ms", "2min", "1h", "", "-3", "9999999999999999999", "18446744073710", "9223372036854775807", "1m30s", "2562047h"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseDuration(s)
		if err == nil && d < 0 {
			t.Fatalf("negative duration %v from %q", d, s)
		}
		// A bare number of seconds that parses is exactly that many seconds:
		// a result that wrapped around would differ.
		if n, perr := strconv.ParseUint(strings.TrimSpace(s), 10, 64); perr == nil && err == nil && uint64(d/time.Second) != n {
			t.Fatalf("%q read as %v", s, d)
		}
	})
}

func FuzzParseValue(f *testing.F) {
	for _, s := range []string{"42", " -7 ", "9223372036854775807", "9223372036854775808", "yes", "OFF", "20", "500ms", "18446744073710", "1m30s", ""} {
		for _, typ := range []string{"string", "integer", "boolean", "time"} {
			f.Add(typ, s)
		}
	}
	f.Fuzz(func(t *testing.T, typ, raw string) {
		v, err := ParseValue(Type(typ), raw)
		if err != nil {
			return
		}
		if v.Raw != raw {
			t.Fatalf("Raw %q from %q", v.Raw, raw)
		}
		switch Type(typ) {
		case Integer:
			// The value is the number written, not a wrapped one.
			want, ok := new(big.Int).SetString(strings.TrimSpace(raw), 10)
			if !ok || !want.IsInt64() || want.Int64() != int64(v.Int) {
				t.Fatalf("integer %d from %q", v.Int, raw)
			}
		case Time:
			if v.Dur < 0 {
				t.Fatalf("negative time %v from %q", v.Dur, raw)
			}
		case Boolean:
			b, ok := ParseBool(raw)
			if !ok || b != v.Bool {
				t.Fatalf("boolean %v from %q, ParseBool says %v, %v", v.Bool, raw, b, ok)
			}
		case String:
		default:
			t.Fatalf("type %q accepted", typ)
		}
	})
}

func FuzzParseBool(f *testing.F) {
	for _, s := range append(append([]string{"", "Yes", "y", " on"}, trueWords...), falseWords...) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, ok := ParseBool(s)
		if !ok {
			if v {
				t.Fatalf("ParseBool(%q) = true without ok", s)
			}
			return
		}
		// What is accepted is one of the words of ocf_is_true or its
		// negatives: at most five characters, no space or control byte.
		if len(s) == 0 || len(s) > 5 || strings.IndexFunc(s, func(r rune) bool { return r <= ' ' || r > '~' }) >= 0 {
			t.Fatalf("ParseBool accepted %q", s)
		}
		if w, _ := ParseBool(strings.ToLower(s)); w != v {
			t.Fatalf("ParseBool(%q) = %v but its lower case reads %v", s, v, w)
		}
	})
}
