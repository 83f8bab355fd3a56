package fence

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"net"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestParseRequest(t *testing.T) {
	for _, tc := range []struct {
		line string
		want Request
		err  string
	}{
		{"OFF node1", Request{VerbOff, "node1"}, ""},
		{"ON node-2.x_y", Request{VerbOn, "node-2.x_y"}, ""},
		{"STATUS n", Request{VerbStatus, "n"}, ""},
		{"LIST", Request{Verb: VerbList}, ""},
		{"PING", Request{Verb: VerbPing}, ""},
		{"OFF", Request{}, "exactly one node"},
		{"OFF a b", Request{}, "exactly one node"},
		{"OFF  a", Request{}, "exactly one node"},
		{"OFF a/b", Request{}, "invalid node"},
		{"OFF " + strings.Repeat("a", 65), Request{}, "invalid node"},
		{"LIST x", Request{}, "no argument"},
		{"off node1", Request{}, "unknown request"},
		{"", Request{}, "unknown request"},
	} {
		got, err := ParseRequest(tc.line)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%q: error %v, want %q", tc.line, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%q: %+v, %v; want %+v", tc.line, got, err, tc.want)
		}
	}
}

func TestReadLine(t *testing.T) {
	for _, tc := range []struct {
		in, want, err string
	}{
		{"PING\n", "PING", ""},
		{"PING\nmore", "PING", ""},
		{"PING", "", "not terminated"},
		{strings.Repeat("x", 20) + "\n", "", "longer than"},
		{"A\x01B\n", "", "control byte"},
		{"", "", "not terminated"},
	} {
		got, err := readLine(strings.NewReader(tc.in), 16)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%q: error %v, want %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%q: %q, %v", tc.in, got, err)
		}
	}
}

func TestParseReply(t *testing.T) {
	if p, err := ParseReply("OK on"); p != "on" || err != nil {
		t.Errorf("OK on: %q %v", p, err)
	}
	if p, err := ParseReply("OK"); p != "" || err != nil {
		t.Errorf("OK: %q %v", p, err)
	}
	var de *DeviceError
	if _, err := ParseReply("ERR broken"); !errors.As(err, &de) || de.Msg != "broken" {
		t.Errorf("ERR: %v", err)
	}
	if _, err := ParseReply("WHAT"); err == nil || errors.As(err, &de) {
		t.Errorf("malformed: %v", err)
	}
}

func TestParseOptions(t *testing.T) {
	for _, tc := range []struct {
		name  string
		stdin string
		args  []string
		want  Options
		warns int
		err   string
	}{
		{name: "pacemaker off", stdin: "action=off\nport=node1\nnodename=node2\n",
			want: Options{Action: "off", Plug: "node1", Socket: DefaultSocket, Timeout: 20 * time.Second}},
		{name: "plug, quotes, comments", stdin: "# comment\n\naction=\"reboot\"\nplug=node3\nsocket=/x/p.sock\npower_timeout=5\n",
			want: Options{Action: "reboot", Plug: "node3", Socket: "/x/p.sock", Timeout: 5 * time.Second}},
		{name: "old option name", stdin: "option=status\nport=n1\n",
			want: Options{Action: "status", Plug: "n1", Socket: DefaultSocket, Timeout: 20 * time.Second}},
		{name: "dashes", stdin: "action=list\npower-timeout=7\n",
			want: Options{Action: "list", Socket: DefaultSocket, Timeout: 7 * time.Second}},
		{name: "unknown warned", stdin: "action=monitor\nipaddr=1.2.3.4\n",
			want: Options{Action: "monitor", Socket: DefaultSocket, Timeout: 20 * time.Second}, warns: 1},
		{name: "default reboot needs plug", stdin: "", err: "needs plug"},
		{name: "bad action", stdin: "action=explode\nport=n1\n", err: "unknown action"},
		{name: "bad plug", stdin: "action=off\nport=../x\n", err: "invalid plug"},
		{name: "timeout range", stdin: "action=list\npower_timeout=0\n", err: "power_timeout"},
		{name: "timeout huge", stdin: "action=list\npower_timeout=601\n", err: "power_timeout"},
		{name: "relative socket", stdin: "action=list\nsocket=p.sock\n", err: "absolute"},
		{name: "too long", stdin: strings.Repeat("x", maxStdin+1), err: "longer than"},
		{name: "too many lines", stdin: strings.Repeat("#\n", maxLines+1), err: "lines"},
		{name: "args", args: []string{"-o", "off", "--plug=node1", "-s", "/s.sock", "--power-timeout", "3", "-v"},
			want: Options{Action: "off", Plug: "node1", Socket: "/s.sock", Timeout: 3 * time.Second, Verbose: true}},
		{name: "args metadata", args: []string{"--action=metadata"},
			want: Options{Action: "metadata", Socket: DefaultSocket, Timeout: 20 * time.Second}},
		{name: "args unknown", args: []string{"--bogus=1"}, err: "unknown option"},
		{name: "args missing value", args: []string{"-o"}, err: "needs a value"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got Options
			var err error
			if tc.args != nil {
				got, err = ParseArgs(tc.args)
			} else {
				got, err = ParseStdin(strings.NewReader(tc.stdin))
			}
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got.Warnings) != tc.warns {
				t.Errorf("warnings %q, want %d", got.Warnings, tc.warns)
			}
			got.Warnings = nil
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestMetadata(t *testing.T) {
	var md mdAgent
	if err := xml.Unmarshal(Metadata(), &md); err != nil {
		t.Fatal(err)
	}
	if md.Name != AgentName {
		t.Errorf("name %q", md.Name)
	}
	params := map[string]mdParam{}
	for _, p := range md.Params {
		params[p.Name] = p
	}
	if p := params["plug"]; p.Obsoletes != "port" || p.Required != "1" {
		t.Errorf("plug %+v", p)
	}
	if p := params["port"]; p.Deprecated != "1" {
		t.Errorf("port %+v", p)
	}
	if p := params["action"]; p.Content.Default != "reboot" {
		t.Errorf("action %+v", p)
	}
	acts := map[string]mdAct{}
	for _, a := range md.Actions {
		acts[a.Name] = a
	}
	for a := range actions {
		if _, ok := acts[a]; !ok {
			t.Errorf("action %s missing from metadata", a)
		}
	}
	if acts["on"].Automatic != "0" {
		t.Errorf("on: %+v", acts["on"])
	}
}

// fakePower is a Power over a map; failOff makes PowerOff fail, stuck
// makes it return without powering off.
type fakePower struct {
	mu      sync.Mutex
	on      map[string]bool
	failOff error
	stuck   bool
}

func (f *fakePower) PowerOff(n string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.on[n]; !ok {
		return fmt.Errorf("no node %s", n)
	}
	if f.failOff != nil {
		return f.failOff
	}
	if !f.stuck {
		f.on[n] = false
	}
	return nil
}

func (f *fakePower) PowerOn(n string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.on[n]; !ok {
		return fmt.Errorf("no node %s", n)
	}
	f.on[n] = true
	return nil
}

func (f *fakePower) IsOn(n string) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	on, ok := f.on[n]
	if !ok {
		return false, fmt.Errorf("no node %s", n)
	}
	return on, nil
}

func (f *fakePower) Nodes() []string { return []string{"node1", "node2", "node3"} }

func newSwitch(t *testing.T, p Power) *Switch {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "power.sock")
	sw, err := NewSwitch(sock, p)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sw.Close() })
	return sw
}

// agent runs the agent in-process with stdin lines, as pacemaker-fenced does.
func agent(sw *Switch, lines ...string) (code int, stdout, stderr string) {
	var o, e bytes.Buffer
	in := strings.Join(append(lines, "socket="+sw.Path(), "nodename=node2"), "\n") + "\n"
	code = Main(context.Background(), nil, strings.NewReader(in), &o, &e)
	return code, o.String(), e.String()
}

func TestSwitchAndAgent(t *testing.T) {
	p := &fakePower{on: map[string]bool{"node1": true, "node2": true, "node3": true}}
	sw := newSwitch(t, p)
	steps := []struct {
		lines    []string
		code     int
		out, err string
	}{
		{[]string{"action=status", "port=node1"}, ExitOK, "Status: ON", ""},
		{[]string{"action=off", "port=node1"}, ExitOK, "Success: Powered OFF", ""},
		{[]string{"action=status", "port=node1"}, ExitStatus, "Status: OFF", ""},
		{[]string{"action=off", "plug=node1"}, ExitOK, "Success: Already OFF", ""},
		{[]string{"action=on", "port=node1"}, ExitOK, "Success: Powered ON", ""},
		{[]string{"action=reboot", "port=node3"}, ExitOK, "Success: Rebooted", ""},
		{[]string{"action=list"}, ExitOK, "node1,\nnode2,\nnode3,\n", ""},
		{[]string{"action=list-status"}, ExitOK, "node1,,ON\n", ""},
		{[]string{"action=monitor"}, ExitOK, "", ""},
		{[]string{"action=metadata"}, ExitOK, "<resource-agent name=\"fence_shc\"", ""},
		{[]string{"action=status", "port=node9"}, ExitFail, "", "no node node9"},
	}
	for i, s := range steps {
		code, out, errOut := agent(sw, s.lines...)
		if code != s.code || !strings.Contains(out, s.out) || !strings.Contains(errOut, s.err) {
			t.Errorf("step %d %v: exit %d stdout %q stderr %q; want %d, %q, %q", i, s.lines, code, out, errOut, s.code, s.out, s.err)
		}
	}
	if on, _ := p.IsOn("node1"); !on {
		t.Error("node1 left off")
	}
	var offs, ons int
	for _, e := range sw.History() {
		if e.Node == "node1" && e.Action == "off" && e.Result == "off" {
			offs++
		}
		if e.Node == "node3" && e.Action == "on" && e.Result == "on" {
			ons++
		}
		if e.Time.IsZero() || e.Done.Before(e.Time) {
			t.Errorf("event times: %+v", e)
		}
	}
	if offs != 1 || ons != 1 {
		t.Errorf("history: %d off of node1, %d on of node3; want 1 and 1: %+v", offs, ons, sw.History())
	}
}

func TestFailingDevice(t *testing.T) {
	p := &fakePower{on: map[string]bool{"node1": true}}
	sw := newSwitch(t, p)
	sw.SetFailing(errors.New("BMC unreachable"))
	for _, a := range []string{"off", "reboot", "status", "monitor", "list"} {
		code, _, errOut := agent(sw, "action="+a, "port=node1")
		if code != ExitFail || !strings.Contains(errOut, "BMC unreachable") {
			t.Errorf("%s with a failing device: exit %d, stderr %q", a, code, errOut)
		}
	}
	if on, _ := p.IsOn("node1"); !on {
		t.Fatal("a failing device powered the node off")
	}
	h := sw.History()
	if len(h) == 0 || !strings.HasPrefix(h[len(h)-1].Result, "error: device failure") {
		t.Errorf("history does not show the failure: %+v", h)
	}
	sw.SetFailing(nil)
	if code, out, errOut := agent(sw, "action=off", "port=node1"); code != ExitOK {
		t.Errorf("recovered device: exit %d %q %q", code, out, errOut)
	}
	// Power that errors, and power that claims success but leaves the node on.
	p.PowerOn("node1")
	p.failOff = errors.New("relay stuck")
	if code, _, errOut := agent(sw, "action=off", "port=node1"); code != ExitFail || !strings.Contains(errOut, "relay stuck") {
		t.Errorf("failing PowerOff: exit %d %q", code, errOut)
	}
	p.failOff, p.stuck = nil, true
	if code, _, errOut := agent(sw, "action=off", "port=node1"); code != ExitFail || !strings.Contains(errOut, "still on") {
		t.Errorf("PowerOff that leaves the node on: exit %d %q", code, errOut)
	}
}

func TestSwitchRejectsBadRequests(t *testing.T) {
	sw := newSwitch(t, &fakePower{on: map[string]bool{}})
	for _, req := range []string{"HELLO\n", strings.Repeat("A", MaxRequest+10) + "\n", "OFF a\x00b\n", "OFF"} {
		c, err := net.Dial("unix", sw.Path())
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(30 * time.Second))
		c.Write([]byte(req))
		if req == "OFF" {
			c.(*net.UnixConn).CloseWrite()
		}
		line, err := readLine(c, MaxReply)
		c.Close()
		if err != nil || !strings.HasPrefix(line, "ERR bad request") {
			t.Errorf("%q: reply %q, %v", req, line, err)
		}
	}
}

func TestClientTimeout(t *testing.T) {
	// A listener that accepts and never answers: the client gives up.
	sock := filepath.Join(t.TempDir(), "mute.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err == nil {
			defer c.Close()
			buf := make([]byte, 64)
			c.Read(buf)
			time.Sleep(2 * time.Second)
		}
	}()
	if err := (Client{Socket: sock, Timeout: 100 * time.Millisecond}).Ping(context.Background()); err == nil {
		t.Fatal("a mute device answered")
	}
}

func TestNewSwitchRefusesNonSocket(t *testing.T) {
	path := filepath.Join(t.TempDir(), "file")
	if err := exec.Command("touch", path).Run(); err != nil {
		t.Fatal(err)
	}
	if _, err := NewSwitch(path, &fakePower{}); err == nil || !strings.Contains(err.Error(), "not a socket") {
		t.Fatalf("err %v", err)
	}
}

// TestBuiltAgent builds fence_shc and drives the binary exactly as
// pacemaker-fenced does: key=value lines on stdin.
func TestBuiltAgent(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a binary")
	}
	bin := filepath.Join(t.TempDir(), AgentName)
	if err := BuildAgent(context.Background(), bin); err != nil {
		t.Fatal(err)
	}
	p := &fakePower{on: map[string]bool{"node1": true, "node2": true, "node3": true}}
	sw := newSwitch(t, p)
	cmd := exec.Command(bin)
	cmd.Stdin = strings.NewReader("action=reboot\nport=node2\nnodename=node1\nsocket=" + sw.Path() + "\n")
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "Success: Rebooted") {
		t.Fatalf("reboot: %v: %s", err, out)
	}
	cmd = exec.Command(bin, "-o", "status", "-n", "node2", "--socket", sw.Path())
	if out, err := cmd.CombinedOutput(); err != nil || !strings.Contains(string(out), "Status: ON") {
		t.Fatalf("status: %v: %s", err, out)
	}
	p.PowerOff("node2")
	cmd = exec.Command(bin, "-o", "status", "-n", "node2", "--socket", sw.Path())
	out, err = cmd.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != ExitStatus {
		t.Fatalf("status of an off node: %v: %s", err, out)
	}
	if out, err := exec.Command(bin, "-o", "metadata").Output(); err != nil || !bytes.Contains(out, []byte("<actions>")) {
		t.Fatalf("metadata: %v: %s", err, out)
	}
}
