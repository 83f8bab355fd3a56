package vip

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stackha/stackha/instance"
	"golang.org/x/sys/unix"
)

const stateInst = "shv-state"

func recordPath() string { return filepath.Join(instance.StateDir(stateInst), "vip.record") }

func TestRecordRoundTrip(t *testing.T) {
	stateRoot(t)
	if rec, err := loadRecord(stateInst); rec != nil || err != nil {
		t.Fatalf("before start: %+v, %v", rec, err)
	}
	want := &record{IP: "192.0.2.10", Prefix: 24, Nic: "eth0", Netns: "ns1", Label: "eth0:w", Loopback: "lo",
		Announcer: &instance.Identity{PID: 42, UID: 0, Exe: "/usr/sbin/stackha", Start: 7, Session: 42}}
	if err := instance.Save(stateInst, recordKind, want); err != nil {
		t.Fatal(err)
	}
	got, err := loadRecord(stateInst)
	if err != nil || got == nil || got.IP != want.IP || got.Loopback != "lo" || *got.Announcer != *want.Announcer {
		t.Fatalf("read back %+v, %v", got, err)
	}
	if err := removeRecord(stateInst); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(instance.StateDir(stateInst)); !os.IsNotExist(err) {
		t.Fatalf("state directory left: %v", err)
	}
}

// A record that exists but cannot be read, or cannot be one start wrote, is
// an error, never "no record": stop must not take it for "nothing ran".
func TestRecordRefused(t *testing.T) {
	good := record{IP: "192.0.2.10", Prefix: 24, Nic: "eth0"}
	save := func(rec record) func(t *testing.T) {
		return func(t *testing.T) {
			if err := instance.Save(stateInst, recordKind, &rec); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, c := range []struct {
		name  string
		plant func(t *testing.T)
		want  string
	}{
		{"record is a symlink", func(t *testing.T) {
			target := filepath.Join(t.TempDir(), "elsewhere")
			os.WriteFile(target, []byte(`{}`), 0o600)
			os.Symlink(target, recordPath())
		}, "symbolic link"},
		{"record writable by others", func(t *testing.T) {
			save(good)(t)
			os.Chmod(recordPath(), 0o666)
		}, "others can write it"},
		{"directory writable by others", func(t *testing.T) {
			os.Chmod(instance.StateDir(stateInst), 0o777)
		}, "others can write it"},
		{"record is a FIFO", func(t *testing.T) {
			if err := unix.Mkfifo(recordPath(), 0o600); err != nil {
				t.Fatalf("mkfifo: %v", err)
			}
		}, "not a regular file"},
		{"record truncated", func(t *testing.T) {
			save(good)(t)
			b, _ := os.ReadFile(recordPath())
			os.WriteFile(recordPath(), b[:len(b)/2], 0o600)
		}, "does not parse"},
		{"broken ip", save(record{IP: "192.0.2.", Prefix: 24, Nic: "eth0"}), `ip "192.0.2." is not an address`},
		{"prefix out of range", save(record{IP: "192.0.2.10", Prefix: 33, Nic: "eth0"}), "prefix length 33"},
		{"bad interface", save(record{IP: "192.0.2.10", Prefix: 24, Nic: "a/b"}), "nic"},
		{"nothing to stop", save(record{IP: "192.0.2.10"}), "neither an interface"},
		{"bad namespace", save(record{IP: "192.0.2.10", Prefix: 24, Nic: "eth0", Netns: "../x"}), "netns"},
		{"loopback not a loopback", save(record{IP: "192.0.2.10", Prefix: 24, Nic: "eth0", Loopback: "eth1"}), "not a loopback"},
		{"announcer implausible", save(record{IP: "192.0.2.10", Prefix: 24, Nic: "eth0",
			Announcer: &instance.Identity{PID: 1, Session: 1, Start: 1, Exe: "/x"}}), "implausible"},
		{"announcer without its executable", save(record{IP: "192.0.2.10", Prefix: 24, Nic: "eth0",
			Announcer: &instance.Identity{PID: 42, Session: 42, Start: 1}}), "not an absolute path"},
		{"legacy record truncated", func(t *testing.T) {
			os.WriteFile(filepath.Join(instance.StateDir(stateInst), legacyName), []byte(`{"ip":"192.0.2.10","pre`), 0o600)
		}, "earlier stackha"},
	} {
		t.Run(c.name, func(t *testing.T) {
			stateRoot(t)
			if err := os.MkdirAll(instance.StateDir(stateInst), 0o700); err != nil {
				t.Fatal(err)
			}
			c.plant(t)
			rec, err := loadRecord(stateInst)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("read %+v, %v; want an error with %q", rec, err, c.want)
			}
		})
	}
}

// The record of the release before the instance layer (vip.json, the same
// data without the envelope) is read, and removed with the new one.
func TestLegacyRecord(t *testing.T) {
	stateRoot(t)
	dir := instance.StateDir(stateInst)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	old := `{"ip":"192.0.2.10","prefix":24,"nic":"eth0","loopback":"lo",` +
		`"announcer":{"pid":42,"uid":0,"exe":"/usr/sbin/stackha","start":7,"session":42}}` + "\n"
	if err := os.WriteFile(filepath.Join(dir, legacyName), []byte(old), 0o600); err != nil {
		t.Fatal(err)
	}
	rec, err := loadRecord(stateInst)
	if err != nil || rec == nil || rec.IP != "192.0.2.10" || rec.Loopback != "lo" || rec.Announcer == nil ||
		*rec.Announcer != (instance.Identity{PID: 42, Exe: "/usr/sbin/stackha", Start: 7, Session: 42}) {
		t.Fatalf("legacy record read as %+v, %v", rec, err)
	}
	if err := removeRecord(stateInst); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("state directory left: %v", err)
	}
}
