package instance

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// The rules for files and directories, written once.
//
// A path is never resolved by the kernel in one go: it is opened one
// component at a time from "/", each with O_NOFOLLOW (a symbolic link
// anywhere fails with a reason) and checked with fstat on what was opened,
// so a rename or a planted link between the check and the use changes
// nothing. Every component must be owned by root (or by us, when the agent
// does not run as root: tests), or by the Trust's user. A directory others
// can write is accepted only as an ancestor with the sticky bit (/tmp); one
// its group can write only when that group is root's or the Trust's. A file
// is opened with openat(O_NOFOLLOW|O_NONBLOCK) in such a directory and must
// be a regular file with one link, owned as above, that others cannot
// write.

// Trust names who besides root may own the files and directories on a path,
// and whose group may write them: a service's user and group for its log
// or pid file, RootOnly for what root reads and acts on.
type Trust struct{ UID, GID int }

// RootOnly is the trust of the state directory, the records and every file
// root reads to decide what to do: only root (or, for a test run as
// another user, that user) owns it and can write it.
var RootOnly = Trust{UID: -1, GID: -1}

func (t Trust) owner(uid uint32) bool {
	return uid == 0 || uid == uint32(os.Geteuid()) || t.UID >= 0 && uid == uint32(t.UID)
}

func (t Trust) group(gid uint32) bool { return gid == 0 || t.GID >= 0 && gid == uint32(t.GID) }

// Dir is a directory opened after the checks above, for *at calls: what is
// done through it acts on that directory, whatever is renamed meanwhile.
type Dir struct {
	path string
	fd   int
}

// Path is the path the directory was opened by.
func (d *Dir) Path() string { return d.path }

// Fd is the open directory, for *at calls of the caller's own.
func (d *Dir) Fd() int { return d.fd }

// Close closes the directory.
func (d *Dir) Close() {
	if d != nil && d.fd >= 0 {
		unix.Close(d.fd)
		d.fd = -1
	}
}

// CheckPath refuses a path that is not absolute and clean (no "..", no
// "//", no trailing "/"), naming the parameter.
func CheckPath(param, p string) error {
	if !filepath.IsAbs(p) || filepath.Clean(p) != p {
		return fmt.Errorf("%s=%s: an absolute, clean path is needed (no \"..\", \"//\" or trailing \"/\")", param, Quote(p))
	}
	return nil
}

// OpenDir opens the directory path (absolute, clean), every component
// checked (see the rules above); an error wraps os.ErrNotExist when a
// component is missing.
func OpenDir(path string, t Trust) (*Dir, error) {
	return walk(path, t, false, 0)
}

// MkdirAll opens the directory path like OpenDir, creating each missing
// component with mode (owned by the caller: root) on the way; nothing is
// ever created through a link or in a directory that fails the checks.
func MkdirAll(path string, t Trust, mode uint32) (*Dir, error) {
	return walk(path, t, true, mode)
}

func walk(path string, t Trust, create bool, mode uint32) (*Dir, error) {
	if err := CheckPath("directory", path); err != nil {
		return nil, err
	}
	fd, err := unix.Open("/", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: "/", Err: err}
	}
	d := &Dir{path: "/", fd: fd}
	if err := checkDir(d, t, path == "/"); err != nil {
		d.Close()
		return nil, err
	}
	if path == "/" {
		return d, nil
	}
	parts := strings.Split(path[1:], "/")
	for i, name := range parts {
		sub, err := d.sub(name, t, create, mode, i == len(parts)-1)
		d.Close()
		if err != nil {
			return nil, err
		}
		d = sub
	}
	return d, nil
}

// Sub opens the directory name in d (one component), checked as the last
// component of a path; with create, a missing one is made with mode.
func (d *Dir) Sub(name string, t Trust, create bool, mode uint32) (*Dir, error) {
	if err := checkName(name); err != nil {
		return nil, err
	}
	return d.sub(name, t, create, mode, true)
}

func (d *Dir) sub(name string, t Trust, create bool, mode uint32, leaf bool) (*Dir, error) {
	p := filepath.Join(d.path, name)
	const flags = unix.O_RDONLY | unix.O_DIRECTORY | unix.O_NOFOLLOW | unix.O_CLOEXEC
	fd, err := unix.Openat(d.fd, name, flags, 0)
	if errors.Is(err, unix.ENOENT) && create {
		if err = unix.Mkdirat(d.fd, name, mode); err == nil || errors.Is(err, unix.EEXIST) {
			fd, err = unix.Openat(d.fd, name, flags, 0)
		}
	}
	if err != nil {
		return nil, pathErr("open", p, err)
	}
	s := &Dir{path: p, fd: fd}
	if err := checkDir(s, t, leaf); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

func pathErr(op, p string, err error) error {
	switch {
	case errors.Is(err, unix.ELOOP):
		err = fmt.Errorf("%w: it is a symbolic link, which is never followed", err)
	case errors.Is(err, unix.ENOTDIR):
		err = fmt.Errorf("%w: a component is not a directory (or is a symbolic link)", err)
	}
	return &os.PathError{Op: op, Path: p, Err: err}
}

func checkDir(d *Dir, t Trust, leaf bool) error {
	var st unix.Stat_t
	if err := unix.Fstat(d.fd, &st); err != nil {
		return &os.PathError{Op: "stat", Path: d.path, Err: err}
	}
	perm := st.Mode & 0o7777
	switch {
	case !t.owner(st.Uid):
		return fmt.Errorf("directory %s is owned by uid %d, not by root%s", d.path, st.Uid, t.whom())
	case perm&0o002 != 0 && (leaf || perm&unix.S_ISVTX == 0):
		return fmt.Errorf("directory %s has mode %04o: others can write it", d.path, perm)
	case perm&0o020 != 0 && !t.group(st.Gid):
		return fmt.Errorf("directory %s has mode %04o: its group %d can write it", d.path, perm, st.Gid)
	}
	return nil
}

func (t Trust) whom() string {
	if t.UID < 0 {
		return ""
	}
	return fmt.Sprintf(" or uid %d", t.UID)
}

func checkName(name string) error {
	if name == "" || name == "." || name == ".." || strings.ContainsRune(name, '/') {
		return fmt.Errorf("%s is not a file name", Quote(name))
	}
	return nil
}

// OpenFile opens name in d with flags (O_NOFOLLOW, O_NONBLOCK and O_CLOEXEC
// added) and checks what was opened: a regular file with one link, owned by
// root or the Trust's user, that others cannot write (nor a group other than
// root's or the Trust's). With O_CREAT a new file gets perm, whatever the
// umask; an existing file keeps its mode. O_TRUNC is done
// after the checks: a file refused is left as it was. The file's
// O_NONBLOCK (there only so that a FIFO cannot block the open) is cleared.
func (d *Dir) OpenFile(name string, flags int, perm uint32, t Trust) (*os.File, unix.Stat_t, error) {
	var st unix.Stat_t
	if err := checkName(name); err != nil {
		return nil, st, err
	}
	p := filepath.Join(d.path, name)
	trunc := flags&unix.O_TRUNC != 0
	fd, created, err := d.openat(name, flags&^unix.O_TRUNC|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC, perm)
	if err != nil {
		return nil, st, pathErr("open", p, err)
	}
	if created {
		if err := unix.Fchmod(fd, perm); err != nil { // the umask does not decide
			unix.Close(fd)
			return nil, st, &os.PathError{Op: "chmod", Path: p, Err: err}
		}
	}
	if err := unix.Fstat(fd, &st); err != nil {
		unix.Close(fd)
		return nil, st, &os.PathError{Op: "stat", Path: p, Err: err}
	}
	if err := checkFile(p, &st, t); err != nil {
		unix.Close(fd)
		return nil, st, err
	}
	if trunc && st.Size != 0 {
		if err := unix.Ftruncate(fd, 0); err != nil {
			unix.Close(fd)
			return nil, st, &os.PathError{Op: "truncate", Path: p, Err: err}
		}
		st.Size = 0
	}
	if err := unix.SetNonblock(fd, false); err != nil {
		unix.Close(fd)
		return nil, st, &os.PathError{Op: "fcntl", Path: p, Err: err}
	}
	return os.NewFile(uintptr(fd), p), st, nil
}

// openat opens name in d and reports whether it created it: with O_CREAT
// and without O_EXCL, it opens an existing file first (the common case: one
// system call) and creates a missing one with O_EXCL. A link is never
// followed either way: the caller's O_NOFOLLOW refuses one, O_EXCL fails on
// one.
func (d *Dir) openat(name string, flags int, perm uint32) (fd int, created bool, err error) {
	if flags&unix.O_CREAT == 0 || flags&unix.O_EXCL != 0 {
		fd, err = unix.Openat(d.fd, name, flags, perm)
		return fd, err == nil && flags&unix.O_CREAT != 0, err
	}
	for range 3 { // a file created or removed between the two opens: again
		fd, err = unix.Openat(d.fd, name, flags&^unix.O_CREAT, 0)
		if !errors.Is(err, unix.ENOENT) {
			return fd, false, err
		}
		fd, err = unix.Openat(d.fd, name, flags|unix.O_EXCL, perm)
		if !errors.Is(err, unix.EEXIST) {
			return fd, err == nil, err
		}
	}
	return -1, false, err
}

func checkFile(p string, st *unix.Stat_t, t Trust) error {
	perm := st.Mode & 0o7777
	switch {
	case st.Mode&unix.S_IFMT != unix.S_IFREG:
		return fmt.Errorf("%s is not a regular file", p)
	case st.Nlink != 1:
		return fmt.Errorf("%s has %d links: want exactly one", p, st.Nlink)
	case !t.owner(st.Uid):
		return fmt.Errorf("%s is owned by uid %d, not by root%s", p, st.Uid, t.whom())
	case perm&0o002 != 0:
		return fmt.Errorf("%s has mode %04o: others can write it", p, perm)
	case perm&0o020 != 0 && !t.group(st.Gid):
		return fmt.Errorf("%s has mode %04o: its group %d can write it", p, perm, st.Gid)
	}
	return nil
}

// ReadFile reads name in d (see OpenFile) when it holds at most max bytes.
func (d *Dir) ReadFile(name string, max int64, t Trust) ([]byte, error) {
	f, _, err := d.OpenFile(name, unix.O_RDONLY, 0, t)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", f.Name(), err)
	}
	if int64(len(b)) > max {
		return nil, fmt.Errorf("%s is larger than %d bytes", f.Name(), max)
	}
	return b, nil
}

// WriteAtomic replaces name in d with data: a temporary file of a random
// name created with O_EXCL|O_NOFOLLOW (never a link planted in advance),
// written, synced, then renamed over name (which replaces a link rather
// than following it).
func (d *Dir) WriteAtomic(name string, data []byte, perm uint32) error {
	if err := checkName(name); err != nil {
		return err
	}
	var rnd [8]byte
	rand.Read(rnd[:])
	tmp := "." + name + "." + hex.EncodeToString(rnd[:]) + ".tmp"
	fd, err := unix.Openat(d.fd, tmp, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, perm)
	if err != nil {
		return pathErr("create", filepath.Join(d.path, tmp), err)
	}
	f := os.NewFile(uintptr(fd), filepath.Join(d.path, tmp))
	_, err = f.Write(data)
	if err == nil {
		err = f.Chmod(os.FileMode(perm)) // the umask does not decide
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = unix.Renameat(d.fd, tmp, d.fd, name)
	}
	if err != nil {
		unix.Unlinkat(d.fd, tmp, 0)
		return fmt.Errorf("writing %s: %w", filepath.Join(d.path, name), err)
	}
	return nil
}

// Remove unlinks name in d (a link itself, never what it points to); a
// missing name is no error.
func (d *Dir) Remove(name string) error {
	if err := checkName(name); err != nil {
		return err
	}
	if err := unix.Unlinkat(d.fd, name, 0); err != nil && !errors.Is(err, unix.ENOENT) {
		return &os.PathError{Op: "remove", Path: filepath.Join(d.path, name), Err: err}
	}
	return nil
}

// RemoveDir removes the empty directory name in d; a missing or non-empty
// one is left without an error.
func (d *Dir) RemoveDir(name string) error {
	if err := checkName(name); err != nil {
		return err
	}
	err := unix.Unlinkat(d.fd, name, unix.AT_REMOVEDIR)
	if err != nil && !errors.Is(err, unix.ENOENT) && !errors.Is(err, unix.ENOTEMPTY) && !errors.Is(err, unix.EEXIST) {
		return &os.PathError{Op: "remove", Path: filepath.Join(d.path, name), Err: err}
	}
	return nil
}

// OpenPath opens the file path (see OpenDir and OpenFile): its directory
// checked component by component, the file with openat.
func OpenPath(path string, flags int, perm uint32, t Trust) (*os.File, unix.Stat_t, error) {
	if err := CheckPath("file", path); err != nil {
		return nil, unix.Stat_t{}, err
	}
	d, err := OpenDir(filepath.Dir(path), t)
	if err != nil {
		return nil, unix.Stat_t{}, err
	}
	defer d.Close()
	return d.OpenFile(filepath.Base(path), flags, perm, t)
}

// ReadPath reads the file path (see OpenPath) when it holds at most max
// bytes.
func ReadPath(path string, max int64, t Trust) ([]byte, error) {
	if err := CheckPath("file", path); err != nil {
		return nil, err
	}
	d, err := OpenDir(filepath.Dir(path), t)
	if err != nil {
		return nil, err
	}
	defer d.Close()
	return d.ReadFile(filepath.Base(path), max, t)
}
