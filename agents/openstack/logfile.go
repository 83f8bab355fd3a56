package openstack

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/sys/unix"
)

// Bounds of what a failed start quotes from the service's log.
const (
	tailBytes    = 64 << 10 // read from the end of the log
	tailLinesMax = 5
	lineMax      = 300
	reasonMax    = 2 << 10
)

// ensureDir creates a missing directory for one of the agent's files
// (mode 0755, root's) and opens it as trusted: owned by root or the service
// user, not writable by anyone else.
func ensureDir(path string, t trust) (*dir, error) {
	if _, err := os.Lstat(path); errors.Is(err, os.ErrNotExist) {
		if err := os.MkdirAll(path, 0o755); err != nil {
			return nil, err
		}
	}
	return openDir(path, t)
}

// openLog opens the service's log for appending, as root, for a service
// that runs as uid:gid. The service user can write the directory the log
// is in, so: no link is followed, the file must be regular with one link and
// owned by root or the service user; a file the agent creates is handed to
// the service user (fchown on what was opened, never through a path).
func openLog(path string, uid, gid int) (*os.File, error) {
	f, err := openLogFile(path, uid, gid)
	if err != nil {
		return nil, fmt.Errorf("log_file: %w", err)
	}
	return f, nil
}

func openLogFile(path string, uid, gid int) (*os.File, error) {
	t := trust{uid, gid}
	d, err := ensureDir(filepath.Dir(path), t)
	if err != nil {
		return nil, err
	}
	defer d.close()
	name := filepath.Base(path)
	f, _, err := d.open(name, unix.O_WRONLY|unix.O_APPEND|unix.O_CREAT|unix.O_EXCL, 0o640, t)
	if err == nil {
		err = f.Chown(uid, gid)
	} else if errors.Is(err, unix.EEXIST) {
		// an existing log keeps its owner (root's or the service user's)
		f, _, err = d.open(name, unix.O_WRONLY|unix.O_APPEND, 0, t)
		if err != nil {
			return nil, err
		}
	}
	if err == nil {
		// blocking writes for the service (O_NONBLOCK was only for the open)
		err = unix.SetNonblock(int(f.Fd()), false)
	}
	if err != nil {
		if f != nil {
			f.Close()
		}
		return nil, err
	}
	return f, nil
}

// tailLog returns the last lines of the service's log (see openLog for the
// checks), each stripped of control characters and shortened, for a
// failure reason.
func tailLog(path string, t trust) ([]string, error) {
	d, err := openDir(filepath.Dir(path), t)
	if err != nil {
		return nil, err
	}
	defer d.close()
	f, st, err := d.open(filepath.Base(path), unix.O_RDONLY, 0, t)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	off := max(st.Size-tailBytes, 0)
	b, err := io.ReadAll(io.NewSectionReader(f, off, st.Size-off))
	if err != nil {
		return nil, err
	}
	return lastLines(b, tailLinesMax), nil
}

// lastLines is the last n non-empty lines of b that are not the agent's own
// "--- " markers, sanitised: control characters and invalid UTF-8 dropped,
// each line cut at lineMax bytes.
func lastLines(b []byte, n int) []string {
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		if l = strings.TrimSpace(sanitize(l)); l != "" && !strings.HasPrefix(l, "--- ") {
			out = append(out, l)
		}
	}
	if len(out) > n {
		out = out[len(out)-n:]
	}
	for i, l := range out {
		out[i] = truncate(l, lineMax)
	}
	return out
}

// sanitize drops control characters (an escape sequence, a carriage return
// that would rewrite a terminal line, a NUL) and invalid UTF-8.
func sanitize(s string) string {
	return strings.Map(func(r rune) rune {
		if r == utf8.RuneError || unicode.IsControl(r) || r == '\u2028' || r == '\u2029' {
			if r == '\t' {
				return ' '
			}
			return -1
		}
		return r
	}, s)
}

// truncate cuts s to at most max bytes on a rune boundary, marking the cut.
func truncate(s string, max int) string {
	if len(s) <= max {
		return s
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "..."
}

// writePIDFile writes pid to the pid file for others to read: the
// directory must be trusted (root's or the service user's, writable by no
// one else); the file is replaced, never written through a link.
func writePIDFile(path string, pid int, t trust) error {
	d, err := ensureDir(filepath.Dir(path), t)
	if err != nil {
		return err
	}
	defer d.close()
	return d.writeAtomic(filepath.Base(path), []byte(strconv.Itoa(pid)+"\n"), 0o644)
}

// removePIDFile removes the pid file only if it is what start wrote: a
// regular file holding pid, in a trusted directory. Anything else is left
// where it is, with the reason.
func removePIDFile(path string, pid int, t trust) error {
	d, err := openDir(filepath.Dir(path), t)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("pidfile %s left in place: %w", path, err)
	}
	defer d.close()
	b, err := d.readSmall(filepath.Base(path), 64, t)
	if errors.Is(err, unix.ENOENT) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("pidfile %s left in place: %w", path, err)
	}
	if got, err := strconv.Atoi(strings.TrimSpace(string(b))); err != nil || got != pid {
		return fmt.Errorf("pidfile %s left in place: it does not hold pid %d", path, pid)
	}
	return d.remove(filepath.Base(path))
}
