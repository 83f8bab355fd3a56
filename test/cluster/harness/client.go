package harness

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/vishvananda/netns"
)

// The main goroutine keeps the main thread for itself: a goroutine that
// entered the client's namespace ends with its thread, except on the main
// thread, which Go never ends and which would stay in the namespace (and
// keep it alive) for the rest of the process.
func init() { runtime.LockOSThread() }

// Client makes HTTP requests from inside the client's network namespace:
// each request runs on an OS thread that entered the namespace (the socket
// is created there) and that is never handed back to the Go scheduler.
type Client struct {
	jobs chan func()
	wg   sync.WaitGroup
	once sync.Once
}

// NewClient starts workers threads inside the network namespace at nsPath.
func NewClient(nsPath string, workers int) (*Client, error) {
	c := &Client{jobs: make(chan func())}
	errs := make(chan error, workers)
	for i := 0; i < workers; i++ {
		c.wg.Add(1)
		go func() {
			defer c.wg.Done()
			// No UnlockOSThread: the thread ends with this goroutine, so
			// no other goroutine ever runs in the client's namespace.
			runtime.LockOSThread()
			h, err := netns.GetFromPath(nsPath)
			if err != nil {
				errs <- fmt.Errorf("opening %s: %w", nsPath, err)
				return
			}
			err = netns.Set(h)
			h.Close()
			if err != nil {
				errs <- fmt.Errorf("entering %s: %w", nsPath, err)
				return
			}
			errs <- nil
			for f := range c.jobs {
				f()
			}
		}()
	}
	for i := 0; i < workers; i++ {
		if err := <-errs; err != nil {
			c.Close()
			return nil, err
		}
	}
	return c, nil
}

// Close stops the workers.
func (c *Client) Close() {
	c.once.Do(func() { close(c.jobs) })
	c.wg.Wait()
}

// Response is an HTTP answer read whole.
type Response struct {
	Status   int
	Header   http.Header
	Body     string
	ServedBy string // the node haproxy answered from (X-Served-By)
}

// Do sends req on a new connection from the client namespace and reads the
// whole answer, within timeout.
func (c *Client) Do(ctx context.Context, req *http.Request, timeout time.Duration) (*Response, error) {
	return c.DoLimit(ctx, req, timeout, maxBody)
}

// maxBody is what an answer's body is read up to (the rest is dropped).
const maxBody = 1 << 20

// DoLimit is Do with the answer's body read up to limit bytes (a whole
// listing of what a fault's writers created).
func (c *Client) DoLimit(ctx context.Context, req *http.Request, timeout time.Duration, limit int64) (*Response, error) {
	type result struct {
		r   *Response
		err error
	}
	ch := make(chan result, 1)
	job := func() { r, err := roundTripLimit(ctx, req, timeout, limit); ch <- result{r, err} }
	select {
	case c.jobs <- job:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	res := <-ch
	return res.r, res.err
}

// TryDo is Do when a worker is free, and false at once when none is.
func (c *Client) tryGo(job func()) bool {
	select {
	case c.jobs <- job:
		return true
	default:
		return false
	}
}

func roundTrip(ctx context.Context, req *http.Request, timeout time.Duration) (*Response, error) {
	return roundTripLimit(ctx, req, timeout, maxBody)
}

func roundTripLimit(ctx context.Context, req *http.Request, timeout time.Duration, limit int64) (*Response, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	host, secure := req.URL.Host, req.URL.Scheme == "https"
	if !strings.Contains(host, ":") {
		host += map[bool]string{false: ":80", true: ":443"}[secure]
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", host)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl)
	}
	if secure {
		// The cluster's CA only (tls.go): a handshake is part of the
		// request, its failure a failed request.
		tc := tls.Client(conn, clientTLS(req.URL.Hostname()))
		if err := tc.HandshakeContext(ctx); err != nil {
			return nil, fmt.Errorf("TLS handshake: %w", err)
		}
		conn = tc
	}
	req.Close = true
	if err := req.Write(conn); err != nil {
		return nil, fmt.Errorf("sending: %w", err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), req)
	if err != nil {
		return nil, fmt.Errorf("reading the answer: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, limit))
	if err != nil {
		return nil, fmt.Errorf("reading the body: %w", err)
	}
	return &Response{Status: resp.StatusCode, Header: resp.Header, Body: string(body),
		ServedBy: resp.Header.Get("X-Served-By")}, nil
}

// Get is a GET of url from the client namespace.
func (c *Client) Get(ctx context.Context, url string, timeout time.Duration) (*Response, error) {
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	return c.Do(ctx, req, timeout)
}

// tokenRequest is the body of a request for a project-scoped admin token.
func tokenRequest() string {
	return fmt.Sprintf(`{"auth":{"identity":{"methods":["password"],"password":{"user":{"name":"admin",`+
		`"domain":{"id":"default"},"password":%q}}},"scope":{"project":{"name":"admin","domain":{"id":"default"}}}}}`, KeystonePassword)
}

// Token asks keystone (through url, the VIP) for a project-scoped admin
// token; it returns the token and the node that answered.
func (c *Client) Token(ctx context.Context, url string) (token, servedBy string, err error) {
	req, err := http.NewRequest(http.MethodPost, url+"/v3/auth/tokens", strings.NewReader(tokenRequest()))
	if err != nil {
		return "", "", err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.Do(ctx, req, 20*time.Second)
	if err != nil {
		return "", "", fmt.Errorf("token request: %w", err)
	}
	if resp.Status != http.StatusCreated {
		return "", resp.ServedBy, fmt.Errorf("token request: status %d: %s", resp.Status, resp.Body)
	}
	tok := resp.Header.Get("X-Subject-Token")
	if tok == "" {
		return "", resp.ServedBy, fmt.Errorf("token request: no X-Subject-Token in the answer")
	}
	return tok, resp.ServedBy, nil
}

// ValidateToken checks a token through url with itself as the caller.
func (c *Client) ValidateToken(ctx context.Context, url, token string) (servedBy string, err error) {
	req, err := http.NewRequest(http.MethodGet, url+"/v3/auth/tokens", nil)
	if err != nil {
		return "", err
	}
	req.Header.Set("X-Auth-Token", token)
	req.Header.Set("X-Subject-Token", token)
	resp, err := c.Do(ctx, req, 20*time.Second)
	if err != nil {
		return "", fmt.Errorf("validating the token: %w", err)
	}
	if resp.Status != http.StatusOK {
		return resp.ServedBy, fmt.Errorf("validating the token: status %d: %s", resp.Status, resp.Body)
	}
	return resp.ServedBy, nil
}

// InNamespace hands job to one of c's threads, in the client's network
// namespace; it blocks until a thread takes it.
func (c *Client) InNamespace(job func()) { c.jobs <- job }
