package haproxy

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/stackha/stackha/agents/internal/watch"
	"github.com/stackha/stackha/instance"
	"github.com/stackha/stackha/ocf"
)

// The event watcher (`stackha haproxy-watch ...`, started by start with
// watch=true, see watchlife.go): it holds a pidfd of the recorded master
// and an inotify watch on the master socket's directory, and sleeps in
// poll until one fires. The master's exit is reported at once; the socket
// removed or replaced is reported when it then does not answer. Reports
// follow the shared rules of agents/internal/watch. After the master's
// exit there is nothing left to watch: the watcher ends.

// watchCmd is the helper the watcher runs as.
const watchCmd = "haproxy-watch"

// The socket check after an inotify event: socketTries questions, each at
// most socketWait, socketWait apart.
const (
	socketTries = 3
	socketWait  = time.Second
)

// watchHelper is `stackha haproxy-watch`.
func watchHelper(ctx context.Context, args []string) error {
	var f watch.Flags
	fs := flag.NewFlagSet(watchCmd, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	f.Register(fs)
	if err := fs.Parse(args); err != nil {
		return ocf.Args("%s: %w", watchCmd, err)
	}
	if fs.NArg() > 0 {
		return ocf.Args("%s: unexpected argument %s", watchCmd, instance.Quote(fs.Arg(0)))
	}
	if err := f.Check(); err != nil {
		return ocf.Args("%s: %v", watchCmd, err)
	}
	ctx, cancel := signal.NotifyContext(ctx, syscall.SIGTERM, syscall.SIGINT)
	defer cancel()
	log := watch.NewLog(watchCmd, f.Resource)
	defer log.Close()
	self, err := watch.Self()
	if err != nil {
		return err
	}
	rec, err := loadRecord(f.Name, nil, log)
	if err != nil {
		return err
	}
	if rec == nil {
		return errors.New("no record of a start")
	}
	owns := func() (bool, error) {
		rec, err := loadRecord(f.Name, nil, log)
		return err == nil && rec != nil && rec.Watcher.Names(self, f.Node), err
	}
	rep := watch.NewReporter(f, owns, log)
	ev, err := openEvents(rec.Master, rec.Socket)
	if err != nil {
		return err
	}
	defer ev.Close()
	return runWatch(ctx, rep, ev, rec.Master.PID, rec.Socket)
}

// events are the descriptors the watcher sleeps on.
type events struct {
	pidfd, inotify int
	sock           string // the socket's base name
	gone           error  // the master was gone already when opened
}

// openEvents opens a pidfd of the master, then checks that it is the
// recorded process (so the pidfd is of that process, whatever happens to
// the pid later), and an inotify watch on the socket's directory.
func openEvents(master instance.Identity, socket string) (*events, error) {
	ev := &events{pidfd: -1, inotify: -1, sock: filepath.Base(socket)}
	fd, err := unix.PidfdOpen(master.PID, 0)
	switch {
	case errors.Is(err, unix.ESRCH):
		ev.gone = fmt.Errorf("master pid %d is gone", master.PID)
	case err != nil:
		return nil, fmt.Errorf("pidfd of master %d: %w", master.PID, err)
	default:
		ev.pidfd = fd
		if err := master.Check(); err != nil {
			ev.gone = fmt.Errorf("master: %w", err)
		}
	}
	in, err := unix.InotifyInit1(unix.IN_CLOEXEC | unix.IN_NONBLOCK)
	if err != nil {
		ev.Close()
		return nil, fmt.Errorf("inotify: %w", err)
	}
	ev.inotify = in
	if _, err := unix.InotifyAddWatch(in, filepath.Dir(socket), unix.IN_DELETE|unix.IN_MOVED_FROM|unix.IN_MOVED_TO|unix.IN_CREATE|unix.IN_DELETE_SELF|unix.IN_MOVE_SELF|unix.IN_ONLYDIR); err != nil {
		ev.Close()
		return nil, fmt.Errorf("inotify on %s: %w", filepath.Dir(socket), err)
	}
	return ev, nil
}

func (ev *events) Close() {
	for _, fd := range []int{ev.pidfd, ev.inotify} {
		if fd >= 0 {
			unix.Close(fd)
		}
	}
}

// wait sleeps until the master exits (exited) or the socket's name or
// directory changes (socket). No timeout: nothing wakes it but the kernel.
func (ev *events) wait() (exited, socket bool, err error) {
	fds := []unix.PollFd{{Fd: int32(ev.inotify), Events: unix.POLLIN}}
	if ev.pidfd >= 0 {
		fds = append(fds, unix.PollFd{Fd: int32(ev.pidfd), Events: unix.POLLIN})
	}
	for {
		_, err := unix.Poll(fds, -1)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return false, false, fmt.Errorf("poll: %w", err)
		}
		break
	}
	if len(fds) > 1 && fds[1].Revents != 0 {
		return true, false, nil
	}
	return false, ev.socketChanged(), nil
}

// socketChanged drains the inotify events and reports whether one names
// the socket or the directory itself.
func (ev *events) socketChanged() bool {
	buf := make([]byte, 16<<10)
	changed := false
	for {
		n, err := unix.Read(ev.inotify, buf)
		if n <= 0 || err != nil {
			return changed
		}
		for off := 0; off+unix.SizeofInotifyEvent <= n; {
			e := (*unix.InotifyEvent)(unsafePointer(buf[off:]))
			end := off + unix.SizeofInotifyEvent + int(e.Len)
			if end > n {
				break
			}
			name := cString(buf[off+unix.SizeofInotifyEvent : end])
			if e.Mask&(unix.IN_DELETE_SELF|unix.IN_MOVE_SELF|unix.IN_Q_OVERFLOW) != 0 || name == ev.sock {
				changed = true
			}
			off = end
		}
	}
}

func cString(b []byte) string {
	for i, c := range b {
		if c == 0 {
			return string(b[:i])
		}
	}
	return string(b)
}

// runWatch waits for the master's exit or a change of its socket, and
// reports them, until ctx ends or there is nothing left to watch.
func runWatch(ctx context.Context, rep *watch.Reporter, ev *events, master int, socket string) error {
	if ev.gone != nil {
		rep.Report(ctx, fmt.Sprintf("haproxy's %v", ev.gone))
		return nil
	}
	type woke struct {
		exited, socket bool
		err            error
	}
	for {
		c := make(chan woke, 1)
		go func() {
			e, s, err := ev.wait()
			c <- woke{e, s, err}
		}()
		var w woke
		select {
		case <-ctx.Done():
			return nil
		case w = <-c:
		}
		switch {
		case w.err != nil:
			return w.err
		case w.exited:
			rep.Report(ctx, fmt.Sprintf("haproxy's master pid %d exited", master))
			return nil
		case w.socket && !answers(ctx, socket):
			if rep.Report(ctx, fmt.Sprintf("haproxy's master socket %s was removed or replaced and does not answer", socket)) == watch.NotOurs {
				return nil
			}
		}
	}
}

// answers asks the master socket "show proc" up to socketTries times.
func answers(ctx context.Context, socket string) bool {
	for i := 0; i < socketTries && ctx.Err() == nil; i++ {
		qctx, cancel := context.WithTimeout(ctx, socketWait)
		_, err := Query(qctx, socket, "show proc")
		cancel()
		if err == nil {
			return true
		}
		if ocf.Sleep(ctx, socketWait) != nil {
			return true // ending: nothing to report
		}
	}
	return ctx.Err() != nil
}

// unsafePointer is the address of b's first byte, for the kernel's
// inotify records.
func unsafePointer(b []byte) unsafe.Pointer { return unsafe.Pointer(&b[0]) }
