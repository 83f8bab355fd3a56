package fence

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
)

const (
	// DefaultSocket is where the agent finds the switch inside a node.
	DefaultSocket = "/var/lib/shc/power.sock"
	// MaxRequest caps a request line, newline included.
	MaxRequest = 128
	// MaxReply caps a reply line, newline included.
	MaxReply = 4096
	// IOTimeout limits how long the switch waits for a request line and for
	// its reply to be taken.
	IOTimeout = 5 * time.Second
	maxNode   = 64
)

// Request verbs.
const (
	VerbOff    = "OFF"
	VerbOn     = "ON"
	VerbStatus = "STATUS"
	VerbList   = "LIST"
	VerbPing   = "PING"
)

// Request is one parsed request line.
type Request struct {
	Verb string
	Node string // empty for LIST and PING
}

func (r Request) String() string {
	if r.Node == "" {
		return r.Verb
	}
	return r.Verb + " " + r.Node
}

// ValidNode reports whether s is an acceptable node name.
func ValidNode(s string) bool {
	if len(s) == 0 || len(s) > maxNode {
		return false
	}
	for _, c := range []byte(s) {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '.', c == '_', c == '-':
		default:
			return false
		}
	}
	return true
}

// ParseRequest parses one request line (without its newline).
func ParseRequest(line string) (Request, error) {
	f := strings.Split(line, " ")
	r := Request{Verb: f[0]}
	switch r.Verb {
	case VerbOff, VerbOn, VerbStatus:
		if len(f) != 2 {
			return Request{}, fmt.Errorf("%s needs exactly one node name", r.Verb)
		}
		if !ValidNode(f[1]) {
			return Request{}, fmt.Errorf("invalid node name %q", clip(f[1]))
		}
		r.Node = f[1]
	case VerbList, VerbPing:
		if len(f) != 1 {
			return Request{}, fmt.Errorf("%s takes no argument", r.Verb)
		}
	default:
		return Request{}, fmt.Errorf("unknown request %q", clip(r.Verb))
	}
	return r, nil
}

// readLine reads one newline-terminated line of at most max bytes
// (newline included) and returns it without the newline. A longer line, a
// missing newline or a control byte is an error.
func readLine(r io.Reader, max int) (string, error) {
	br := bufio.NewReaderSize(io.LimitReader(r, int64(max)), 64)
	line, err := br.ReadString('\n')
	if err != nil {
		if errors.Is(err, io.EOF) {
			if len(line) >= max {
				return "", fmt.Errorf("line longer than %d bytes", max-1)
			}
			return "", fmt.Errorf("line not terminated: %w", io.ErrUnexpectedEOF)
		}
		return "", err
	}
	line = strings.TrimSuffix(line, "\n")
	for _, c := range []byte(line) {
		if c < 0x20 || c == 0x7f {
			return "", errors.New("control byte in line")
		}
	}
	return line, nil
}

// ParseReply splits a reply line into its payload or the device's error.
func ParseReply(line string) (string, error) {
	switch {
	case line == "OK":
		return "", nil
	case strings.HasPrefix(line, "OK "):
		return line[3:], nil
	case strings.HasPrefix(line, "ERR "):
		return "", &DeviceError{Msg: line[4:]}
	}
	return "", fmt.Errorf("malformed reply %q", clip(line))
}

// DeviceError is an error the switch answered (ERR ...): it was reached,
// and refused or failed the action.
type DeviceError struct{ Msg string }

func (e *DeviceError) Error() string { return "fence device: " + e.Msg }

// clip makes a string from outside fit for a message: printable, at most
// 64 bytes.
func clip(s string) string { return clipN(s, 64) }

func clipN(s string, n int) string {
	if len(s) > n {
		s = s[:n] + "..."
	}
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return '?'
		}
		return r
	}, s)
}

// oneLine makes an error message fit on one reply line.
func oneLine(s string) string {
	s = clipN(strings.ReplaceAll(s, "\n", " "), 512)
	if s == "" {
		s = "error"
	}
	return s
}
