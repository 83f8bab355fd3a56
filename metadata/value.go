package metadata

import (
	"errors"
	"fmt"
	"math"
	"slices"
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
// for times). Numbers that do not fit (an integer beyond int64, a time
// beyond time.Duration's 292 years) are an error, never a wrapped value.
// It knows nothing of a parameter's range or options: see Parameter.Parse.
func ParseValue(t Type, raw string) (Value, error) {
	v := Value{Raw: raw}
	s := strings.TrimSpace(raw)
	switch t {
	case String:
		return v, nil
	case Integer:
		n, err := strconv.ParseInt(s, 10, 64)
		if errors.Is(err, strconv.ErrRange) || err == nil && int64(int(n)) != n {
			return v, fmt.Errorf("%q is too large for an integer", raw)
		}
		if err != nil {
			return v, fmt.Errorf("%q is not an integer", raw)
		}
		v.Int = int(n)
	case Boolean:
		// Not trimmed: ocf_is_true " yes" is false, so " yes" is refused
		// rather than read differently from the shell agents.
		b, ok := ParseBool(raw)
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

// Parse parses raw as a value of the parameter: its type (ParseValue), then
// its Range and Options. The error names the range or the options.
func (p Parameter) Parse(raw string) (Value, error) {
	v, err := ParseValue(p.Type, raw)
	if err != nil {
		return v, err
	}
	if r := p.Range; r != nil {
		n := int64(v.Int)
		if p.Type == Time {
			n = int64(v.Dur)
		}
		if n < r.Min || n > r.Max {
			return v, fmt.Errorf("%q is outside the range %s", raw, p.FormatRange())
		}
	}
	if len(p.Options) > 0 && !slices.Contains(p.Options, raw) {
		return v, fmt.Errorf("%q is not one of %s", raw, strings.Join(p.Options, ", "))
	}
	return v, nil
}

// FormatRange writes the parameter's range as an operator reads it:
// "1..65535" for an integer, "1s..1h0m0s" style for a time ("" without one).
func (p Parameter) FormatRange() string {
	r := p.Range
	if r == nil {
		return ""
	}
	if p.Type == Time {
		return formatRangeDuration(time.Duration(r.Min)) + ".." + formatRangeDuration(time.Duration(r.Max))
	}
	return strconv.FormatInt(r.Min, 10) + ".." + strconv.FormatInt(r.Max, 10)
}

func formatRangeDuration(d time.Duration) string {
	if d%time.Millisecond == 0 {
		return FormatDuration(d)
	}
	return d.String()
}

// The words resource-agents' ocf_is_true (ocf-shellfuncs) takes as true,
// exactly and case for case, and their counterparts for false. ocf_is_true
// takes anything else as false; stackha refuses it instead, so a typo in a
// boolean is a configuration error and not a silent "false".
var (
	trueWords  = []string{"yes", "true", "1", "YES", "TRUE", "True", "ja", "on", "ON"}
	falseWords = []string{"no", "false", "0", "NO", "FALSE", "False", "nein", "off", "OFF"}
)

// ParseBool is stackha's one boolean parser: true for exactly what
// ocf_is_true accepts, false for the matching negative words (no, false, 0,
// NO, FALSE, False, nein, off, OFF); ok is false for anything else.
func ParseBool(s string) (value, ok bool) {
	if slices.Contains(trueWords, s) {
		return true, true
	}
	if slices.Contains(falseWords, s) {
		return false, true
	}
	return false, false
}

// The unit suffixes of a Pacemaker time (crm_get_msec), longest first so
// that "ms" is not read as "s" after an "m".
var timeUnits = []struct {
	suf  string
	unit time.Duration
}{
	{"msec", time.Millisecond}, {"usec", time.Microsecond}, {"sec", time.Second}, {"min", time.Minute}, {"hr", time.Hour},
	{"ms", time.Millisecond}, {"us", time.Microsecond}, {"s", time.Second}, {"m", time.Minute}, {"h", time.Hour},
}

// ParseDuration reads a Pacemaker time: a bare number is seconds; a number
// followed by ms, msec, us, usec, s, sec, m, min, h or hr is in that unit;
// Go durations (1m30s) are accepted too. Negative times and times beyond
// time.Duration (about 292 years) are errors.
func ParseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, fmt.Errorf("empty time")
	}
	num, unit := s, time.Second
	for _, u := range timeUnits {
		if n, ok := strings.CutSuffix(s, u.suf); ok {
			num, unit = strings.TrimSpace(n), u.unit
			break
		}
	}
	if n, err := strconv.ParseUint(num, 10, 64); err == nil || errors.Is(err, strconv.ErrRange) {
		if err != nil || n > uint64(math.MaxInt64/unit) {
			return 0, fmt.Errorf("%q is too long a time", s)
		}
		return time.Duration(n) * unit, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("%q is not a time (e.g. 20s, 500ms, 2min)", s)
	}
	return d, nil
}
