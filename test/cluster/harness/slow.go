package harness

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"runtime"
	"sync"
	"time"

	"github.com/vishvananda/netns"
)

// slowPort is the port of the harness's slow frontend on the VIP (every
// node's haproxy): its one backend is the slow server in the client's
// namespace, which holds each request before it answers. A request held
// open through the VIP is a session the VIP holder's haproxy must drain
// when it stops: the test of "a VIP's move never waits for a drain".
const slowPort = 8081

// slowServer answers each request Hold after it came (or when released).
type slowServer struct {
	l       net.Listener
	hold    time.Duration
	mu      sync.Mutex
	arrived int
	// answered is when the server first answered a held request: the
	// earliest a haproxy draining it can end.
	answered time.Time
	conns    map[net.Conn]bool
	release  chan struct{}
	done     chan struct{}
}

// listenIn opens a TCP listener inside the network namespace at nsPath,
// on a thread that enters it and then ends with its goroutine.
func listenIn(nsPath, addr string) (net.Listener, error) {
	type result struct {
		l   net.Listener
		err error
	}
	ch := make(chan result, 1)
	go func() {
		// No UnlockOSThread: the thread that entered the namespace ends
		// with this goroutine.
		runtime.LockOSThread()
		h, err := netns.GetFromPath(nsPath)
		if err != nil {
			ch <- result{err: err}
			return
		}
		defer h.Close()
		if err := netns.Set(h); err != nil {
			ch <- result{err: err}
			return
		}
		l, err := net.Listen("tcp", addr)
		ch <- result{l, err}
	}()
	r := <-ch
	return r.l, r.err
}

// startSlowServer listens on ClientAddr:slowPort in the client namespace.
func startSlowServer(hold time.Duration) (*slowServer, error) {
	l, err := listenIn(ClientNetNS(), fmt.Sprintf("%s:%d", ClientAddr, slowPort))
	if err != nil {
		return nil, fmt.Errorf("the slow server: %w", err)
	}
	s := &slowServer{l: l, hold: hold, conns: map[net.Conn]bool{}, release: make(chan struct{}), done: make(chan struct{})}
	go s.serve()
	return s, nil
}

func (s *slowServer) serve() {
	defer close(s.done)
	for {
		c, err := s.l.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		s.conns[c] = true
		s.mu.Unlock()
		go s.handle(c)
	}
}

func (s *slowServer) handle(c net.Conn) {
	defer func() {
		c.Close()
		s.mu.Lock()
		delete(s.conns, c)
		s.mu.Unlock()
	}()
	c.SetDeadline(time.Now().Add(s.hold + 30*time.Second))
	req, err := http.ReadRequest(bufio.NewReader(c))
	if err != nil {
		return
	}
	req.Body.Close()
	s.mu.Lock()
	s.arrived++
	s.mu.Unlock()
	select {
	case <-time.After(s.hold):
	case <-s.release:
	}
	s.mu.Lock()
	if s.answered.IsZero() {
		s.answered = time.Now()
	}
	s.mu.Unlock()
	fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\nConnection: close\r\n\r\nslow\n")
}

// Arrived is the number of requests that reached the server.
func (s *slowServer) Arrived() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.arrived
}

// Answered is when the server first answered a held request (zero: not
// yet).
func (s *slowServer) Answered() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.answered
}

// Close stops the server and ends the requests it holds.
func (s *slowServer) Close() {
	close(s.release)
	s.l.Close()
	s.mu.Lock()
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	<-s.done
}

// Held is a request held open through the VIP.
type Held struct {
	srv  *slowServer
	cl   *Client
	Node string // the node whose haproxy holds it
	done chan struct{}
	err  error
}

// HoldThroughVIP opens a request through the VIP's slow frontend that the
// slow server holds for hold, and returns once the server has it (the
// VIP's holder's haproxy then has a session to drain). Close ends it.
func HoldThroughVIP(ctx context.Context, hold time.Duration) (*Held, error) {
	srv, err := startSlowServer(hold)
	if err != nil {
		return nil, err
	}
	cl, err := NewClient(ClientNetNS(), 1)
	if err != nil {
		srv.Close()
		return nil, err
	}
	h := &Held{srv: srv, cl: cl, done: make(chan struct{})}
	go func() {
		defer close(h.done)
		r, err := cl.Get(context.Background(), fmt.Sprintf("http://%s:%d/slow", VIP, slowPort), hold+30*time.Second)
		if err == nil && r.Status != 200 {
			err = fmt.Errorf("status %d", r.Status)
		}
		h.err = err
	}()
	deadline := time.Now().Add(10 * time.Second)
	for srv.Arrived() == 0 {
		select {
		case <-h.done:
			h.Close()
			return nil, fmt.Errorf("the held request ended before it reached the slow server: %v", h.err)
		case <-ctx.Done():
			h.Close()
			return nil, ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			h.Close()
			return nil, fmt.Errorf("the held request did not reach the slow server in 10 s")
		}
	}
	return h, nil
}

// Before reports whether t came before the held request was answered, that
// is before the haproxy holding it could end its drain: a VIP's first
// answer from another node must (an order of events, not a time limit).
func (h *Held) Before(t time.Time) bool {
	a := h.srv.Answered()
	return a.IsZero() || t.Before(a)
}

// Close ends the held request and the slow server.
func (h *Held) Close() {
	h.srv.Close()
	<-h.done
	h.cl.Close()
}
