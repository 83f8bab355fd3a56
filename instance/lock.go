package instance

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// lockDir is where the instances' lock files live, under Root. Resource
// ids never start with '.', so it cannot be an instance's directory. Lock
// files are never removed (a waiter must never lock a file that is being
// unlinked); /run is emptied at boot.
const lockDir = ".locks"

// noteWidth is the size of the holder's note in the lock file.
const noteWidth = 100

// ErrBusy says another action of the same instance holds its lock.
var ErrBusy = errors.New("another action of this instance is running")

// Lock takes the instance's lock (flock on a root-only file), waiting
// until ctx ends. The lock file is close-on-exec: a service started under
// the lock never inherits it. It holds the pid and action of its holder,
// so that a waiter that gives up can say who held it.
func Lock(ctx context.Context, name, action string) (release func(), err error) {
	if err := CheckID(name); err != nil || name == "" {
		return nil, fmt.Errorf("lock of %s: not a valid instance name", Quote(name))
	}
	root, err := MkdirAll(Root, RootOnly, 0o755)
	if err != nil {
		return nil, stateErr(err)
	}
	d, err := root.sub(lockDir, RootOnly, true, 0o700, true)
	root.Close()
	if err != nil {
		return nil, stateErr(err)
	}
	defer d.Close()
	f, _, err := d.OpenFile(name, unix.O_RDWR|unix.O_CREAT, 0o600, RootOnly)
	if err != nil {
		return nil, err
	}
	fd := int(f.Fd())
	wait := time.Millisecond
	for {
		err := unix.Flock(fd, unix.LOCK_EX|unix.LOCK_NB)
		if err == nil {
			break
		}
		if !errors.Is(err, unix.EWOULDBLOCK) && !errors.Is(err, unix.EINTR) {
			f.Close()
			return nil, fmt.Errorf("locking %s: %w", f.Name(), err)
		}
		select {
		case <-ctx.Done():
			holder := readHolder(f)
			f.Close()
			return nil, fmt.Errorf("%w (%s) and held its lock until the deadline", ErrBusy, holder)
		case <-time.After(wait):
		}
		wait = min(2*wait, 50*time.Millisecond)
	}
	// One write of a fixed width replaces the last holder's note.
	note := fmt.Sprintf("%-*s\n", noteWidth-1, strconv.Itoa(os.Getpid())+" "+action+" "+time.Now().UTC().Format(time.RFC3339))
	f.WriteAt([]byte(note[:noteWidth-1]+"\n"), 0)
	return func() { f.Close() }, nil
}

// readHolder says what the lock file says of its holder: pid, action and
// the time it took the lock.
func readHolder(f *os.File) string {
	b := make([]byte, 128)
	n, _ := f.ReadAt(b, 0)
	fields := strings.Fields(string(b[:n]))
	if len(fields) != 3 {
		return "holder unknown"
	}
	return fmt.Sprintf("pid %s, %s since %s", Quote(fields[0]), Quote(fields[1]), Quote(fields[2]))
}
