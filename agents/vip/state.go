package vip

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/stackha/stackha/ocf"
	"golang.org/x/sys/unix"
)

// What start set up is recorded in the instance's state directory, so that
// stop removes exactly that, even when today's parameters no longer parse,
// and ends only the announcer it started. The directory is ours: owned by
// the agent's user (root), not writable by anyone else, and every file in it
// is opened without following links and checked with fstat.

// stateBase is the parent of the instance directories (tests use a temp
// directory).
var stateBase = "/run/stackha"

const (
	recordName = "vip.json"
	maxRecord  = 4096
)

// record is what start set up.
type record struct {
	IP             string `json:"ip"`
	Prefix         int    `json:"prefix"`
	Nic            string `json:"nic"`
	Netns          string `json:"netns,omitempty"`
	Label          string `json:"label,omitempty"`
	FlushRoutes    bool   `json:"flush_routes,omitempty"`
	AddrLabel      bool   `json:"addrlabel,omitempty"`
	AddrLabelValue uint32 `json:"addrlabel_value,omitempty"`
	// Loopback is the interface LVS support took the address from.
	Loopback  string  `json:"loopback,omitempty"`
	Announcer *procID `json:"announcer,omitempty"`
}

// instanceName checks OCF_RESOURCE_INSTANCE before it names a directory:
// Pacemaker's ids are XML ids, a hand-run agent could pass anything.
func instanceName(r *ocf.Request) (string, error) {
	inst := r.Instance
	if inst == "" {
		inst = r.Agent
	}
	if inst == "" || len(inst) > 200 || inst[0] == '.' || inst[0] == '-' {
		return "", ocf.Args("resource instance %q is not a valid id", clip(inst))
	}
	for _, c := range inst {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.' || c == ':') {
			return "", ocf.Args("resource instance %q is not a valid id", clip(inst))
		}
	}
	return inst, nil
}

func clip(s string) string {
	if len(s) > 64 {
		return s[:64] + "..."
	}
	return s
}

// checkOurs checks that an open file is what we want (a directory or a
// regular file) owned by us and not writable by group or others.
func checkOurs(fd int, name string, dir bool) error {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	want := uint32(unix.S_IFREG)
	if dir {
		want = unix.S_IFDIR
	}
	switch {
	case st.Mode&unix.S_IFMT != want:
		return fmt.Errorf("%s: not a %s", name, map[bool]string{true: "directory", false: "regular file"}[dir])
	case int(st.Uid) != os.Geteuid():
		return fmt.Errorf("%s: owned by uid %d, not by us", name, st.Uid)
	case st.Mode&0o022 != 0:
		return fmt.Errorf("%s: writable by group or others (mode %#o)", name, st.Mode&0o777)
	}
	return nil
}

// openStateDir opens (creating with create) the instance's directory,
// checked, without following links: the returned fd is for *at calls.
func openStateDir(r *ocf.Request, create bool) (int, string, error) {
	inst, err := instanceName(r)
	if err != nil {
		return -1, "", err
	}
	if create {
		if err := os.MkdirAll(stateBase, 0o755); err != nil {
			return -1, "", fmt.Errorf("state directory: %w", err)
		}
	}
	base, err := unix.Open(stateBase, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, "", fmt.Errorf("state directory %s: %w", stateBase, err)
	}
	defer unix.Close(base)
	if err := checkOurs(base, stateBase, true); err != nil {
		return -1, "", fmt.Errorf("state directory: %w", err)
	}
	path := filepath.Join(stateBase, inst)
	if create {
		if err := unix.Mkdirat(base, inst, 0o700); err != nil && !errors.Is(err, unix.EEXIST) {
			return -1, "", fmt.Errorf("state directory %s: %w", path, err)
		}
	}
	fd, err := unix.Openat(base, inst, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, "", fmt.Errorf("state directory %s: %w", path, err)
	}
	if err := checkOurs(fd, path, true); err != nil {
		unix.Close(fd)
		return -1, "", fmt.Errorf("state directory: %w", err)
	}
	return fd, path, nil
}

// writeRecord replaces the record atomically: a new file created
// exclusively (never through a link), written, synced, renamed over.
func writeRecord(r *ocf.Request, rec *record) error {
	b, err := json.Marshal(rec)
	if err != nil {
		return fmt.Errorf("encoding the state record: %w", err)
	}
	dir, path, err := openStateDir(r, true)
	if err != nil {
		return err
	}
	defer unix.Close(dir)
	var rnd [6]byte
	rand.Read(rnd[:])
	tmp := "." + recordName + "." + hex.EncodeToString(rnd[:])
	fd, err := unix.Openat(dir, tmp, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return fmt.Errorf("state record in %s: %w", path, err)
	}
	f := os.NewFile(uintptr(fd), filepath.Join(path, tmp))
	_, werr := f.Write(append(b, '\n'))
	if werr == nil {
		werr = f.Sync()
	}
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = unix.Renameat(dir, tmp, dir, recordName)
	}
	if werr != nil {
		unix.Unlinkat(dir, tmp, 0)
		return fmt.Errorf("writing the state record in %s: %w", path, werr)
	}
	return nil
}

// readRecord reads the record; nil, nil when there is none.
func readRecord(r *ocf.Request) (*record, error) {
	dir, path, err := openStateDir(r, false)
	if errors.Is(err, unix.ENOENT) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer unix.Close(dir)
	fd, err := unix.Openat(dir, recordName, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if errors.Is(err, unix.ENOENT) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("state record in %s: %w", path, err)
	}
	f := os.NewFile(uintptr(fd), filepath.Join(path, recordName))
	defer f.Close()
	if err := checkOurs(fd, f.Name(), false); err != nil {
		return nil, fmt.Errorf("state record: %w", err)
	}
	b, err := io.ReadAll(io.LimitReader(f, maxRecord+1))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", f.Name(), err)
	}
	if len(b) > maxRecord {
		return nil, fmt.Errorf("state record %s is larger than %d bytes", f.Name(), maxRecord)
	}
	var rec record
	if err := json.Unmarshal(b, &rec); err != nil {
		return nil, fmt.Errorf("state record %s: %w", f.Name(), err)
	}
	return &rec, nil
}

// removeState deletes the record and then the directory (when empty).
func removeState(r *ocf.Request) error {
	dir, path, err := openStateDir(r, false)
	if errors.Is(err, unix.ENOENT) {
		return nil
	}
	if err != nil {
		return err
	}
	err = unix.Unlinkat(dir, recordName, 0)
	unix.Close(dir)
	if err != nil && !errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("removing the state record in %s: %w", path, err)
	}
	if inst, err := instanceName(r); err == nil {
		os.Remove(filepath.Join(stateBase, inst)) // only when empty
	}
	return nil
}
