package haproxy

import (
	"context"
	"errors"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stackha/stackha/ocf"
)

// fakeStats serves one fixed answer to every command on a unix socket.
func fakeStats(t *testing.T, answer string) string {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "stats.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				c.SetDeadline(time.Now().Add(10 * time.Second))
				buf := make([]byte, 256)
				c.Read(buf)
				c.Write([]byte(answer))
			}()
		}
	}()
	return sock
}

const statHeader = "# pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,dreq,dresp,ereq,econ,eresp,wretr,wredis,status,weight\n"

// The depth-10 check through a stats socket whose answers are hostile or
// incomplete: a failure with a short, clean reason, never a pass.
func TestDeepCheckAnswers(t *testing.T) {
	huge := strings.Repeat("\x1b[31mX", 20<<20/6)
	for _, tc := range []struct {
		name   string
		answer string
		code   ocf.Code
		reason string
	}{
		{"header only", statHeader, ocf.ErrGeneric, "no frontend"},
		{"20 MB status", statHeader + "fe,FRONTEND,,,0,0,1,0,0,0,0,0,0,,,,," + huge + ",\n", ocf.ErrGeneric, "larger than"},
		{"7 MB status", statHeader + "fe,FRONTEND,,,0,0,1,0,0,0,0,0,0,,,,," + huge[:7<<20] + ",\n", ocf.ErrGeneric, "frontends not OPEN"},
		{"not show stat", "Unknown command.\n", ocf.ErrGeneric, "no header"},
		{"one server down", statHeader + "fe,FRONTEND,,,0,0,1,0,0,0,0,0,0,,,,,OPEN,\nbe,s1,,,,,,,,,,,,,,,,UP,1\nbe,s2,,,,,,,,,,,,,,,,DOWN,1\n", ocf.RunningDegraded, "be (s2 DOWN)"},
		{"serving", statHeader + "fe,FRONTEND,,,0,0,1,0,0,0,0,0,0,,,,,OPEN,\nbe,s1,,,,,,,,,,,,,,,,UP,1\n", ocf.Success, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := &instance{statsSocket: fakeStats(t, tc.answer), configs: []string{"/nonexistent/haproxy.cfg"},
				socket: "/nonexistent/master.sock", log: ocf.NewLogger(ocf.LogConfig{Agent: "test"})}
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			err := in.deepCheck(ctx, 0)
			if got := ocf.CodeOf(err); got != tc.code {
				t.Fatalf("code %d, want %d: %.300v", got, tc.code, err)
			}
			if err == nil {
				return
			}
			msg := err.Error()
			if len(msg) > 4096 || strings.ContainsAny(msg, "\x1b\n\r") || !strings.Contains(msg, tc.reason) {
				t.Errorf("reason (%d bytes) not short, clean and to the point (%q): %.300q", len(msg), tc.reason, msg)
			}
			var e *ocf.Error
			if !errors.As(err, &e) {
				t.Errorf("not an ocf error: %T", err)
			}
		})
	}
}
