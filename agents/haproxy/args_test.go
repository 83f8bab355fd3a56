package haproxy

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stackha/stackha/ocf"
	"github.com/stackha/stackha/ocf/ocftest"
)

// haproxyOptions is a model, for the tests, of how haproxy 2.6 reads its
// command line (src/haproxy.c, init()): it returns the option each word is
// taken as ("-st", "-f", ... ; "value" for a word an option consumed;
// "usage" when haproxy would stop). Options are told apart by their first
// letters only; -sf/-st take the following words that do not start with
// '-'; an unknown option, and -C -n -m -N -L -f -p, take the next word.
func haproxyOptions(args []string) []string {
	var out []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if !strings.HasPrefix(a, "-") {
			return append(out, "usage")
		}
		f := a[1:]
		at := func(k int) byte {
			if k < len(f) {
				return f[k]
			}
			return 0
		}
		switch {
		case at(0) == 'v':
			return append(out, "-v")
		case at(0) == 'd' && strings.ContainsRune("epSGRVDWMr", rune(at(1))) && at(1) != 0:
			out = append(out, "-d"+string(at(1)))
		case at(0) == 'd' && at(1) == 'b':
			out = append(out, "-db")
		case at(0) == 'd': // -d, and -dk/-dv, not compiled in Debian's build
			out = append(out, "-d")
		case at(0) == 'V', at(0) == 'q':
			out = append(out, "-"+string(at(0)))
		case at(0) == 'c' && at(1) == 'c':
			out = append(out, "-cc")
			i++
		case at(0) == 'c':
			out = append(out, "-c")
		case at(0) == 'D':
			out = append(out, "-D")
		case at(0) == 'W' && at(1) == 's':
			out = append(out, "-Ws")
		case at(0) == 'W':
			out = append(out, "-W")
		case at(0) == 'x', at(0) == 'S':
			if i+1 >= len(args) {
				return append(out, "usage")
			}
			out = append(out, "-"+string(at(0)), "value")
			i++
		case at(0) == 's' && (at(1) == 'f' || at(1) == 't'):
			out = append(out, "-s"+string(at(1)))
			for i+1 < len(args) && !strings.HasPrefix(args[i+1], "-") {
				out = append(out, "value")
				i++
			}
		case at(0) == '-' && at(1) == 0:
			return append(out, "--")
		default:
			if i+1 >= len(args) {
				return append(out, "usage")
			}
			switch at(0) {
			case 'C', 'n', 'm', 'N', 'L', 'f', 'p':
				out = append(out, "-"+string(at(0)), "value")
			default:
				return append(out, "usage")
			}
			i++
		}
	}
	return out
}

// safeOptions are the options extra_args may lead haproxy to.
var safeOptions = map[string]bool{"-V": true, "-q": true, "-L": true, "-n": true, "-N": true, "-m": true, "value": true,
	"-de": true, "-dp": true, "-dS": true, "-dG": true, "-dR": true, "-dV": true, "-dD": true, "-dW": true, "-dr": true, "-dM": true}

func TestCheckExtraArgs(t *testing.T) {
	for _, tc := range []struct {
		args string
		ok   bool
	}{
		{"", true},
		{"-L node1", true},
		{"-L node1 -V -q -dr -dM -dM0x50 -N 100 -n 2000 -m 512 -de -dR", true},
		// haproxy reads these by their first letters: each is a refused option.
		{"-stX 1", false}, {"-st 1", false}, {"-sfX 1", false}, {"-Wsx", false}, {"-Dx", false}, {"-px /etc/passwd", false},
		{"-S /tmp/x", false}, {"-x /tmp/x", false}, {"-C /", false}, {"-f /etc/passwd", false}, {"-c", false},
		{"-cc 1", false}, {"-d", false}, {"-db", false}, {"-dbX", false}, {"-dk", false}, {"-v", false}, {"--", false},
		{"-Lnode1 -sf", false}, {"-L", false}, {"-L -st", false}, {"-N -st", false}, {"-N 1x", false},
		{"node1", false}, {"-V node1", false}, {"-deX", false}, {"-dM/etc", false},
	} {
		err := checkExtraArgs(splitLine(tc.args))
		if (err == nil) != tc.ok {
			t.Errorf("extra_args=%q: %v, want ok=%v", tc.args, err, tc.ok)
		}
		if err == nil {
			for _, o := range haproxyOptions(splitLine(tc.args)) {
				if !safeOptions[o] {
					t.Errorf("extra_args=%q accepted, but haproxy reads %s in it", tc.args, o)
				}
			}
		}
	}
}

// FuzzExtraArgs: no argument list checkExtraArgs accepts leads haproxy,
// read by its own rules, to an option the agent owns or to stop.
func FuzzExtraArgs(f *testing.F) {
	for _, s := range []string{"-L node1", "-stX 1", "-sf 1 2", "-Wsx", "-Dx", "-px /x", "-dM0x41 -V", "-N 5 -L -st", "-- -f x", "'-s''t' 1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		args := splitLine(line)
		if checkExtraArgs(args) != nil {
			return
		}
		// The agent's own command line ends with "-f <file>": the extra
		// arguments start on a fresh word.
		for _, o := range haproxyOptions(args) {
			if !safeOptions[o] {
				t.Fatalf("extra_args %q accepted, but haproxy reads %s in it", args, o)
			}
		}
	})
}

// Parameters that are wrong everywhere: exit 6 with a reason, whatever the
// action (validate-all at level 0 checks only them), before anything runs.
func TestParameterErrors(t *testing.T) {
	a, ok := ocf.Lookup("haproxy")
	if !ok {
		t.Fatal("haproxy is not registered")
	}
	for _, tc := range []struct{ key, value, reason string }{
		// Whether the runtime (too long a time) or the agent (out of range)
		// says it first.
		{"stop_timeout", "9223372036854775807", "out of range|too long"},
		{"stop_timeout", "18446744073710", "out of range|too long"},
		{"stop_timeout", "2h", "out of range|between|outside the range"},
		{"stop_timeout", "99999999999999999999min", "not a time|too long"},
		{"pidfile", "/../../etc/passwd", "clean path"},
		{"pidfile", "/run/x/../../etc/passwd", "clean path"},
		{"master_socket", "/run//x.sock", "clean path"},
		{"stats_socket", "relative.sock", "clean path"},
		{"extra_args", "-stX 1", "not an option extra_args accepts"},
		{"node_attribute", "1listening", "starting with a letter"},
		{"node_attribute", "haproxy listening", "only letters"},
		{"node_attribute", "a\";rm", "only letters"},
		{"node_attribute", strings.Repeat("a", 65), "longer than 64"},
	} {
		var errb bytes.Buffer
		env := ocftest.Env{"OCF_RESOURCE_INSTANCE": "shh-params", "OCF_RESKEY_" + tc.key: tc.value, "HA_LOGFACILITY": "none", "OCF_CHECK_LEVEL": "0"}
		code := ocf.Run(a, "haproxy", []string{"validate-all"}, env, ocf.Streams{Stdout: &bytes.Buffer{}, Stderr: &errb})
		said := false
		for _, r := range strings.Split(tc.reason, "|") {
			said = said || strings.Contains(errb.String(), r)
		}
		if code != ocf.ErrConfigured || !said || !strings.Contains(errb.String(), "ocf-exit-reason:") {
			t.Errorf("%s=%q: exit %d, want 6 with %q:\n%s", tc.key, tc.value, code, tc.reason, errb.String())
		}
	}
}

// FuzzStopTimeout: whatever stop_timeout says, a value the runtime
// accepts (the agent uses the runtime's parse) lies in the declared range
// (no wrap into it).
func FuzzStopTimeout(f *testing.F) {
	for _, s := range []string{"30s", "9223372036854775807", "18446744073710", "1h", "61min", "500ms", "3600", "9223372036854775807ns", "2562047h", "1000h"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		p, err := ocftest.Params(&Meta, map[string]string{"stop_timeout": raw})
		if err != nil {
			return
		}
		if v := p.Duration("stop_timeout"); v < 0 || v > time.Hour {
			t.Fatalf("stop_timeout=%q accepted as %v, outside 0..1h", raw, v)
		}
	})
}

func TestAllowedUIDs(t *testing.T) {
	for _, tc := range []struct {
		user string
		want []uint32
		ok   bool
	}{
		{"", []uint32{0}, true},
		{"nobody", []uint32{0, 65534}, true},
		{"65534", []uint32{0, 65534}, true},
		{"0", []uint32{0}, true},
		{"root", []uint32{0}, true},
		{"no-such-user-shh", nil, false},
	} {
		got, err := allowedUIDs(&Config{User: tc.user})
		if (err == nil) != tc.ok || fmt.Sprint(got) != fmt.Sprint(tc.want) {
			t.Errorf("user %q: %v %v, want %v", tc.user, got, err, tc.want)
		}
	}
}
