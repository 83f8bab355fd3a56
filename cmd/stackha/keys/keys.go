// Package keys copies a keystone key repository (fernet-keys,
// credential-keys) from one node to another without a shared filesystem:
// Pack reads it into a short text stream, Unpack checks a whole stream and
// only then writes it into the repository on another node (`stackha keys
// pack DIR | ssh root@NODE stackha keys unpack DIR`). Both run as root and
// act on a directory the keystone user owns, so neither follows a link:
// the directories are opened component by component (instance.OpenDir),
// each file with openat(O_NOFOLLOW), new files written beside and renamed
// into place, then given to the keystone user.
package keys

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/stackha/stackha/instance"
	"golang.org/x/sys/unix"
)

const (
	header = "stackha-keys 1"
	footer = "end"
	// MaxKeys bounds a repository (keystone's max_active_keys is 3 by
	// default; a rotation every hour kept for a week is 170).
	MaxKeys = 1000
	// MaxStream bounds a stream: MaxKeys lines of an index and a key.
	MaxStream = MaxKeys * 64
	keyLen    = 44 // a Fernet key: 32 bytes in URL-safe base64
	maxIndex  = 1 << 30
)

// Owner is the user and group the repository and its keys belong to
// (keystone's).
type Owner struct{ UID, GID int }

func (o Owner) trust() instance.Trust { return instance.Trust{UID: o.UID, GID: o.GID} }

// Key is one key file: its index (the file's name) and its text.
type Key struct {
	Index int
	Key   string
}

// checkKey refuses anything but a Fernet key: 32 bytes, URL-safe base64.
func checkKey(k string) error {
	if len(k) != keyLen {
		return fmt.Errorf("a key of %d characters, want %d", len(k), keyLen)
	}
	b, err := base64.URLEncoding.DecodeString(k)
	if err != nil || len(b) != 32 {
		return errors.New("not a Fernet key (32 bytes in URL-safe base64)")
	}
	return nil
}

// index parses a key file's name: decimal digits, as keystone writes them.
func index(name string) (int, bool) {
	if name == "" || len(name) > 10 || strings.TrimLeft(name, "0123456789") != "" || len(name) > 1 && name[0] == '0' {
		return 0, false
	}
	i, err := strconv.Atoi(name)
	return i, err == nil && i <= maxIndex
}

// Read reads the repository dir: every file named by an index, each a
// Fernet key. Other names (keystone's own temporary files) are skipped.
func Read(dir string, o Owner) ([]Key, error) {
	d, err := instance.OpenDir(dir, o.trust())
	if err != nil {
		return nil, err
	}
	defer d.Close()
	names, err := list(d)
	if err != nil {
		return nil, err
	}
	var keys []Key
	for _, n := range names {
		i, ok := index(n)
		if !ok {
			continue
		}
		b, err := d.ReadFile(n, 2*keyLen, o.trust())
		if err != nil {
			return nil, err
		}
		k := strings.TrimSpace(string(b))
		if err := checkKey(k); err != nil {
			return nil, fmt.Errorf("%s: %w", filepath.Join(dir, n), err)
		}
		keys = append(keys, Key{i, k})
	}
	sort.Slice(keys, func(a, b int) bool { return keys[a].Index < keys[b].Index })
	return keys, check(keys)
}

// check refuses a repository keystone could not use: no staged key (0), no
// primary (a second key), too many keys.
func check(keys []Key) error {
	switch {
	case len(keys) < 2:
		return fmt.Errorf("%d keys: a repository holds a staged key (0) and a primary at least (keystone-manage fernet_setup)", len(keys))
	case len(keys) > MaxKeys:
		return fmt.Errorf("%d keys: at most %d", len(keys), MaxKeys)
	case keys[0].Index != 0:
		return errors.New("no staged key 0")
	}
	return nil
}

// list returns the names in d.
func list(d *instance.Dir) ([]string, error) {
	fd, err := unix.Openat(d.Fd(), ".", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: d.Path(), Err: err}
	}
	f := os.NewFile(uintptr(fd), d.Path())
	defer f.Close()
	names, err := f.Readdirnames(MaxKeys + 100)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	if len(names) == MaxKeys+100 {
		return nil, fmt.Errorf("%s: more than %d entries", d.Path(), MaxKeys+100)
	}
	return names, nil
}

// Pack writes keys as a stream.
func Pack(w io.Writer, keys []Key) error {
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s %d\n", header, len(keys))
	for _, k := range keys {
		fmt.Fprintf(&b, "%d %s\n", k.Index, k.Key)
	}
	b.WriteString(footer + "\n")
	_, err := w.Write(b.Bytes())
	return err
}

// Parse reads a whole stream (at most MaxStream bytes) and checks it: a
// stream cut short, or anything but keys, is refused as a whole.
func Parse(r io.Reader) ([]Key, error) {
	b, err := io.ReadAll(io.LimitReader(r, MaxStream+1))
	if err != nil {
		return nil, err
	}
	if len(b) > MaxStream {
		return nil, fmt.Errorf("more than %d bytes: not a key stream", MaxStream)
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	if !sc.Scan() || !strings.HasPrefix(sc.Text(), header+" ") {
		return nil, fmt.Errorf("no %q header: not a stream from `stackha keys pack`", header)
	}
	n, err := strconv.Atoi(strings.TrimPrefix(sc.Text(), header+" "))
	if err != nil || n < 0 || n > MaxKeys {
		return nil, errors.New("bad key count in the header")
	}
	var keys []Key
	seen := map[int]bool{}
	for len(keys) < n && sc.Scan() {
		idx, key, ok := strings.Cut(sc.Text(), " ")
		i, good := index(idx)
		if !ok || !good {
			return nil, fmt.Errorf("line %d: want INDEX KEY", len(keys)+2)
		}
		if err := checkKey(key); err != nil {
			return nil, fmt.Errorf("line %d: %w", len(keys)+2, err)
		}
		if seen[i] {
			return nil, fmt.Errorf("line %d: key %d twice", len(keys)+2, i)
		}
		seen[i] = true
		keys = append(keys, Key{i, key})
	}
	if len(keys) < n || !sc.Scan() || sc.Text() != footer || sc.Scan() {
		return nil, errors.New("the stream is cut short or has more after its end: nothing written")
	}
	sort.Slice(keys, func(a, b int) bool { return keys[a].Index < keys[b].Index })
	return keys, check(keys)
}

// Write makes the repository dir hold exactly keys: created when missing
// (mode 0700, in a parent owned by root or o), each key written beside and
// renamed into place (mode 0600), given to o; then the index-named files
// not in keys are removed. The repository always holds every key of the
// old or the new set, so no token is refused while it changes.
func Write(dir string, keys []Key, o Owner) error {
	if err := check(keys); err != nil {
		return err
	}
	if err := instance.CheckPath("directory", dir); err != nil {
		return err
	}
	parent, err := instance.OpenDir(filepath.Dir(dir), o.trust())
	if err != nil {
		return err
	}
	defer parent.Close()
	d, err := parent.Sub(filepath.Base(dir), o.trust(), true, 0o700)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := unix.Fchown(d.Fd(), o.UID, o.GID); err != nil {
		return &os.PathError{Op: "chown", Path: dir, Err: err}
	}
	want := map[string]bool{}
	for _, k := range keys {
		name := strconv.Itoa(k.Index)
		want[name] = true
		if err := d.WriteAtomic(name, []byte(k.Key), 0o600); err != nil {
			return err
		}
		// The file was just renamed in; should anyone have replaced it
		// with a link since, the link itself is changed, not its target.
		if err := unix.Fchownat(d.Fd(), name, o.UID, o.GID, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			return &os.PathError{Op: "chown", Path: filepath.Join(dir, name), Err: err}
		}
	}
	names, err := list(d)
	if err != nil {
		return err
	}
	for _, n := range names {
		if _, ok := index(n); ok && !want[n] {
			if err := d.Remove(n); err != nil {
				return err
			}
		}
	}
	return nil
}
