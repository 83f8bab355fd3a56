package haproxy

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/stackha/stackha/instance"
)

// The runtime API, spoken directly over haproxy's unix sockets: one
// command per connection, the write side closed after it, the answer read
// to the end. Every exchange is bounded by ctx.

// maxAnswer bounds what the agent reads from one command: "show stat" of
// 1,000 backends of 3 servers is about 1.5 MB.
const maxAnswer = 8 << 20

// defaultCallTimeout bounds a call when ctx has no deadline.
const defaultCallTimeout = 5 * time.Second

// Query sends one command to the socket at path and returns the answer.
func Query(ctx context.Context, path, cmd string) (string, error) {
	return queryPeer(ctx, path, cmd, nil)
}

// queryPeer is Query that, when peer is set, first asks the kernel who
// holds the socket (SO_PEERCRED: the process that called listen, and its
// credentials then) and sends nothing to a peer it refuses.
func queryPeer(ctx context.Context, path, cmd string, peer func(*unix.Ucred) error) (string, error) {
	if strings.ContainsAny(cmd, "\n\r") {
		return "", fmt.Errorf("runtime API command %q: one line only", cmd)
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, defaultCallTimeout)
		defer cancel()
	}
	var d net.Dialer
	c, err := d.DialContext(ctx, "unix", path)
	if err != nil {
		return "", fmt.Errorf("runtime API %s: %w", path, err)
	}
	defer c.Close()
	dl, _ := ctx.Deadline()
	c.SetDeadline(dl)
	stop := context.AfterFunc(ctx, func() { c.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	if peer != nil {
		cred, err := peerCred(c)
		if err == nil {
			err = peer(cred)
		}
		if err != nil {
			return "", fmt.Errorf("runtime API %s: %w", path, err)
		}
	}
	if _, err := io.WriteString(c, cmd+"\n"); err != nil {
		return "", fmt.Errorf("runtime API %s: sending %q: %w", path, cmd, err)
	}
	if uc, ok := c.(*net.UnixConn); ok {
		uc.CloseWrite()
	}
	b, err := io.ReadAll(io.LimitReader(c, maxAnswer+1))
	if err == nil && len(b) > maxAnswer {
		return "", fmt.Errorf("runtime API %s: the answer to %q is larger than %d bytes", path, cmd, maxAnswer)
	}
	if err != nil {
		if ctx.Err() != nil {
			err = fmt.Errorf("%w (%w)", ctx.Err(), err)
		}
		return string(b), fmt.Errorf("runtime API %s: %w", path, &AnswerError{Cmd: cmd, Err: err})
	}
	return string(b), nil
}

// peerCred is the credentials of the process that holds the other end of
// the unix socket connection c.
func peerCred(c net.Conn) (*unix.Ucred, error) {
	uc, ok := c.(*net.UnixConn)
	if !ok {
		return nil, errors.New("not a unix socket")
	}
	raw, err := uc.SyscallConn()
	if err != nil {
		return nil, err
	}
	var cred *unix.Ucred
	var cerr error
	if err := raw.Control(func(fd uintptr) {
		cred, cerr = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED)
	}); err != nil {
		return nil, err
	}
	if cerr != nil {
		return nil, fmt.Errorf("asking who holds the socket: %w", cerr)
	}
	return cred, nil
}

// AnswerError says the command was sent but its answer could not be read
// to the end.
type AnswerError struct {
	Cmd string
	Err error
}

func (e *AnswerError) Error() string {
	return fmt.Sprintf("reading the answer to %q: %v", e.Cmd, e.Err)
}
func (e *AnswerError) Unwrap() error { return e.Err }

// Proc is one line of the master's "show proc".
type Proc struct {
	PID     int
	Type    string // master, worker, program name
	Reloads int
	Failed  int  // master only: failed reloads
	Old     bool // listed under "# old workers"
}

// ProcList is the master's "show proc".
type ProcList struct {
	Master  Proc
	Workers []Proc // the current generation
	Old     []Proc // old workers still finishing their connections
}

// ParseShowProc reads "show proc" from haproxy's master CLI.
func ParseShowProc(s string) (ProcList, error) {
	var pl ProcList
	section := "master"
	seenMaster := false
	sc := bufio.NewScanner(strings.NewReader(s))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "":
			continue
		case strings.HasPrefix(line, "#<PID>"):
			continue
		case strings.HasPrefix(line, "#"):
			section = strings.TrimSpace(strings.TrimPrefix(line, "#"))
			continue
		}
		f := strings.Fields(line)
		if len(f) < 3 {
			continue
		}
		pid, err := strconv.Atoi(f[0])
		if err != nil || pid <= 0 {
			continue
		}
		p := Proc{PID: pid, Type: f[1]}
		p.Reloads, _ = strconv.Atoi(f[2])
		if len(f) >= 5 && f[3] == "[failed:" {
			p.Failed, _ = strconv.Atoi(strings.TrimSuffix(f[4], "]"))
		}
		switch {
		case p.Type == "master":
			pl.Master, seenMaster = p, true
		case section == "workers" && p.Type == "worker":
			pl.Workers = append(pl.Workers, p)
		case section == "old workers" && p.Type == "worker":
			p.Old = true
			pl.Old = append(pl.Old, p)
		}
	}
	if !seenMaster {
		return pl, errors.New("no master line in show proc")
	}
	return pl, nil
}

// Stat is one row of "show stat".
type Stat struct {
	Proxy, Service, Status string
}

// ParseShowStat reads the CSV of "show stat": proxy name, service name
// (FRONTEND, BACKEND or a server) and status. Only those three columns are
// cut out of each row (a row has about a hundred), so the cost stays a
// single pass over the answer.
func ParseShowStat(s string) ([]Stat, error) {
	var out []Stat
	names := []string{"pxname", "svname", "status"}
	var idx []int
	for rest := s; rest != ""; {
		var line string
		line, rest = nextLine(rest)
		if h, ok := strings.CutPrefix(line, "# "); ok {
			idx = columnIndexes(strings.Split(h, ","), names)
			continue
		}
		if line == "" || idx == nil {
			continue
		}
		f := cutColumns(line, ',', idx)
		out = append(out, Stat{Proxy: f[0], Service: f[1], Status: f[2]})
	}
	if idx == nil {
		return nil, fmt.Errorf("show stat: no header in %s", instance.Quote(firstLine(s)))
	}
	for n, k := range names {
		if idx[n] < 0 {
			return nil, fmt.Errorf("show stat: no %s column", k)
		}
	}
	return out, nil
}

// nextLine cuts the first line off s.
func nextLine(s string) (line, rest string) {
	if n := strings.IndexByte(s, '\n'); n >= 0 {
		return s[:n], s[n+1:]
	}
	return s, ""
}

// ServerState is one server line of "show servers state".
type ServerState struct {
	Backend, Server string
	AdminState      int // srv_admin_state bits
	UserWeight      int // srv_uweight
	InitWeight      int // srv_iweight
	OpState         int // srv_op_state: 0 stopped, 1 starting, 2 running, 3 stopping
}

// Admin state bits of srv_admin_state that an operator sets at run time.
const (
	adminForcedMaint = 0x01
	adminForcedDrain = 0x08
	// adminMaint and adminDrain are every maintenance (forced, inherited,
	// from the configuration, from a failed resolution) and drain bit.
	adminMaint = 0x01 | 0x02 | 0x04 | 0x20
	adminDrain = 0x08 | 0x10
)

// Status is the server's status as "show stat" spells it.
func (s ServerState) Status() string {
	switch {
	case s.AdminState&adminMaint != 0:
		return "MAINT"
	case s.AdminState&adminDrain != 0:
		return "DRAIN"
	case s.OpState == 1 || s.OpState == 2:
		return "UP"
	case s.OpState == 3:
		return "NOLB"
	}
	return "DOWN"
}

// ParseServersState reads "show servers state" (also the state file). Only
// the columns it needs are cut out of each line.
func ParseServersState(s string) ([]ServerState, error) {
	var out []ServerState
	names := []string{"be_name", "srv_name", "srv_admin_state", "srv_uweight", "srv_iweight", "srv_op_state"}
	var idx []int
	for rest := s; rest != ""; {
		var line string
		line, rest = nextLine(rest)
		line = strings.TrimSpace(line)
		if h, ok := strings.CutPrefix(line, "# "); ok {
			idx = columnIndexes(strings.Fields(h), names)
			continue
		}
		if line == "" || strings.HasPrefix(line, "#") || idx == nil {
			continue
		}
		f := cutColumns(line, ' ', idx)
		st := ServerState{Backend: f[0], Server: f[1]}
		var err error
		if st.AdminState, err = strconv.Atoi(f[2]); err != nil {
			return nil, fmt.Errorf("show servers state: bad srv_admin_state in %s", instance.Quote(line))
		}
		if st.UserWeight, err = strconv.Atoi(f[3]); err != nil {
			return nil, fmt.Errorf("show servers state: bad srv_uweight in %s", instance.Quote(line))
		}
		st.InitWeight, _ = strconv.Atoi(f[4])
		st.OpState, _ = strconv.Atoi(f[5])
		out = append(out, st)
	}
	return out, nil
}

// columnIndexes is the position of each of names in header, -1 when absent.
func columnIndexes(header, names []string) []int {
	idx := make([]int, len(names))
	for n, name := range names {
		idx[n] = -1
		for i, h := range header {
			if h == name {
				idx[n] = i
				break
			}
		}
	}
	return idx
}

// cutColumns returns the fields of line at the positions idx ("" for a
// position the line does not reach), reading no further than the last one
// wanted. Fields are separated by sep; with ' ', by runs of blanks.
func cutColumns(line string, sep byte, idx []int) []string {
	last := -1
	for _, i := range idx {
		last = max(last, i)
	}
	blank := func(c byte) bool { return c == sep || sep == ' ' && c == '\t' }
	out := make([]string, len(idx))
	k := 0
	for col := 0; col <= last && k <= len(line); col++ {
		if sep == ' ' {
			for k < len(line) && blank(line[k]) {
				k++
			}
			if k == len(line) {
				break
			}
		}
		end := k
		for end < len(line) && !blank(line[end]) {
			end++
		}
		for n, want := range idx {
			if want == col {
				out[n] = line[k:end]
			}
		}
		k = end + 1
	}
	return out
}
