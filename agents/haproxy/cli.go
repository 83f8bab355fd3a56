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
// (FRONTEND, BACKEND or a server) and status.
func ParseShowStat(s string) ([]Stat, error) {
	var out []Stat
	col := map[string]int{}
	sc := bufio.NewScanner(strings.NewReader(s))
	sc.Buffer(make([]byte, 64*1024), maxAnswer)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "# ") {
			for i, name := range strings.Split(strings.TrimPrefix(line, "# "), ",") {
				col[name] = i
			}
			continue
		}
		if line == "" || len(col) == 0 {
			continue
		}
		f := strings.Split(line, ",")
		get := func(name string) string {
			i, ok := col[name]
			if !ok || i >= len(f) {
				return ""
			}
			return f[i]
		}
		out = append(out, Stat{Proxy: get("pxname"), Service: get("svname"), Status: get("status")})
	}
	if len(col) == 0 {
		return nil, fmt.Errorf("show stat: no header in %q", firstLine(s))
	}
	for _, k := range []string{"pxname", "svname", "status"} {
		if _, ok := col[k]; !ok {
			return nil, fmt.Errorf("show stat: no %s column", k)
		}
	}
	return out, nil
}

// ServerState is one server line of "show servers state".
type ServerState struct {
	Backend, Server string
	AdminState      int // srv_admin_state bits
	UserWeight      int // srv_uweight
	InitWeight      int // srv_iweight
}

// Admin state bits of srv_admin_state that an operator sets at run time.
const (
	adminForcedMaint = 0x01
	adminForcedDrain = 0x08
)

// ParseServersState reads "show servers state" (also the state file).
func ParseServersState(s string) ([]ServerState, error) {
	var out []ServerState
	col := map[string]int{}
	sc := bufio.NewScanner(strings.NewReader(s))
	sc.Buffer(make([]byte, 64*1024), maxAnswer)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(line, "# ") {
			for i, name := range strings.Fields(strings.TrimPrefix(line, "# ")) {
				col[name] = i
			}
			continue
		}
		if line == "" || strings.HasPrefix(line, "#") || len(col) == 0 {
			continue
		}
		f := strings.Fields(line)
		get := func(name string) string {
			i, ok := col[name]
			if !ok || i >= len(f) {
				return ""
			}
			return f[i]
		}
		st := ServerState{Backend: get("be_name"), Server: get("srv_name")}
		var err error
		if st.AdminState, err = strconv.Atoi(get("srv_admin_state")); err != nil {
			return nil, fmt.Errorf("show servers state: bad srv_admin_state in %q", line)
		}
		if st.UserWeight, err = strconv.Atoi(get("srv_uweight")); err != nil {
			return nil, fmt.Errorf("show servers state: bad srv_uweight in %q", line)
		}
		st.InitWeight, _ = strconv.Atoi(get("srv_iweight"))
		out = append(out, st)
	}
	return out, nil
}
