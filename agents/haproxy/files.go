package haproxy

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/stackha/stackha/instance"
	"github.com/stackha/stackha/ocf"
)

// Every file the agent reads or writes as root goes through the instance
// layer's rules (instance.OpenDir, OpenPath, Dir.OpenFile, WriteAtomic): a
// path is walked component by component without following links, in
// directories only root can change, and files are checked with fstat. What
// haproxy runs as root (its binary, its configuration) must be root's alone
// (instance.RootOnly). A file named by a parameter is removed only when it
// is what it should be: the master socket when it is a socket, the pid file
// when it parses as this master's pid file.

// fileErr gives a failure to open a file the agent needs its exit code: a
// file missing here is 5 (it may exist on the other nodes), one root may
// not read is 4, one that fails the ownership rules is 6, with the reason
// naming the file.
func fileErr(what string, err error) error {
	var pe *fs.PathError
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return ocf.Installed("%s: %w", what, err)
	case errors.Is(err, fs.ErrPermission):
		return ocf.Perm("%s: %w", what, err)
	case errors.As(err, &pe) && !errors.Is(err, unix.ELOOP) && !errors.Is(err, unix.ENOTDIR):
		return ocf.Installed("%s: %w", what, err)
	}
	return ocf.Configured("%s: %w (haproxy runs it as root: it must be root's alone, in directories only root can write)", what, err)
}

// maxConfigFile bounds one configuration file.
const maxConfigFile = 64 << 20

// readTrusted reads the file path (resolved: no link in it) under the
// RootOnly rules, refusing one larger than max before reading it.
func readTrusted(path string, max int64) ([]byte, error) {
	if err := instance.CheckPath("file", path); err != nil {
		return nil, err
	}
	d, err := instance.OpenDir(filepath.Dir(path), instance.RootOnly)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	f, st, err := d.OpenFile(filepath.Base(path), unix.O_RDONLY, 0, instance.RootOnly)
	d.Close()
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if st.Size > max {
		return nil, fmt.Errorf("%s is larger than %d MiB", path, max>>20)
	}
	b, err := io.ReadAll(io.LimitReader(f, max))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	return b, nil
}

// ConfigFiles expands the configured paths the way haproxy's -f does (a
// directory stands for its non-hidden regular files ending in ".cfg", in
// byte order) and resolves each to the file haproxy will read, links
// followed: the agent checks and hands haproxy those paths, in which no
// link is left for anyone to swap.
func ConfigFiles(paths []string) ([]string, error) {
	var out []string
	for _, p := range paths {
		real, err := filepath.EvalSymlinks(p)
		if err != nil {
			return nil, err
		}
		st, err := os.Lstat(real)
		if err != nil {
			return nil, err
		}
		if !st.IsDir() {
			out = append(out, real)
			continue
		}
		names, err := rootDirNames(real)
		if err != nil {
			return nil, err
		}
		var files []string
		for _, n := range names {
			if strings.HasPrefix(n, ".") || !strings.HasSuffix(n, ".cfg") {
				continue
			}
			f, err := filepath.EvalSymlinks(filepath.Join(real, n))
			if err != nil {
				continue
			}
			if fi, err := os.Lstat(f); err != nil || !fi.Mode().IsRegular() {
				continue // haproxy skips what is not a regular file
			}
			files = append(files, f)
		}
		sort.Strings(files)
		out = append(out, files...)
	}
	return out, nil
}

// rootDirNames lists the names in dir, opened as a directory of root's
// alone.
func rootDirNames(dir string) ([]string, error) {
	d, err := instance.OpenDir(dir, instance.RootOnly)
	if err != nil {
		return nil, err
	}
	defer d.Close()
	return readDirNames(d)
}

// readDirNames lists the names in the opened directory d.
func readDirNames(d *instance.Dir) ([]string, error) {
	fd, err := unix.Dup(d.Fd())
	if err != nil {
		return nil, &os.PathError{Op: "dup", Path: d.Path(), Err: err}
	}
	f := os.NewFile(uintptr(fd), d.Path())
	defer f.Close()
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	return f.Readdirnames(-1)
}

// maxPidfile bounds a pid file: haproxy writes one pid per line.
const maxPidfile = 4096

// readPidfile returns the pid in path; 0 and no error when the file does not
// exist. A file in a directory that is not root's alone, a link, a file
// that is not regular, or one that does not parse is an error.
func readPidfile(path string) (int, error) {
	b, err := instance.ReadPath(path, maxPidfile, instance.RootOnly)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("reading pid file: %w", err)
	}
	return parsePidfile(path, b)
}

func parsePidfile(path string, b []byte) (int, error) {
	// haproxy writes one pid per line; the master's is the first.
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	pid := 0
	for i, l := range lines {
		n, err := strconv.Atoi(strings.TrimSpace(l))
		if err != nil || n <= 0 || n > maxPID {
			return 0, fmt.Errorf("pid file %s holds %s, not a pid file", path, instance.Quote(firstLine(string(b))))
		}
		if i == 0 {
			pid = n
		}
	}
	return pid, nil
}

// maxPID is the largest pid Linux hands out (pid_max's limit).
const maxPID = 1 << 22

// firstLine is the first line of s (to be quoted).
func firstLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	return s
}

// openParent opens the directory of path under the RootOnly rules; nil
// and no error when it does not exist.
func openParent(path string) (*instance.Dir, error) {
	d, err := instance.OpenDir(filepath.Dir(path), instance.RootOnly)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("%s left alone: %w", path, err)
	}
	return d, nil
}

// removeSocket removes path when it is a socket; anything else is left
// alone and reported.
func removeSocket(path string) error {
	d, err := openParent(path)
	if d == nil {
		return err
	}
	defer d.Close()
	var st unix.Stat_t
	if err := unix.Fstatat(d.Fd(), filepath.Base(path), &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		if errors.Is(err, unix.ENOENT) {
			return nil
		}
		return &os.PathError{Op: "stat", Path: path, Err: err}
	}
	if st.Mode&unix.S_IFMT != unix.S_IFSOCK {
		return fmt.Errorf("%s is not a socket (mode %o): left alone", path, st.Mode)
	}
	return d.Remove(filepath.Base(path))
}

// removePidfile removes path when it is a regular file that parses as a pid
// file (and, when want is not 0, names want first).
func removePidfile(path string, want int) error {
	d, err := openParent(path)
	if d == nil {
		return err
	}
	defer d.Close()
	b, err := d.ReadFile(filepath.Base(path), maxPidfile, instance.RootOnly)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("%w: left alone", err)
	}
	pid, err := parsePidfile(path, b)
	if err != nil {
		return fmt.Errorf("%w: left alone", err)
	}
	if want != 0 && pid != want {
		return fmt.Errorf("pid file %s names pid %d, not this haproxy's master %d: left alone", path, pid, want)
	}
	return d.Remove(filepath.Base(path))
}

// writeServerState writes the servers' state where haproxy will read it:
// with *at calls in a directory chain only root can change (created when
// missing), never through a link.
func writeServerState(path string, data []byte) error {
	d, err := instance.MkdirAll(filepath.Dir(path), instance.RootOnly, 0o700)
	if err != nil {
		return fmt.Errorf("server state file %s: %w", path, err)
	}
	defer d.Close()
	return d.WriteAtomic(filepath.Base(path), data, 0o600)
}
