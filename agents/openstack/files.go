package openstack

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/stackha/stackha/instance"
)

// The service user can write its log's directory and, often, its pid
// file's: every file there is opened with the instance layer's rules
// (component by component from "/", no link followed, checked with fstat
// on what was opened), under the service's instance.Trust, and the
// directory a file is made in is the one that was checked, held open.

// Bounds of what a failed start quotes from the service's log.
const (
	tailBytes    = 64 << 10 // read from the end of the log
	tailLinesMax = 5
	reasonMax    = 2 << 10
)

// hookDirOpened, when set (by a test), runs between opening (and
// checking) the directory of the log or pid file and using it.
var hookDirOpened func(dir string)

// openDirFor opens (creating what is missing, mode 0755, root's) the
// directory of the service's file path.
func openDirFor(path string, t instance.Trust) (*instance.Dir, error) {
	d, err := instance.MkdirAll(filepath.Dir(path), t, 0o755)
	if err != nil {
		return nil, err
	}
	if hookDirOpened != nil {
		hookDirOpened(d.Path())
	}
	return d, nil
}

// openLog opens the service's log for appending, as root, for a service
// that runs under t: a regular file with one link owned by root or the
// service user; a file the agent creates is handed to the service user
// with fchown on what was opened, never through a path.
func openLog(path string, t instance.Trust) (*os.File, error) {
	d, err := openDirFor(path, t)
	if err != nil {
		return nil, err
	}
	defer d.Close()
	name := filepath.Base(path)
	f, _, err := d.OpenFile(name, unix.O_WRONLY|unix.O_APPEND|unix.O_CREAT|unix.O_EXCL, 0o640, t)
	switch {
	case err == nil:
		if err := f.Chown(t.UID, t.GID); err != nil {
			f.Close()
			return nil, fmt.Errorf("handing %s to uid %d: %w", path, t.UID, err)
		}
		return f, nil
	case errors.Is(err, unix.EEXIST):
		// an existing log keeps its owner (root's or the service user's)
		f, _, err = d.OpenFile(name, unix.O_WRONLY|unix.O_APPEND, 0, t)
		return f, err
	}
	return nil, err
}

// tailLog is the end of the service's log (see openLog for the checks)
// for a failure reason: see tailReason.
func tailLog(path string, t instance.Trust) (string, error) {
	f, st, err := instance.OpenPath(path, unix.O_RDONLY, 0, t)
	if err != nil {
		return "", err
	}
	defer f.Close()
	off := max(st.Size-tailBytes, 0)
	b, err := io.ReadAll(io.NewSectionReader(f, off, st.Size-off))
	if err != nil {
		return "", err
	}
	return tailReason(b), nil
}

// tailReason is the last tailLinesMax non-empty lines of b that are not
// the agent's own "--- " markers, each quoted (instance.Quote: cut,
// escaped, one line of printable ASCII), as many as fit in reasonMax.
func tailReason(b []byte) string {
	lines := strings.Split(string(b), "\n")
	var out []string
	size := 0
	for i := len(lines) - 1; i >= 0 && len(out) < tailLinesMax; i-- {
		l := strings.TrimSpace(lines[i])
		if l == "" || strings.HasPrefix(l, "--- ") {
			continue
		}
		q := instance.Quote(l)
		if size+len(q)+3 > reasonMax {
			break
		}
		size += len(q) + 3
		out = append(out, q)
	}
	slices.Reverse(out)
	return strings.Join(out, " | ")
}

// writePIDFile writes pid to the pid file for others to read: its
// directory is root's or the service user's, writable by no one else; the
// file is replaced (instance.Dir.WriteAtomic), never written through a
// link.
func writePIDFile(path string, pid int, t instance.Trust) error {
	d, err := openDirFor(path, t)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.WriteAtomic(filepath.Base(path), []byte(strconv.Itoa(pid)+"\n"), 0o644)
}

// removePIDFile removes the pid file only if it is what start wrote: a
// regular file holding pid, in a trusted directory. Anything else is left
// where it is, with the reason.
func removePIDFile(path string, pid int, t instance.Trust) error {
	d, err := instance.OpenDir(filepath.Dir(path), t)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("pidfile %s left in place: %w", path, err)
	}
	defer d.Close()
	b, err := d.ReadFile(filepath.Base(path), 64, t)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("pidfile %s left in place: %w", path, err)
	}
	if got, err := strconv.Atoi(strings.TrimSpace(string(b))); err != nil || got != pid {
		return fmt.Errorf("pidfile %s left in place: it does not hold pid %d", path, pid)
	}
	return d.Remove(filepath.Base(path))
}
