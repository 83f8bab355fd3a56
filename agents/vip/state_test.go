package vip

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stackha/stackha/ocf"
	"golang.org/x/sys/unix"
)

func stateIn(t *testing.T) (dir string, r *ocf.Request) {
	t.Helper()
	saved := stateBase
	t.Cleanup(func() { stateBase = saved })
	stateBase = t.TempDir()
	return stateBase, &ocf.Request{Agent: "vip", Instance: "shv-state"}
}

func TestRecordRoundTrip(t *testing.T) {
	dir, r := stateIn(t)
	if rec, err := readRecord(r); rec != nil || err != nil {
		t.Fatalf("before start: %+v, %v", rec, err)
	}
	want := &record{IP: "192.0.2.10", Prefix: 24, Nic: "eth0", Netns: "ns1", Label: "eth0:w", Loopback: "lo",
		Announcer: &procID{Pid: 42, UID: 0, Exe: "/usr/sbin/stackha", Start: 7, Session: 42}}
	if err := writeRecord(r, want); err != nil {
		t.Fatal(err)
	}
	got, err := readRecord(r)
	if err != nil || got == nil || got.IP != want.IP || got.Loopback != "lo" || *got.Announcer != *want.Announcer {
		t.Fatalf("read back %+v, %v", got, err)
	}
	st, err := os.Stat(filepath.Join(dir, "shv-state", recordName))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("record file: %v %v", st, err)
	}
	ents, _ := os.ReadDir(filepath.Join(dir, "shv-state"))
	if len(ents) != 1 {
		t.Fatalf("temporary files left: %v", ents)
	}
	if err := removeState(r); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "shv-state")); !os.IsNotExist(err) {
		t.Fatalf("state directory left: %v", err)
	}
}

// A record or directory that is a link, writable by others, or too big is
// refused: it is not ours to trust.
func TestRecordRefused(t *testing.T) {
	for _, c := range []struct {
		name  string
		plant func(t *testing.T, inst string)
		want  string
	}{
		{"record is a symlink", func(t *testing.T, inst string) {
			target := filepath.Join(t.TempDir(), "elsewhere")
			os.WriteFile(target, []byte(`{"ip":"192.0.2.99"}`), 0o600)
			os.Symlink(target, filepath.Join(inst, recordName))
		}, "too many levels of symbolic links"},
		{"directory is a symlink", func(t *testing.T, inst string) {
			os.Remove(inst)
			os.Symlink(t.TempDir(), inst)
		}, "not a directory"},
		{"record writable by others", func(t *testing.T, inst string) {
			p := filepath.Join(inst, recordName)
			os.WriteFile(p, []byte(`{"ip":"192.0.2.99"}`), 0o600)
			os.Chmod(p, 0o666)
		}, "writable by group or others"},
		{"directory writable by others", func(t *testing.T, inst string) {
			os.Chmod(inst, 0o777)
		}, "writable by group or others"},
		{"record is a FIFO", func(t *testing.T, inst string) {
			if err := mkfifo(filepath.Join(inst, recordName)); err != nil {
				t.Fatalf("mkfifo: %v", err)
			}
		}, "not a regular file"},
		{"record too big", func(t *testing.T, inst string) {
			os.WriteFile(filepath.Join(inst, recordName), []byte(`{"ip":"`+strings.Repeat("1", maxRecord)+`"}`), 0o600)
		}, "larger than"},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir, r := stateIn(t)
			inst := filepath.Join(dir, r.Instance)
			if err := os.Mkdir(inst, 0o700); err != nil {
				t.Fatal(err)
			}
			c.plant(t, inst)
			rec, err := readRecord(r)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("read %+v, %v; want an error with %q", rec, err, c.want)
			}
		})
	}
}

func TestInstanceName(t *testing.T) {
	for inst, ok := range map[string]bool{
		"vip-public": true, "p_vip:0": true, "a.b_c": true,
		"../../etc": false, "a/b": false, ".hidden": false, "-x": false, "a b": false, "x\n": false,
		strings.Repeat("a", 201): false,
	} {
		_, err := instanceName(&ocf.Request{Agent: "vip", Instance: inst})
		if (err == nil) != ok {
			t.Errorf("%q: %v", inst, err)
		}
		if err != nil && ocf.CodeOf(err) != ocf.ErrArgs {
			t.Errorf("%q: code %d", inst, ocf.CodeOf(err))
		}
	}
}

func mkfifo(p string) error { return unix.Mkfifo(p, 0o600) }
