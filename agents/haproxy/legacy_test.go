package haproxy

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/stackha/stackha/instance"
	"github.com/stackha/stackha/internal/testutil/require"
)

// v02Record is a record as stackha 0.2 wrote it (its record.encode, `git
// show a74b5c3:agents/haproxy/record.go`).
const v02Record = "pid 4242\nstart 98765\nsession 4242\nexe /usr/sbin/haproxy\nsocket /run/stackha/x/master.sock\nuids 0 108\n"

func TestParseLegacy(t *testing.T) {
	got, err := parseLegacy([]byte(v02Record))
	want := &legacyRecord{PID: 4242, Start: 98765, Session: 4242, Exe: "/usr/sbin/haproxy", Socket: "/run/stackha/x/master.sock", UIDs: []uint32{0, 108}}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("0.2's record: %+v %v", got, err)
	}
	if got, err := parseLegacy([]byte(strings.Replace(v02Record, "uids 0 108", "uids 0", 1))); err != nil || len(got.UIDs) != 1 {
		t.Fatalf("root alone: %+v %v", got, err)
	}
	for name, b := range map[string]string{
		"empty":            "",
		"no newline":       strings.TrimSuffix(v02Record, "\n"),
		"a key missing":    strings.Replace(v02Record, "start 98765\n", "", 1),
		"a key twice":      v02Record + "pid 4242\n",
		"an unknown key":   v02Record + "launcher 4241\n",
		"an empty line":    v02Record + "\n",
		"pid 1":            strings.ReplaceAll(v02Record, "4242", "1"),
		"not a leader":     strings.Replace(v02Record, "session 4242", "session 4000", 1),
		"start 0":          strings.Replace(v02Record, "start 98765", "start 0", 1),
		"a negative pid":   strings.ReplaceAll(v02Record, "4242", "-4242"),
		"pid not a number": strings.ReplaceAll(v02Record, "4242", "4242x"),
		"uids without 0":   strings.Replace(v02Record, "uids 0 108", "uids 108", 1),
		"three uids":       strings.Replace(v02Record, "uids 0 108", "uids 0 108 109", 1),
		"uids doubled":     strings.Replace(v02Record, "uids 0 108", "uids 0  108", 1),
		"relative exe":     strings.Replace(v02Record, "exe /usr/sbin/haproxy", "exe haproxy", 1),
		"socket unclean":   strings.Replace(v02Record, "socket /run", "socket /run/../run", 1),
		"exe missing":      strings.Replace(v02Record, "exe /usr/sbin/haproxy", "exe", 1),
		"today's format":   `{"format":1,"kind":"haproxy"}` + "\n",
	} {
		if rec, err := parseLegacy([]byte(b)); err == nil {
			t.Errorf("%s: accepted as %+v", name, rec)
		}
	}
}

// writeLegacy writes b as 0.2's record of the instance name with mode.
func writeLegacy(t *testing.T, name, b string, mode uint32) string {
	t.Helper()
	d, err := instance.OpenState(name, true)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if err := d.WriteAtomic(legacyName, []byte(b), mode); err != nil {
		t.Fatal(err)
	}
	return filepath.Join(d.Path(), legacyName)
}

// A record in 0.2's exact format is read at the first action, saved as
// today's record (the pid file and stop timeout from the parameters in
// force, or 0.2's defaults without them), and removed.
func TestUpgradeRecord(t *testing.T) {
	for _, tc := range []struct {
		name        string
		s           *settings
		pidfile     string
		stopTimeout time.Duration
	}{
		{"with the parameters", &settings{pidfile: "/run/x/haproxy.pid", stopTimeout: 5 * time.Second}, "/run/x/haproxy.pid", 5 * time.Second},
		{"from the record alone", nil, "", defaultStopTimeout},
	} {
		t.Run(tc.name, func(t *testing.T) {
			name := "shh-legacy-" + strconv.Itoa(os.Getpid())
			defer os.RemoveAll(instance.StateDir(name))
			old := writeLegacy(t, name, v02Record, 0o600)
			rec, err := loadRecord(name, tc.s, nil)
			if err != nil || rec == nil {
				t.Fatalf("converting: %v %v", rec, err)
			}
			if tc.pidfile == "" {
				tc.pidfile = filepath.Join(instance.StateDir(name), "haproxy.pid")
			}
			want := &record{Master: instance.Identity{PID: 4242, Start: 98765, Session: 4242, Exe: "/usr/sbin/haproxy"},
				Converted: true, Socket: "/run/stackha/x/master.sock", Pidfile: tc.pidfile, UIDs: []uint32{0, 108}, StopTimeout: tc.stopTimeout}
			if !reflect.DeepEqual(rec, want) {
				t.Errorf("converted:\n got %+v\nwant %+v", rec, want)
			}
			if _, err := os.Lstat(old); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("0.2's record is still there: %v", err)
			}
			var saved record
			if found, err := instance.Load(name, recordKind, &saved); !found || err != nil || !reflect.DeepEqual(&saved, want) {
				t.Errorf("saved: %v %v %+v", found, err, saved)
			}
			// The next action reads today's record.
			if again, err := loadRecord(name, nil, nil); err != nil || !reflect.DeepEqual(again, want) {
				t.Errorf("read again: %+v %v", again, err)
			}
		})
	}
}

// A record of 0.2 that cannot be believed is an error, and stays where it
// is: never "nothing runs", never half converted.
func TestUpgradeRecordRefused(t *testing.T) {
	name := "shh-legacy-bad-" + strconv.Itoa(os.Getpid())
	defer os.RemoveAll(instance.StateDir(name))
	check := func(what string, want string) {
		t.Helper()
		rec, err := loadRecord(name, nil, nil)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %+v %v, want an error with %q", what, rec, err, want)
		}
		if found, _ := instance.Load(name, recordKind, &record{}); found {
			t.Errorf("%s: converted", what)
		}
	}
	old := writeLegacy(t, name, strings.Replace(v02Record, "start 98765\n", "", 1), 0o600)
	check("a key missing", "no start")
	writeLegacy(t, name, v02Record, 0o666)
	check("others can write it", "others can write it")
	if os.Geteuid() == 0 {
		os.Chmod(old, 0o600)
		os.Chown(old, 65534, 65534)
		check("nobody's", "owned by uid 65534")
		os.Chown(old, 0, 0)
	}
	if _, err := os.Lstat(old); err != nil {
		t.Errorf("0.2's record was removed: %v", err)
	}
}

// 0.2's record in a state directory someone but root can write is not
// believed (the instance layer's UntrustedError).
func TestUpgradeRecordUntrustedDirectory(t *testing.T) {
	require.Root(t)
	name := "shh-legacy-dir-" + strconv.Itoa(os.Getpid())
	defer os.RemoveAll(instance.StateDir(name))
	writeLegacy(t, name, v02Record, 0o600)
	os.Chown(instance.StateDir(name), 65534, 65534)
	_, err := loadRecord(name, nil, nil)
	var u *instance.UntrustedError
	if !errors.As(err, &u) {
		t.Fatalf("0.2's record in nobody's directory: %v", err)
	}
}

// A converted record knows no launcher: it is valid with launcher 0 (and
// only then), and no peer of the stats socket passes for that launcher —
// not even one the kernel reports as pid 0 (another pid namespace).
func TestConvertedRecordHasNoLauncher(t *testing.T) {
	rec := record{Master: instance.Identity{PID: 4242, Start: 98765, Session: 4242, Exe: "/usr/sbin/haproxy"},
		Converted: true, Socket: "/run/x/master.sock", Pidfile: "/run/x/haproxy.pid", UIDs: []uint32{0}, StopTimeout: time.Second}
	if err := rec.check(); err != nil {
		t.Fatalf("converted record: %v", err)
	}
	for _, l := range []int{-1, 1} {
		r := rec
		r.Launcher = l
		if r.check() == nil {
			t.Errorf("converted record with launcher %d accepted", l)
		}
	}
	o := &op{rec: &rec, recRead: true}
	if !o.launcherUnknown() {
		t.Error("the launcher of a converted record is taken as known")
	}
	for _, pid := range []int32{0, int32(os.Getpid())} {
		if err := o.trustPeer(&unix.Ucred{Pid: pid, Uid: 0}); err == nil {
			t.Errorf("peer pid %d taken for the unknown launcher", pid)
		}
	}
}
