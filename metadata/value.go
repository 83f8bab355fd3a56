package metadata

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Value is a parsed parameter value.
type Value struct {
	Raw  string
	Int  int
	Bool bool
	Dur  time.Duration
}

// ParseValue parses raw as a value of type t, the way the shell agents'
// helpers read them (ocf_is_true for booleans; Pacemaker's interval syntax
// for times).
func ParseValue(t Type, raw string) (Value, error) {
	v := Value{Raw: raw}
	s := strings.TrimSpace(raw)
	switch t {
	case String:
		return v, nil
	case Integer:
		n, err := strconv.Atoi(s)
		if err != nil {
			return v, fmt.Errorf("%q is not an integer", raw)
		}
		v.Int = n
	case Boolean:
		b, ok := ParseBool(s)
		if !ok {
			return v, fmt.Errorf("%q is not a boolean (use true or false)", raw)
		}
		v.Bool = b
	case Time:
		d, err := ParseDuration(s)
		if err != nil {
			return v, err
		}
		v.Dur = d
	default:
		return v, fmt.Errorf("unknown type %q", t)
	}
	return v, nil
}

// ParseBool accepts what ocf_is_true accepts as true, and the usual words
// for false. Anything else is not a boolean.
func ParseBool(s string) (value, ok bool) {
	switch strings.ToLower(s) {
	case "yes", "true", "1", "on", "ja", "y":
		return true, true
	case "no", "false", "0", "off", "nein", "n":
		return false, true
	}
	return false, false
}

// ParseDuration reads a Pacemaker time: a bare number is seconds; the
// suffixes ms, s, m (or min), h are accepted, as are Go durations.
func ParseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, fmt.Errorf("empty time")
	}
	if n, err := strconv.Atoi(s); err == nil {
		if n < 0 {
			return 0, fmt.Errorf("%q: a time cannot be negative", s)
		}
		return time.Duration(n) * time.Second, nil
	}
	for _, u := range []struct {
		suf  string
		unit time.Duration
	}{{"msec", time.Millisecond}, {"ms", time.Millisecond}, {"min", time.Minute}, {"sec", time.Second}, {"hr", time.Hour}} {
		if num, ok := strings.CutSuffix(s, u.suf); ok {
			n, err := strconv.Atoi(strings.TrimSpace(num))
			if err != nil || n < 0 {
				return 0, fmt.Errorf("%q is not a time", s)
			}
			return time.Duration(n) * u.unit, nil
		}
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("%q is not a time (e.g. 20s, 500ms, 2min)", s)
	}
	return d, nil
}
