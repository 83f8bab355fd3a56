package haproxy

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

const showProc = `#<PID>          <type>          <reloads>       <uptime>        <version>
17211           master          2 [failed: 1]   0d00h10m19s     2.6.12-1+deb12u4
# workers
16437           worker          0               0d00h00m03s     2.6.12-1+deb12u4
# old workers
15000           worker          1               0d00h01m03s     2.6.12-1+deb12u4
# programs
9999            dataplane       0               0d00h01m03s     -
`

func TestParseShowProc(t *testing.T) {
	pl, err := ParseShowProc(showProc)
	if err != nil {
		t.Fatal(err)
	}
	want := ProcList{
		Master:  Proc{PID: 17211, Type: "master", Reloads: 2, Failed: 1},
		Workers: []Proc{{PID: 16437, Type: "worker"}},
		Old:     []Proc{{PID: 15000, Type: "worker", Reloads: 1, Old: true}},
	}
	if !reflect.DeepEqual(pl, want) {
		t.Errorf("got %+v\nwant %+v", pl, want)
	}
	if _, err := ParseShowProc("Unknown command\n"); err == nil {
		t.Error("no master line accepted")
	}
}

const showStat = `# pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,dreq,dresp,ereq,econ,eresp,wretr,wredis,status,weight
fe,FRONTEND,,,0,0,9979,0,0,0,0,0,0,,,,,OPEN,
off,FRONTEND,,,0,0,9979,0,0,0,0,0,0,,,,,STOP,
busy,FRONTEND,,,0,0,9979,0,0,0,0,0,0,,,,,FULL,
be,s1,0,0,0,0,,0,0,0,,0,,0,0,0,0,DOWN,1
be,s2,0,0,0,0,,0,0,0,,0,,0,0,0,0,MAINT,1
be,BACKEND,0,0,0,0,998,0,0,0,0,0,,0,0,0,0,DOWN,1
ok,s1,0,0,0,0,,0,0,0,,0,,0,0,0,0,UP 1/3,1
ok,s2,0,0,0,0,,0,0,0,,0,,0,0,0,0,DOWN,1
nochk,s1,0,0,0,0,,0,0,0,,0,,0,0,0,0,no check,1
`

func TestJudgeStats(t *testing.T) {
	rows, err := ParseShowStat(showStat)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 9 || rows[3] != (Stat{"be", "s1", "DOWN"}) {
		t.Fatalf("rows = %+v", rows)
	}
	header, _, _ := strings.Cut(showStat, "\n")
	headerOnly, err := ParseShowStat(header + "\n")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name     string
		rows     []Stat
		want     []string
		disabled map[string]bool
		expect   judgement
	}{
		{"defaults: every backend with servers", rows, nil, map[string]bool{"off": true},
			judgement{failed: `backends without a server UP: "be" ("s1" "DOWN", "s2" "MAINT")`, degraded: `backends that lost servers but keep one UP: "ok" ("s2" "DOWN")`}},
		{"a disabled frontend not in config", rows, []string{"nochk"}, nil, judgement{failed: `frontends not OPEN: "off" ("STOP")`}},
		{"chosen backend degraded", rows, []string{"ok", "nochk"}, map[string]bool{"off": true}, judgement{degraded: `backends that lost servers but keep one UP: "ok" ("s2" "DOWN")`}},
		{"chosen backend up", rows, []string{"nochk"}, map[string]bool{"off": true}, judgement{}},
		{"unknown backend", rows, []string{"gone"}, map[string]bool{"off": true}, judgement{failed: `backends without a server UP: "gone" (not in the running configuration)`}},
		{"a header and no frontend", headerOnly, nil, nil, judgement{failed: "show stat lists no frontend: the workers serve nothing"}},
		{"no frontend, backends up", rows[6:], []string{"nochk"}, nil, judgement{failed: "show stat lists no frontend: the workers serve nothing"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := judgeStats(tc.rows, tc.want, tc.disabled); got != tc.expect {
				t.Errorf("got %+v\nwant %+v", got, tc.expect)
			}
		})
	}
	if _, err := ParseShowStat("Permission denied.\n"); err == nil {
		t.Error("an answer without a header parsed")
	}
}

const serversState = `1
# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight srv_iweight srv_time_since_last_change srv_check_status srv_check_result srv_check_health srv_check_state srv_agent_state bk_f_forced_id srv_f_forced_id srv_fqdn srv_port srvrecord srv_use_ssl srv_check_port srv_check_addr srv_agent_addr srv_agent_port
3 be 1 s1 127.0.0.1 0 0 7 1 1 8 2 0 6 0 0 0 - 18091 - 0 0 - - 0
3 be 2 s2 127.0.0.1 0 1 1 1 1 1 0 0 0 0 0 0 - 18092 - 0 0 - - 0
3 be 3 s3 127.0.0.1 0 8 1 1 1 1 0 0 0 0 0 0 - 18093 - 0 0 - - 0
3 be 4 s4 127.0.0.1 0 4 1 1 1 1 0 0 0 0 0 0 - 18094 - 0 0 - - 0
`

func TestStateFixes(t *testing.T) {
	saved, err := ParseServersState(serversState)
	if err != nil {
		t.Fatal(err)
	}
	if len(saved) != 4 || saved[0] != (ServerState{"be", "s1", 0, 7, 1, 0}) || saved[1].AdminState != adminForcedMaint {
		t.Fatalf("parsed %+v", saved)
	}
	fresh := []ServerState{{"be", "s1", 0, 1, 1, 2}, {"be", "s2", 0, 1, 1, 2}, {"be", "s3", 0, 1, 1, 2}, {"be", "s4", 4, 1, 1, 2}}
	want := []string{"set server be/s1 weight 7", "set server be/s2 state maint", "set server be/s3 state drain"}
	if got := stateFixes(saved, fresh); !reflect.DeepEqual(got, want) {
		t.Errorf("fixes = %q, want %q", got, want)
	}
	// The configured weight changed meanwhile: the configuration wins.
	reweighted := []ServerState{{"be", "s1", 0, 3, 3, 2}}
	if got := stateFixes(saved[:1], reweighted); len(got) != 0 {
		t.Errorf("fixes over a new configured weight = %q", got)
	}
	// Loaded by haproxy itself: nothing to do. A server that left: skipped.
	if got := stateFixes(saved, saved[:3]); len(got) != 0 {
		t.Errorf("fixes on a loaded state = %q", got)
	}
	if _, err := ParseServersState("1\n# be_id be_name srv_id srv_name srv_admin_state srv_uweight\n1 b 1 s x 1\n"); err == nil {
		t.Error("bad admin state parsed")
	}
}

// TestQuery drives the client against a fake runtime API.
func TestQuery(t *testing.T) {
	dir := t.TempDir()
	sock := filepath.Join(dir, "api.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func(c net.Conn) {
				defer c.Close()
				buf := make([]byte, 256)
				n, _ := c.Read(buf)
				cmd := strings.TrimSpace(string(buf[:n]))
				switch cmd {
				case "hang":
					time.Sleep(5 * time.Second)
				default:
					c.Write([]byte("you said " + cmd + "\n"))
				}
			}(c)
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	got, err := Query(ctx, sock, "show info")
	if err != nil || got != "you said show info\n" {
		t.Errorf("Query = %q, %v", got, err)
	}
	short, cancel2 := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel2()
	start := time.Now()
	if _, err := Query(short, sock, "hang"); err == nil {
		t.Error("a hanging answer did not time out")
	}
	if time.Since(start) > 3*time.Second {
		t.Errorf("the deadline was not honoured")
	}
	if _, err := Query(ctx, sock, "two\nlines"); err == nil {
		t.Error("a command with a newline was sent")
	}
	if _, err := Query(ctx, filepath.Join(dir, "none.sock"), "x"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing socket: %v", err)
	}
}

func FuzzParseShowProc(f *testing.F) {
	f.Add(showProc)
	f.Fuzz(func(t *testing.T, s string) {
		ParseShowProc(s)
		ParseShowStat(s)
		ParseServersState(s)
	})
}
