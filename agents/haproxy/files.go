package haproxy

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// Files of ours live in a directory that is root-owned and not writable by
// others (every ancestor too, unless it is sticky like /tmp), or are opened
// without following links and checked with fstat before use. A file named
// by a parameter is removed only when it is what it should be: the master
// socket when it is a socket, the pid file when it parses as a pid file.

// checkPathParam refuses a path parameter that is not absolute and clean
// (no "..", no "//", no trailing "/").
func checkPathParam(name, v string) error {
	if v == "" {
		return nil
	}
	if !filepath.IsAbs(v) || filepath.Clean(v) != v {
		return fmt.Errorf("%s=%q: an absolute, clean path is needed (no \"..\", \"//\" or trailing \"/\")", name, clip(v))
	}
	return nil
}

// secureDir checks that dir and its ancestors are directories (not links)
// that only root can change: root-owned, and not writable by group or
// others unless sticky (/tmp).
func secureDir(dir string) error {
	for d := dir; ; d = filepath.Dir(d) {
		st, err := os.Lstat(d)
		if err != nil {
			return err
		}
		sys, ok := st.Sys().(*syscall.Stat_t)
		switch {
		case !st.IsDir():
			return fmt.Errorf("%s is not a directory", d)
		case !ok || sys.Uid != 0:
			return fmt.Errorf("%s is not owned by root", d)
		case st.Mode().Perm()&0o022 != 0 && (d == dir || st.Mode()&fs.ModeSticky == 0):
			return fmt.Errorf("%s is writable by users other than root (mode %v)", d, st.Mode().Perm())
		}
		if d == "/" || d == "." {
			return nil
		}
	}
}

// openTrusted opens path for reading without following a link and checks
// (fstat) that it is a regular file of at most max bytes; when rootOnly,
// also that only root can have written it.
func openTrusted(path string, max int64, rootOnly bool) ([]byte, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	sys, _ := st.Sys().(*syscall.Stat_t)
	switch {
	case !st.Mode().IsRegular():
		return nil, fmt.Errorf("%s is not a regular file", path)
	case st.Size() > max:
		return nil, fmt.Errorf("%s is larger than %d bytes", path, max)
	case rootOnly && (sys == nil || sys.Uid != 0 || st.Mode().Perm()&0o022 != 0):
		return nil, fmt.Errorf("%s is not a root-owned file only root can write", path)
	}
	return io.ReadAll(io.LimitReader(f, max))
}

// maxPidfile bounds a pid file: haproxy writes one pid per line.
const maxPidfile = 4096

// readPidfile returns the pid in path; 0 and no error when the file does not
// exist. A link, a file that is not regular, or one that does not parse is
// an error.
func readPidfile(path string) (int, error) {
	b, err := openTrusted(path, maxPidfile, false)
	if errors.Is(err, os.ErrNotExist) {
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
			return 0, fmt.Errorf("pid file %s holds %q, not a pid file", path, firstLine(string(b)))
		}
		if i == 0 {
			pid = n
		}
	}
	return pid, nil
}

// maxPID is the largest pid Linux hands out (pid_max's limit).
const maxPID = 1 << 22

// removeSocket removes path when it is a socket; anything else is left
// alone and reported.
func removeSocket(path string) error {
	st, err := os.Lstat(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if st.Mode().Type() != fs.ModeSocket {
		return fmt.Errorf("%s is not a socket (%v): left alone", path, st.Mode().Type())
	}
	return ignoreMissing(os.Remove(path))
}

// removePidfile removes path when it is a regular file that parses as a pid
// file (and, when want is not 0, names want first).
func removePidfile(path string, want int) error {
	b, err := openTrusted(path, maxPidfile, false)
	if errors.Is(err, os.ErrNotExist) {
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
	return ignoreMissing(os.Remove(path))
}

func ignoreMissing(err error) error {
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	return err
}

// writeFileAtomic writes data to path through a new temporary file (created
// exclusively, so never through a planted link) and a rename, which replaces
// a link rather than following it.
func writeFileAtomic(path string, data []byte, mode os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".")
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.Write(data)
	if err == nil {
		err = tmp.Chmod(mode)
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}
