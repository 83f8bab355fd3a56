package openstack

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stackha/stackha/ocf"
	"github.com/stackha/stackha/test/sysnode"
)

// drainParams turn the drain on for an agent in a node: render's default
// drain_timeout, and short checks (nothing checks the node but the test).
var drainParams = map[string]string{"drain_timeout": "20s", "drain_checks": "1s"}

// heldRequest is a request sent in two halves: its headers and half its
// body first, the rest when the test says.
type heldRequest struct {
	conn net.Conn
	rest []byte
}

// holdRequest opens a connection from the lab's client to hostPort and
// sends the first half of the request req.
func holdRequest(ctx context.Context, l *sysnode.Lab, hostPort string, req []byte) (*heldRequest, error) {
	c, err := l.DialContext(ctx, "tcp", hostPort)
	if err != nil {
		return nil, err
	}
	half := len(req) / 2
	if _, err := c.Write(req[:half]); err != nil {
		c.Close()
		return nil, err
	}
	return &heldRequest{conn: c, rest: req[half:]}, nil
}

// postRequest is a POST of a JSON body; getRequest a GET (held in the
// middle of its headers).
func postRequest(hostPort, path string, body []byte) []byte {
	return append([]byte(fmt.Sprintf("POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\nConnection: close\r\n\r\n",
		path, hostPort, len(body))), body...)
}

func getRequest(hostPort, path string) []byte {
	return []byte(fmt.Sprintf("GET %s HTTP/1.1\r\nHost: %s\r\nAccept: application/json\r\nUser-Agent: stackha-drain-test\r\nConnection: close\r\n\r\n", path, hostPort))
}

// finish sends the rest of the body and reads the answer's status.
func (h *heldRequest) finish() (int, error) {
	defer h.conn.Close()
	h.conn.SetDeadline(time.Now().Add(30 * time.Second))
	if _, err := h.conn.Write(h.rest); err != nil {
		return 0, err
	}
	resp, err := http.ReadResponse(bufio.NewReader(h.conn), nil)
	if err != nil {
		return 0, err
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	return resp.StatusCode, nil
}

// drainedStop stops a service through its agent (with drainParams) while
// a request is held open in it, and checks the drain: once the stop has
// begun the service's /healthcheck answers 503, the held request is then
// completed and answered (want), and the stop said it waited for the
// service to hold no request before it stopped it. The stop's output is
// returned.
func drainedStop(t *testing.T, ctx context.Context, l *sysnode.Lab, a nodeAgent, hostPort string, drained drainSign, req []byte, want ...int) string {
	t.Helper()
	held, err := holdRequest(ctx, l, hostPort, req)
	if err != nil {
		t.Fatal(err)
	}
	type stopped struct {
		code   ocf.Code
		reason string
		out    string
		at     time.Time
	}
	done := make(chan stopped, 1)
	t0 := time.Now()
	go func() {
		c, r, out := a.run(ctx, "stop", time.Minute, 0, 0, drainParams)
		done <- stopped{code: c, reason: r, out: out, at: time.Now()}
	}()
	// haproxy is told once the drain has begun
	var last string
	for seen := false; !seen; {
		select {
		case s := <-done:
			t.Fatalf("the stop ended (exit %d %s) before %s (last: %s)\n%s", s.code, s.reason, drained.what, last, s.out)
		case <-time.After(100 * time.Millisecond):
		}
		seen, last = drained.told(ctx)
		if time.Since(t0) > 30*time.Second {
			t.Fatalf("not %s 30s into the stop: %s", drained.what, last)
		}
	}
	t.Logf("%s %s after the stop began", drained.what, time.Since(t0).Round(time.Millisecond))
	// past drain_checks: the agent now waits for the held request
	time.Sleep(1500 * time.Millisecond)
	select {
	case s := <-done:
		t.Fatalf("the stop ended (exit %d %s) while a request was held open in the service\n%s", s.code, s.reason, s.out)
	default:
	}
	status, err := held.finish()
	answered := time.Now()
	if err != nil || !slices.Contains(want, status) {
		t.Fatalf("the request held through the drain: %d, %v; want %v", status, err, want)
	}
	s := <-done
	if s.code != ocf.Success {
		t.Fatalf("drained stop: exit %d %s\n%s", s.code, s.reason, s.out)
	}
	if !strings.Contains(s.out, "holds no request") || strings.Contains(s.out, "still holds") || strings.Contains(s.out, "WARNING: drain") {
		t.Errorf("the stop did not wait for the held request as it should:\n%s", s.out)
	}
	if s.at.Before(answered) {
		t.Errorf("the stop ended before the held request was answered")
	}
	t.Logf("the request held through the drain answered %d; the stop ended %s after it (%s in all)",
		status, s.at.Sub(answered).Round(time.Millisecond), s.at.Sub(t0).Round(time.Millisecond))
	return s.out
}

// drainSign is how a test sees that haproxy is told to drain a service.
type drainSign struct {
	what string
	told func(ctx context.Context) (bool, string)
}

// healthcheckSays503: the service's healthcheck at path answers 503.
func healthcheckSays503(l *sysnode.Lab, hostPort, path string) drainSign {
	client := l.HTTPClient(2 * time.Second)
	return drainSign{what: path + " answers 503", told: func(context.Context) (bool, string) {
		resp, err := client.Get("http://" + hostPort + path)
		if err != nil {
			return false, err.Error()
		}
		io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
		resp.Body.Close()
		return resp.StatusCode == http.StatusServiceUnavailable, resp.Status
	}}
}

// agentSays is what the drain agent at hostPort answers haproxy's
// agent-check ("" and why when it does not).
func agentSays(ctx context.Context, l *sysnode.Lab, hostPort string) (string, string) {
	c, err := l.DialContext(ctx, "tcp", hostPort)
	if err != nil {
		return "", err.Error()
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(2 * time.Second))
	line, err := bufio.NewReader(io.LimitReader(c, 64)).ReadString('\n')
	if err != nil {
		return "", err.Error()
	}
	return line, ""
}

// agentSaysDrain: the drain agent at hostPort answers "drain".
func agentSaysDrain(l *sysnode.Lab, hostPort string) drainSign {
	return drainSign{what: "the drain agent on " + hostPort + " answers drain", told: func(ctx context.Context) (bool, string) {
		word, why := agentSays(ctx, l, hostPort)
		if word == "" {
			return false, why
		}
		return word == "drain\n", fmt.Sprintf("%q", word)
	}}
}
