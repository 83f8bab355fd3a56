package fence

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"strings"
	"sync"
	"time"
)

// Power is the harness's side of the device: what powering a node off and
// on means (off: every process of the node's PID namespace dies at once;
// on: the node boots, corosync and pacemakerd start and it rejoins). Each
// call returns once the action is done; PowerOn should return once the
// daemons are started, not wait for the rejoin (a request waits for it).
// The switch makes one call at a time.
//
// A node's network namespace outlives its processes, and its kernel (the
// host's) keeps answering ARP for the addresses left on it: PowerOff must
// also take the node's links down (the VIP answering from a dead node is a
// second holder to the split-brain watcher), PowerOn bring them up.
type Power interface {
	PowerOff(node string) error
	PowerOn(node string) error
	IsOn(node string) (bool, error)
}

// Lister is implemented by a Power that can name its nodes (the "list"
// action). Without it the device answers that it cannot list.
type Lister interface {
	Nodes() []string
}

// Event is one request the switch served.
type Event struct {
	Time   time.Time // when the request arrived
	Done   time.Time // when it was answered (an "off" is done: the node is down)
	Node   string    // empty for list and ping
	Action string    // "off", "on", "status", "list", "ping"
	Result string    // "on", "off", "ok" or "error: ..."
}

// maxConns bounds the connections served at once; more are refused.
const maxConns = 16

// maxHistory bounds the recorded events (the oldest are dropped).
const maxHistory = 10000

// Switch serves a Power on a unix socket. Create it with NewSwitch.
type Switch struct {
	path string
	ln   *net.UnixListener
	p    Power
	sem  chan struct{}
	wg   sync.WaitGroup
	op   sync.Mutex // one power action at a time, as on a BMC

	mu      sync.Mutex
	failing error
	history []Event
	closed  bool
}

// NewSwitch listens on sockPath (mode 0600; a stale socket there is
// replaced, any other file is an error) and serves p until Close.
func NewSwitch(sockPath string, p Power) (*Switch, error) {
	if p == nil {
		return nil, errors.New("fence: nil Power")
	}
	if fi, err := os.Lstat(sockPath); err == nil {
		if fi.Mode().Type() != fs.ModeSocket {
			return nil, fmt.Errorf("fence: %s exists and is not a socket", sockPath)
		}
		if err := os.Remove(sockPath); err != nil {
			return nil, fmt.Errorf("fence: removing stale socket: %w", err)
		}
	}
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: sockPath, Net: "unix"})
	if err != nil {
		return nil, fmt.Errorf("fence: %w", err)
	}
	ln.SetUnlinkOnClose(true)
	if err := os.Chmod(sockPath, 0o600); err != nil {
		ln.Close()
		return nil, fmt.Errorf("fence: %w", err)
	}
	s := &Switch{path: sockPath, ln: ln, p: p, sem: make(chan struct{}, maxConns)}
	s.wg.Add(1)
	go s.serve()
	return s, nil
}

// Path is the socket's path.
func (s *Switch) Path() string { return s.path }

// SetFailing makes every request answer an error built from err (the
// device is broken: fault 13) until SetFailing(nil).
func (s *Switch) SetFailing(err error) {
	s.mu.Lock()
	s.failing = err
	s.mu.Unlock()
}

// History returns a copy of the requests served so far, oldest first.
func (s *Switch) History() []Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Event(nil), s.history...)
}

// Close stops serving, waits for the requests in progress and removes the
// socket.
func (s *Switch) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.mu.Unlock()
	err := s.ln.Close()
	s.wg.Wait()
	return err
}

func (s *Switch) serve() {
	defer s.wg.Done()
	for {
		c, err := s.ln.AcceptUnix()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			// A transient accept error (EMFILE...): back off a little.
			time.Sleep(10 * time.Millisecond)
			continue
		}
		select {
		case s.sem <- struct{}{}:
		default:
			c.SetWriteDeadline(time.Now().Add(time.Second))
			c.Write([]byte("ERR busy\n"))
			c.Close()
			continue
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			defer func() { <-s.sem }()
			s.handle(c)
		}()
	}
}

func (s *Switch) handle(c *net.UnixConn) {
	defer c.Close()
	c.SetReadDeadline(time.Now().Add(IOTimeout))
	line, err := readLine(c, MaxRequest)
	var reply string
	if err != nil {
		reply = "ERR bad request: " + oneLine(err.Error())
	} else {
		reply = s.do(line)
	}
	c.SetWriteDeadline(time.Now().Add(IOTimeout))
	c.Write([]byte(reply + "\n"))
}

// do serves one request line and returns the reply line.
func (s *Switch) do(line string) string {
	t := time.Now()
	req, err := ParseRequest(line)
	if err != nil {
		return "ERR bad request: " + oneLine(err.Error())
	}
	ev := Event{Time: t, Node: req.Node, Action: strings.ToLower(req.Verb)}
	payload, err := s.act(req)
	if err != nil {
		ev.Result = "error: " + oneLine(err.Error())
	} else {
		ev.Result = payload
		if ev.Result == "" || req.Verb == VerbList {
			ev.Result = "ok"
		}
	}
	ev.Done = time.Now()
	s.record(ev)
	if err != nil {
		return "ERR " + oneLine(err.Error())
	}
	if payload == "" {
		return "OK"
	}
	return "OK " + payload
}

func (s *Switch) record(ev Event) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.history) >= maxHistory {
		s.history = append(s.history[:0], s.history[1:]...)
	}
	s.history = append(s.history, ev)
}

func (s *Switch) act(req Request) (string, error) {
	s.mu.Lock()
	failing := s.failing
	s.mu.Unlock()
	if failing != nil {
		return "", fmt.Errorf("device failure: %w", failing)
	}
	if req.Verb == VerbPing {
		return "", nil
	}
	if req.Verb == VerbList {
		l, ok := s.p.(Lister)
		if !ok {
			return "", errors.New("this device cannot list its nodes")
		}
		var names []string
		for _, n := range l.Nodes() {
			if ValidNode(n) {
				names = append(names, n)
			}
		}
		out := strings.Join(names, " ")
		if len(out) > MaxReply-4 {
			return "", errors.New("node list too long")
		}
		return out, nil
	}
	s.op.Lock()
	defer s.op.Unlock()
	switch req.Verb {
	case VerbOff:
		if err := s.p.PowerOff(req.Node); err != nil {
			return "", fmt.Errorf("power off %s: %w", req.Node, err)
		}
		return s.expect(req.Node, false)
	case VerbOn:
		if err := s.p.PowerOn(req.Node); err != nil {
			return "", fmt.Errorf("power on %s: %w", req.Node, err)
		}
		return s.expect(req.Node, true)
	}
	return s.status(req.Node)
}

func (s *Switch) status(node string) (string, error) {
	on, err := s.p.IsOn(node)
	if err != nil {
		return "", fmt.Errorf("status of %s: %w", node, err)
	}
	if on {
		return "on", nil
	}
	return "off", nil
}

// expect checks the node's state after an action, as fence-agents do.
func (s *Switch) expect(node string, on bool) (string, error) {
	st, err := s.status(node)
	if err != nil {
		return "", err
	}
	if (st == "on") != on {
		return "", fmt.Errorf("%s is still %s", node, st)
	}
	return st, nil
}
