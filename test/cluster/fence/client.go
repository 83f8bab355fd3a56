package fence

import (
	"context"
	"fmt"
	"net"
	"strings"
	"time"
)

// Client talks to a Switch. The zero Timeout means 20 s.
type Client struct {
	Socket  string
	Timeout time.Duration
}

// Do sends one request and returns the reply's payload; an ERR reply is a
// *DeviceError.
func (c Client) Do(ctx context.Context, req Request) (string, error) {
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = 20 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(ctx, "unix", c.Socket)
	if err != nil {
		return "", fmt.Errorf("connecting to the fence device: %w", err)
	}
	defer conn.Close()
	deadline, _ := ctx.Deadline()
	conn.SetDeadline(deadline)
	// The context may end before the deadline (cancelled): unblock then.
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	if _, err := conn.Write([]byte(req.String() + "\n")); err != nil {
		return "", fmt.Errorf("fence device, %s: %w", req.Verb, err)
	}
	line, err := readLine(conn, MaxReply)
	if err != nil {
		return "", fmt.Errorf("fence device, %s: %w", req.Verb, err)
	}
	return ParseReply(line)
}

// Off powers node off.
func (c Client) Off(ctx context.Context, node string) error {
	_, err := c.Do(ctx, Request{Verb: VerbOff, Node: node})
	return err
}

// On powers node on.
func (c Client) On(ctx context.Context, node string) error {
	_, err := c.Do(ctx, Request{Verb: VerbOn, Node: node})
	return err
}

// IsOn asks for node's power state.
func (c Client) IsOn(ctx context.Context, node string) (bool, error) {
	p, err := c.Do(ctx, Request{Verb: VerbStatus, Node: node})
	if err != nil {
		return false, err
	}
	switch p {
	case "on":
		return true, nil
	case "off":
		return false, nil
	}
	return false, fmt.Errorf("fence device: unexpected status %q", clip(p))
}

// List returns the nodes the device powers.
func (c Client) List(ctx context.Context) ([]string, error) {
	p, err := c.Do(ctx, Request{Verb: VerbList})
	if err != nil {
		return nil, err
	}
	names := strings.Fields(p)
	for _, n := range names {
		if !ValidNode(n) {
			return nil, fmt.Errorf("fence device: invalid node name %q in list", clip(n))
		}
	}
	return names, nil
}

// Ping checks that the device answers.
func (c Client) Ping(ctx context.Context) error {
	_, err := c.Do(ctx, Request{Verb: VerbPing})
	return err
}
