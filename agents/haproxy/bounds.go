package haproxy

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/stackha/stackha/metadata"
)

// timeUnits are the suffixes an OCF time takes, with their size.
func timeUnit(suffix string) (float64, bool) {
	switch suffix {
	case "", "s", "sec":
		return float64(time.Second), true
	case "ms", "msec":
		return float64(time.Millisecond), true
	case "us":
		return float64(time.Microsecond), true
	case "ns":
		return 1, true
	case "m", "min":
		return float64(time.Minute), true
	case "h", "hr":
		return float64(time.Hour), true
	}
	return 0, false
}

// boundedDuration parses a Time parameter and checks it against its
// declared range, without letting a huge number wrap into the range.
func boundedDuration(d metadata.Parameter, raw string) (time.Duration, error) {
	s := strings.TrimSpace(raw)
	digits := len(s) - len(strings.TrimLeft(s, "0123456789"))
	if digits > 0 {
		if unit, ok := timeUnit(strings.TrimSpace(s[digits:])); ok {
			n, _ := strconv.ParseFloat(s[:digits], 64)
			if d.Range != nil && n*unit > float64(d.Range.Max) || n*unit > math.MaxInt64 {
				return 0, outOfRange(d, raw)
			}
		}
	}
	v, err := metadata.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("%s=%q: %w", d.Name, clip(raw), err)
	}
	if d.Range != nil && (int64(v) < d.Range.Min || int64(v) > d.Range.Max) {
		return 0, outOfRange(d, raw)
	}
	return v, nil
}

func outOfRange(d metadata.Parameter, raw string) error {
	return fmt.Errorf("%s=%q is out of range: between %v and %v", d.Name, clip(raw), time.Duration(d.Range.Min), time.Duration(d.Range.Max))
}

// param is the declaration of one of the agent's parameters.
func param(name string) metadata.Parameter {
	for _, p := range Meta.Parameters {
		if p.Name == name {
			return p
		}
	}
	panic("haproxy: undeclared parameter " + name)
}
