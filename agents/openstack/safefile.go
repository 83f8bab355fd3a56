package openstack

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// trust names who besides root may own the agent's files and directories:
// the service's user and group (or root again, for the state directory).
type trust struct{ uid, gid int }

func (t trust) owner(uid uint32) bool { return uid == 0 || int(uid) == t.uid }
func (t trust) group(gid uint32) bool { return gid == 0 || int(gid) == t.gid }

// dir is a directory opened for *at operations after checking that no
// symbolic link leads to it, that root or the trusted user owns it, that
// others cannot write it, and that a group that can is root's or the
// trusted one. Everything done through it acts on that directory, whatever
// is renamed meanwhile.
type dir struct {
	path string
	fd   int
}

// openDir opens path as a trusted directory (see dir).
func openDir(path string, t trust) (*dir, error) {
	if real, err := filepath.EvalSymlinks(path); err != nil {
		return nil, err
	} else if real != path {
		return nil, fmt.Errorf("directory %s leads through a symbolic link (to %s)", path, real)
	}
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		unix.Close(fd)
		return nil, &os.PathError{Op: "stat", Path: path, Err: err}
	}
	switch {
	case !t.owner(st.Uid):
		err = fmt.Errorf("directory %s is owned by uid %d, not by root or the service user", path, st.Uid)
	case st.Mode&0o002 != 0:
		err = fmt.Errorf("directory %s has mode %04o: others can write it", path, st.Mode&0o7777)
	case st.Mode&0o020 != 0 && !t.group(st.Gid):
		err = fmt.Errorf("directory %s has mode %04o: its group %d can write it", path, st.Mode&0o7777, st.Gid)
	}
	if err != nil {
		unix.Close(fd)
		return nil, err
	}
	return &dir{path: path, fd: fd}, nil
}

func (d *dir) close() { unix.Close(d.fd) }

// open opens name in d without following a link (and without blocking on a
// FIFO), and checks it is a regular file with one link owned by root or
// the trusted user.
func (d *dir) open(name string, flags int, perm uint32, t trust) (*os.File, unix.Stat_t, error) {
	var st unix.Stat_t
	fd, err := unix.Openat(d.fd, name, flags|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC, perm)
	if err != nil {
		if errors.Is(err, unix.ELOOP) {
			err = errors.New("it is a symbolic link")
		}
		return nil, st, &os.PathError{Op: "open", Path: filepath.Join(d.path, name), Err: err}
	}
	f := os.NewFile(uintptr(fd), filepath.Join(d.path, name))
	if err := unix.Fstat(fd, &st); err != nil {
		f.Close()
		return nil, st, &os.PathError{Op: "stat", Path: f.Name(), Err: err}
	}
	switch {
	case st.Mode&unix.S_IFMT != unix.S_IFREG:
		err = fmt.Errorf("%s is not a regular file", f.Name())
	case st.Nlink != 1:
		err = fmt.Errorf("%s has %d links: want exactly one", f.Name(), st.Nlink)
	case !t.owner(st.Uid):
		err = fmt.Errorf("%s is owned by uid %d, not by root or the service user", f.Name(), st.Uid)
	}
	if err != nil {
		f.Close()
		return nil, st, err
	}
	return f, st, nil
}

// readSmall reads name (see open) up to max bytes.
func (d *dir) readSmall(name string, max int64, t trust) ([]byte, error) {
	f, _, err := d.open(name, unix.O_RDONLY, 0, t)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > max {
		return nil, fmt.Errorf("%s is larger than %d bytes", f.Name(), max)
	}
	return b, nil
}

// writeAtomic replaces name in d with b: a temporary file of a unique name,
// created with O_EXCL|O_NOFOLLOW (it cannot be a link planted in advance),
// then renamed over name (which replaces a link rather than following it).
func (d *dir) writeAtomic(name string, b []byte, perm uint32) error {
	var rnd [8]byte
	rand.Read(rnd[:])
	tmp := "." + name + "." + hex.EncodeToString(rnd[:]) + ".tmp"
	fd, err := unix.Openat(d.fd, tmp, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, perm)
	if err != nil {
		return &os.PathError{Op: "create", Path: filepath.Join(d.path, tmp), Err: err}
	}
	f := os.NewFile(uintptr(fd), filepath.Join(d.path, tmp))
	_, err = f.Write(b)
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

// remove unlinks name in d (a link itself, never what it points to).
func (d *dir) remove(name string) error {
	if err := unix.Unlinkat(d.fd, name, 0); err != nil && !errors.Is(err, unix.ENOENT) {
		return &os.PathError{Op: "remove", Path: filepath.Join(d.path, name), Err: err}
	}
	return nil
}

// writeFileAtomic replaces path with b (see dir.writeAtomic); its directory
// must be trusted (see dir).
func writeFileAtomic(path string, b []byte, perm uint32, t trust) error {
	d, err := openDir(filepath.Dir(path), t)
	if err != nil {
		return err
	}
	defer d.close()
	return d.writeAtomic(filepath.Base(path), b, perm)
}
