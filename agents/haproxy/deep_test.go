package haproxy

import (
	"context"
	"errors"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/stackha/stackha/ocf"
)

// fakeStats serves fixed answers on a unix socket: the frontends' show stat
// to "show stat ...", servers to "show servers state".
func fakeStats(t *testing.T, frontends, servers string) string {
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
				n, _ := c.Read(buf)
				if strings.HasPrefix(string(buf[:n]), "show servers state") {
					c.Write([]byte(servers))
				} else {
					c.Write([]byte(frontends))
				}
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
	fe := statHeader + "fe,FRONTEND,,,0,0,1,0,0,0,0,0,0,,,,,OPEN,\n"
	const stateHeader = "1\n# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight srv_iweight\n"
	up := stateHeader + "3 be 1 s1 127.0.0.1 2 0 1 1\n3 be 2 s2 127.0.0.1 2 0 1 1\n"
	for _, tc := range []struct {
		name              string
		frontends, states string
		code              ocf.Code
		reason            string
	}{
		{"header only", statHeader, up, ocf.ErrGeneric, "no frontend"},
		{"20 MB status", statHeader + "fe,FRONTEND,,,0,0,1,0,0,0,0,0,0,,,,," + huge + ",\n", up, ocf.ErrGeneric, "larger than"},
		{"7 MB status", statHeader + "fe,FRONTEND,,,0,0,1,0,0,0,0,0,0,,,,," + huge[:7<<20] + ",\n", up, ocf.ErrGeneric, "frontends not OPEN"},
		{"20 MB server name", fe, stateHeader + "3 be 1 " + huge + " 127.0.0.1 0 0 1 1\n", ocf.ErrGeneric, "larger than"},
		{"7 MB server name", fe, stateHeader + "3 be 1 " + huge[:7<<20] + " 127.0.0.1 0 0 1 1\n", ocf.ErrGeneric, "backends without a server UP"},
		{"not show stat", "Unknown command.\n", up, ocf.ErrGeneric, "no header"},
		{"one server down", fe, stateHeader + "3 be 1 s1 127.0.0.1 2 0 1 1\n3 be 2 s2 127.0.0.1 0 0 1 1\n", ocf.RunningDegraded, `"be" ("s2" "DOWN")`},
		{"one down, one in maintenance", fe, stateHeader + "3 be 1 s1 127.0.0.1 2 0 1 1\n3 be 2 s2 127.0.0.1 0 1 1 1\n", ocf.Success, ""},
		{"none up", fe, stateHeader + "3 be 1 s1 127.0.0.1 0 0 1 1\n3 be 2 s2 127.0.0.1 0 1 1 1\n", ocf.ErrGeneric, `"be" ("s1" "DOWN", "s2" "MAINT")`},
		{"serving", fe, up, ocf.Success, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := &op{settings: &settings{statsSocket: fakeStats(t, tc.frontends, tc.states), configs: []string{"/nonexistent/haproxy.cfg"},
				socket: "/nonexistent/master.sock"}, name: "shh-deep", log: ocf.NewLogger(ocf.LogConfig{Agent: "test"}),
				peer: func(*unix.Ucred) error { return nil }}
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			err := o.deepCheck(ctx, 0)
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
