package haproxy

import (
	"fmt"
	"strings"

	"github.com/stackha/stackha/instance"
)

// extra_args is allow-listed. haproxy 2.6 reads an option by its first
// letters only (-stX is -st, -Wsx is -Ws, -Dx is -D, -px is -p taking the
// next word), an option it does not know either takes the next word or ends
// the program, and a word that is not an option is an error; so the only
// safe rule is to accept exact spellings of the options that change nothing
// the agent relies on, each with the value it takes, and refuse the rest.

// extraFlag reports the options extra_args may carry without a value: -V
// (verbose), -q (quiet), and the -d switches that turn a feature off or
// relax a check (those Debian's build has: epoll, poll, splice,
// getaddrinfo, SO_REUSEPORT), -dM[<byte>] (memory poisoning).
func extraFlag(a string) bool {
	switch a {
	case "-V", "-q", "-de", "-dp", "-dS", "-dG", "-dR", "-dV", "-dD", "-dW", "-dr", "-dM":
		return true
	}
	if b, ok := strings.CutPrefix(a, "-dM"); ok && len(b) <= 4 {
		return strings.Trim(b, "0123456789abcdefABCDEFx") == ""
	}
	return false
}

// extraValued reports the options extra_args may carry with a value: -L <local
// peer name>, -n <maxconn>, -N <default per-proxy maxconn>, -m <memory
// limit in MB>.
func extraValued(a string) (numeric, ok bool) {
	switch a {
	case "-L":
		return false, true
	case "-n", "-N", "-m":
		return true, true
	}
	return false, false
}

// checkExtraArgs refuses an argument list that is not made only of the
// allowed options.
func checkExtraArgs(args []string) error {
	for i := 0; i < len(args); i++ {
		a := args[i]
		if extraFlag(a) {
			continue
		}
		numeric, ok := extraValued(a)
		if !ok {
			return fmt.Errorf("%s is not an option extra_args accepts (-V, -q, -L <name>, -n <n>, -N <n>, -m <MB>, -de, -dp, -dS, -dG, -dR, -dV, -dD, -dW, -dr, -dM[<byte>]); the agent sets the others itself", instance.Quote(a))
		}
		if i+1 >= len(args) {
			return fmt.Errorf("%s needs a value", a)
		}
		i++
		v := args[i]
		switch {
		case numeric && (len(v) == 0 || len(v) > 9 || strings.Trim(v, "0123456789") != ""):
			return fmt.Errorf("%s %s: a number is needed", a, instance.Quote(v))
		case !numeric && (v == "" || strings.HasPrefix(v, "-") || strings.IndexFunc(v, isControl) >= 0 || len(v) > 64):
			return fmt.Errorf("%s %s: a name (not starting with '-', at most 64 bytes) is needed", a, instance.Quote(v))
		}
	}
	return nil
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f }
