package fence

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// Exit codes, as fence-agents use them.
const (
	ExitOK     = 0
	ExitFail   = 1
	ExitStatus = 2 // status: the node is off
)

const (
	defaultTimeout = 20
	maxTimeout     = 600
	maxStdin       = 64 << 10
	maxLines       = 256
)

// Options are the agent's parsed options.
type Options struct {
	Action   string
	Plug     string
	Socket   string
	Timeout  time.Duration
	Verbose  bool
	Warnings []string // ignored unknown options
}

var actions = map[string]bool{
	"off": true, "on": true, "reboot": true, "status": true, "monitor": true, "list": true,
	"list-status": true, "metadata": true, "validate-all": true,
}

// ParseStdin reads fence-agents stdin options: key=value lines, # comments
// and blank lines skipped, values optionally in double quotes. At most
// 64 KiB and 256 lines.
func ParseStdin(r io.Reader) (Options, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxStdin+1))
	if err != nil {
		return Options{}, fmt.Errorf("reading options: %w", err)
	}
	if len(data) > maxStdin {
		return Options{}, fmt.Errorf("options longer than %d bytes", maxStdin)
	}
	lines := strings.Split(string(data), "\n")
	if len(lines) > maxLines {
		return Options{}, fmt.Errorf("more than %d option lines", maxLines)
	}
	o := Options{}
	kv := map[string]string{}
	for _, line := range lines {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, _ := strings.Cut(line, "=")
		if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
			v = v[1 : len(v)-1]
		}
		kv[strings.ReplaceAll(k, "-", "_")] = v
	}
	return o.set(kv)
}

// ParseArgs reads command-line options: -o/--action, -n/--plug (--port),
// -s/--socket, --power-timeout, --nodename, -v/--verbose; "--opt=value"
// or "--opt value".
func ParseArgs(args []string) (Options, error) {
	names := map[string]string{
		"-o": "action", "--action": "action", "-n": "plug", "--plug": "plug", "--port": "port",
		"-s": "socket", "--socket": "socket", "--power-timeout": "power_timeout", "--nodename": "nodename",
	}
	kv := map[string]string{}
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "-v" || a == "--verbose" {
			kv["verbose"] = "1"
			continue
		}
		name, val, hasVal := strings.Cut(a, "=")
		key, ok := names[name]
		if !ok {
			return Options{}, fmt.Errorf("unknown option %q", clip(a))
		}
		if !hasVal {
			if i+1 >= len(args) {
				return Options{}, fmt.Errorf("option %s needs a value", name)
			}
			i++
			val = args[i]
		}
		kv[key] = val
	}
	return Options{}.set(kv)
}

func (o Options) set(kv map[string]string) (Options, error) {
	o.Action, o.Socket, o.Timeout = "reboot", DefaultSocket, defaultTimeout*time.Second
	for k, v := range kv {
		switch k {
		case "action", "option": // "option" is fence-agents' old name
			o.Action = v
		case "plug", "port":
			o.Plug = v
		case "nodename", "debug", "debug_file":
			// the node running the agent: not needed to power another one
		case "socket":
			o.Socket = v
		case "power_timeout":
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > maxTimeout {
				return Options{}, fmt.Errorf("power_timeout %q: want whole seconds from 1 to %d", clip(v), maxTimeout)
			}
			o.Timeout = time.Duration(n) * time.Second
		case "verbose":
			o.Verbose = v == "1" || v == "yes" || v == "on" || v == "true"
		default:
			o.Warnings = append(o.Warnings, fmt.Sprintf("Parse error: Ignoring unknown option '%s'", clip(k)))
		}
	}
	if !actions[o.Action] {
		return Options{}, fmt.Errorf("unknown action %q", clip(o.Action))
	}
	if o.Plug != "" && !ValidNode(o.Plug) {
		return Options{}, fmt.Errorf("invalid plug %q", clip(o.Plug))
	}
	switch o.Action {
	case "off", "on", "reboot", "status":
		if o.Plug == "" {
			return Options{}, fmt.Errorf("action %s needs plug (or port)", o.Action)
		}
	}
	if o.Socket == "" || !strings.HasPrefix(o.Socket, "/") || len(o.Socket) > 107 {
		return Options{}, fmt.Errorf("socket %q: want an absolute path of at most 107 bytes", clip(o.Socket))
	}
	return o, nil
}

// Main is fence_shc: options from args (when given) or from stdin, the
// action done through the switch, fence-agents' messages and exit codes.
func Main(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	var o Options
	var err error
	if len(args) > 0 {
		o, err = ParseArgs(args)
	} else {
		o, err = ParseStdin(stdin)
	}
	if err != nil {
		fmt.Fprintf(stderr, "Failed: %v\n", err)
		return ExitFail
	}
	for _, w := range o.Warnings {
		fmt.Fprintln(stderr, w)
	}
	code, err := Run(ctx, o, stdout)
	switch {
	case err != nil && code != ExitOK:
		fmt.Fprintf(stderr, "Failed: %v\n", err)
	case err != nil:
		fmt.Fprintf(stderr, "Warning: %v\n", err)
	}
	return code
}

// Run does one parsed action and returns the exit code.
func Run(ctx context.Context, o Options, stdout io.Writer) (int, error) {
	c := Client{Socket: o.Socket, Timeout: o.Timeout}
	switch o.Action {
	case "metadata":
		stdout.Write(Metadata())
		return ExitOK, nil
	case "validate-all":
		return ExitOK, nil
	case "monitor":
		if err := c.Ping(ctx); err != nil {
			return ExitFail, err
		}
		return ExitOK, nil
	case "list", "list-status":
		return list(ctx, c, o.Action == "list-status", stdout)
	}
	on, err := c.IsOn(ctx, o.Plug)
	if err != nil {
		return ExitFail, err
	}
	switch o.Action {
	case "status":
		if on {
			fmt.Fprintln(stdout, "Status: ON")
			return ExitOK, nil
		}
		fmt.Fprintln(stdout, "Status: OFF")
		return ExitStatus, nil
	case "on", "off":
		want := o.Action == "on"
		if on == want {
			fmt.Fprintf(stdout, "Success: Already %s\n", strings.ToUpper(o.Action))
			return ExitOK, nil
		}
		if want {
			err = c.On(ctx, o.Plug)
		} else {
			err = c.Off(ctx, o.Plug)
		}
		if err != nil {
			return ExitFail, err
		}
		fmt.Fprintf(stdout, "Success: Powered %s\n", strings.ToUpper(o.Action))
		return ExitOK, nil
	}
	// reboot: off (unless already off), then on. The node is fenced once
	// it is off: a failed power-on is reported, not a failure.
	if on {
		if err := c.Off(ctx, o.Plug); err != nil {
			return ExitFail, err
		}
	}
	if err := c.On(ctx, o.Plug); err != nil {
		fmt.Fprintln(stdout, "Success: Rebooted")
		return ExitOK, fmt.Errorf("powering %s back on (the node is fenced): %w", o.Plug, err)
	}
	fmt.Fprintln(stdout, "Success: Rebooted")
	return ExitOK, nil
}

func list(ctx context.Context, c Client, status bool, stdout io.Writer) (int, error) {
	nodes, err := c.List(ctx)
	if err != nil {
		return ExitFail, err
	}
	var b strings.Builder
	for _, n := range nodes {
		if !status {
			fmt.Fprintf(&b, "%s,\n", n) // fence-agents' "plug,alias", no alias
			continue
		}
		on, err := c.IsOn(ctx, n)
		st := "UNKNOWN"
		switch {
		case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
			return ExitFail, err
		case err == nil && on:
			st = "ON"
		case err == nil:
			st = "OFF"
		}
		fmt.Fprintf(&b, "%s,,%s\n", n, st)
	}
	io.WriteString(stdout, b.String())
	return ExitOK, nil
}
