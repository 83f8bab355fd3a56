package instance

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stackha/stackha/internal/testutil/require"
	"golang.org/x/sys/unix"
)

// tree makes base/a/b/c/f ("data", 0644) under a fresh directory and
// returns base.
func tree(t *testing.T) string {
	t.Helper()
	base := t.TempDir()
	if err := os.MkdirAll(filepath.Join(base, "a", "b", "c"), 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(base, "a", "b", "c", "f"), "data", 0o644)
	return base
}

func writeFile(t *testing.T, p, data string, mode os.FileMode) {
	t.Helper()
	if err := os.WriteFile(p, []byte(data), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, mode); err != nil {
		t.Fatal(err)
	}
}

func readFile(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func mode(t *testing.T, p string) os.FileMode {
	t.Helper()
	fi, err := os.Lstat(p)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Mode()
}

func exists(p string) bool {
	_, err := os.Lstat(p)
	return err == nil
}

func wantErr(t *testing.T, what string, err error, contains string) {
	t.Helper()
	if err == nil {
		t.Errorf("%s: no error, want one saying %q", what, contains)
	} else if !strings.Contains(err.Error(), contains) {
		t.Errorf("%s: %v, want an error saying %q", what, err, contains)
	}
}

// withUmask runs the test under umask mask.
func withUmask(t *testing.T, mask int) {
	old := syscall.Umask(mask)
	t.Cleanup(func() { syscall.Umask(old) })
}

// The components of tree's path to f, and what each is.
var components = []struct {
	rel string
	dir bool
}{
	{"a", true},
	{"a/b", true},
	{"a/b/c", true},
	{"a/b/c/f", false},
}

func TestCheckPath(t *testing.T) {
	for _, c := range []struct {
		p  string
		ok bool
	}{
		{"/", true},
		{"/run/stackha", true},
		{"/var/log/haproxy.log", true},
		{"", false},
		{"run/stackha", false},
		{"./x", false},
		{"/run/../etc", false},
		{"/run/./x", false},
		{"/run//x", false},
		{"/run/", false},
		{"//run", false},
	} {
		err := CheckPath("pidfile", c.p)
		if (err == nil) != c.ok {
			t.Errorf("CheckPath(%q) = %v, want ok=%t", c.p, err, c.ok)
		}
		if err != nil && !strings.HasPrefix(err.Error(), "pidfile=") {
			t.Errorf("CheckPath(%q) = %v: does not name the parameter", c.p, err)
		}
	}
	for _, f := range []func(string) error{
		func(p string) error { _, err := OpenDir(p, RootOnly); return err },
		func(p string) error { _, err := MkdirAll(p, RootOnly, 0o755); return err },
		func(p string) error { _, _, err := OpenPath(p, unix.O_RDONLY, 0, RootOnly); return err },
		func(p string) error { _, err := ReadPath(p, 10, RootOnly); return err },
	} {
		wantErr(t, "a relative path", f("tmp/x"), "absolute, clean path")
		wantErr(t, "a path with ..", f(t.TempDir()+"/../x"), "absolute, clean path")
	}
}

func TestOpenDirAndMkdirAll(t *testing.T) {
	base := t.TempDir()
	p := filepath.Join(base, "x", "y", "z")
	if _, err := OpenDir(p, RootOnly); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("OpenDir of a missing directory: %v, want fs.ErrNotExist", err)
	}
	d, err := MkdirAll(p, RootOnly, 0o750)
	if err != nil {
		t.Fatal(err)
	}
	if d.Path() != p || d.Fd() < 0 {
		t.Errorf("MkdirAll: Path %q, Fd %d", d.Path(), d.Fd())
	}
	d.Close()
	d.Close() // twice is harmless
	for _, q := range []string{"x", "x/y", "x/y/z"} {
		if m := mode(t, filepath.Join(base, q)); m != os.ModeDir|0o750 {
			t.Errorf("%s: mode %v, want drwxr-x---", q, m)
		}
	}
	// Existing components are opened, not made again.
	d, err = MkdirAll(p, RootOnly, 0o700)
	if err != nil {
		t.Fatal(err)
	}
	d.Close()
	if m := mode(t, p); m != os.ModeDir|0o750 {
		t.Errorf("MkdirAll changed an existing directory's mode to %v", m)
	}
	d, err = OpenDir(p, RootOnly)
	if err != nil {
		t.Fatal(err)
	}
	d.Close()
	d, err = OpenDir("/", RootOnly)
	if err != nil || d.Path() != "/" {
		t.Fatalf("OpenDir(/): %v", err)
	}
	d.Close()
	writeFile(t, filepath.Join(base, "file"), "", 0o644)
	_, err = OpenDir(filepath.Join(base, "file"), RootOnly)
	wantErr(t, "OpenDir of a file", err, "not a directory")
	_, err = MkdirAll(filepath.Join(base, "file", "sub"), RootOnly, 0o755)
	wantErr(t, "MkdirAll under a file", err, "not a directory")
}

func TestDirSub(t *testing.T) {
	base := t.TempDir()
	d, err := OpenDir(base, RootOnly)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	for _, name := range []string{"", ".", "..", "a/b", "/"} {
		_, err := d.Sub(name, RootOnly, true, 0o755)
		wantErr(t, "Sub("+name+")", err, "is not a file name")
	}
	if _, err := d.Sub("s", RootOnly, false, 0o755); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Sub of a missing directory without create: %v", err)
	}
	s, err := d.Sub("s", RootOnly, true, 0o700)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	if s.Path() != filepath.Join(base, "s") || mode(t, s.Path()) != os.ModeDir|0o700 {
		t.Errorf("Sub made %s with mode %v", s.Path(), mode(t, s.Path()))
	}
	if err := os.Chmod(s.Path(), 0o1777); err != nil {
		t.Fatal(err)
	}
	_, err = d.Sub("s", RootOnly, false, 0)
	wantErr(t, "Sub of a sticky directory others can write", err, "others can write it")
}

// A symbolic link is refused wherever it is on the path, even when it
// points where the path would lead anyway, and nothing is created through
// it.
func TestSymlinkAtAnyComponent(t *testing.T) {
	for _, c := range components {
		t.Run(c.rel, func(t *testing.T) {
			base := tree(t)
			comp := filepath.Join(base, c.rel)
			moved := filepath.Join(base, "moved")
			if err := os.Rename(comp, moved); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(moved, comp); err != nil {
				t.Fatal(err)
			}
			dir, file := filepath.Join(base, "a/b/c"), filepath.Join(base, "a/b/c/f")
			refused := func(what string, err error) {
				t.Helper()
				wantErr(t, what, err, "symbolic link")
				if !errors.Is(err, unix.ELOOP) && !errors.Is(err, unix.ENOTDIR) {
					t.Errorf("%s: %v does not wrap ELOOP or ENOTDIR", what, err)
				}
			}
			if c.dir {
				_, err := OpenDir(dir, RootOnly)
				refused("OpenDir", err)
				_, err = MkdirAll(filepath.Join(dir, "new"), RootOnly, 0o755)
				refused("MkdirAll", err)
				_, _, err = OpenPath(filepath.Join(dir, "new"), unix.O_WRONLY|unix.O_CREAT, 0o644, RootOnly)
				refused("OpenPath O_CREAT", err)
			} else {
				d, err := OpenDir(dir, RootOnly)
				if err != nil {
					t.Fatal(err)
				}
				defer d.Close()
				_, _, err = d.OpenFile("f", unix.O_RDONLY, 0, RootOnly)
				refused("Dir.OpenFile", err)
				_, err = d.ReadFile("f", 100, RootOnly)
				refused("Dir.ReadFile", err)
				_, _, err = d.OpenFile("f", unix.O_WRONLY|unix.O_CREAT|unix.O_TRUNC, 0o644, RootOnly)
				refused("Dir.OpenFile O_CREAT|O_TRUNC", err)
				if !errors.Is(err, unix.ELOOP) {
					t.Errorf("a link as the file: %v, want ELOOP", err)
				}
			}
			_, _, err := OpenPath(file, unix.O_RDONLY, 0, RootOnly)
			refused("OpenPath", err)
			_, err = ReadPath(file, 100, RootOnly)
			refused("ReadPath", err)
			_, _, err = OpenPath(file, unix.O_WRONLY|unix.O_TRUNC, 0, RootOnly)
			refused("OpenPath O_TRUNC", err)

			// What the link points to is untouched.
			target := filepath.Join(moved, strings.TrimPrefix(file, comp))
			if got := readFile(t, target); got != "data" {
				t.Errorf("%s now holds %q", target, got)
			}
			for _, p := range []string{"new", "c/new", "b/c/new"} {
				if exists(filepath.Join(moved, p)) {
					t.Errorf("%s was created through the link", filepath.Join(moved, p))
				}
			}
		})
	}
}

// A link that points nowhere: neither a file nor a directory is created
// where it points.
func TestDanglingSymlink(t *testing.T) {
	base := t.TempDir()
	nowhere := filepath.Join(base, "nowhere")
	if err := os.Symlink(nowhere, filepath.Join(base, "l")); err != nil {
		t.Fatal(err)
	}
	_, _, err := OpenPath(filepath.Join(base, "l"), unix.O_WRONLY|unix.O_CREAT, 0o644, RootOnly)
	wantErr(t, "OpenPath O_CREAT of a dangling link", err, "symbolic link")
	_, err = MkdirAll(filepath.Join(base, "l"), RootOnly, 0o755)
	wantErr(t, "MkdirAll of a dangling link", err, "symbolic link")
	_, err = MkdirAll(filepath.Join(base, "l", "sub"), RootOnly, 0o755)
	wantErr(t, "MkdirAll under a dangling link", err, "symbolic link")
	if exists(nowhere) {
		t.Errorf("%s was created through the link", nowhere)
	}
}

// A link at an intermediate component to another directory: MkdirAll
// creates nothing there.
func TestMkdirAllNeverThroughALink(t *testing.T) {
	base := t.TempDir()
	other := filepath.Join(base, "other")
	if err := os.MkdirAll(filepath.Join(base, "x"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(other, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(other, filepath.Join(base, "x", "link")); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"x/link", "x/link/y", "x/link/y/z"} {
		_, err := MkdirAll(filepath.Join(base, p), RootOnly, 0o755)
		wantErr(t, "MkdirAll "+p, err, "symbolic link")
	}
	if ents, _ := os.ReadDir(other); len(ents) != 0 {
		t.Errorf("MkdirAll created %s in the link's target", ents[0].Name())
	}
}

// A component another user owns is refused unless the Trust names that
// user.
func TestOwnedByAnotherUser(t *testing.T) {
	require.Root(t)
	service := Trust{UID: nobody, GID: -1}
	for _, c := range components {
		t.Run(c.rel, func(t *testing.T) {
			base := tree(t)
			if err := os.Lchown(filepath.Join(base, c.rel), nobody, nobody); err != nil {
				t.Fatal(err)
			}
			dir, file := filepath.Join(base, "a/b/c"), filepath.Join(base, "a/b/c/f")
			_, _, err := OpenPath(file, unix.O_RDONLY, 0, RootOnly)
			wantErr(t, "OpenPath, root only", err, "owned by uid 65534, not by root")
			_, err = ReadPath(file, 100, RootOnly)
			wantErr(t, "ReadPath, root only", err, "owned by uid 65534, not by root")
			f, _, err := OpenPath(file, unix.O_RDONLY, 0, service)
			if err != nil {
				t.Errorf("OpenPath trusting uid %d: %v", nobody, err)
			} else {
				f.Close()
			}
			if b, err := ReadPath(file, 100, service); err != nil || string(b) != "data" {
				t.Errorf("ReadPath trusting uid %d: %q, %v", nobody, b, err)
			}
			if c.dir {
				_, err := OpenDir(dir, RootOnly)
				wantErr(t, "OpenDir, root only", err, "is owned by uid 65534, not by root")
				_, err = MkdirAll(filepath.Join(dir, "new"), RootOnly, 0o755)
				wantErr(t, "MkdirAll, root only", err, "is owned by uid 65534, not by root")
				if exists(filepath.Join(dir, "new")) {
					t.Error("MkdirAll created a directory in a directory it refused")
				}
				_, err = OpenDir(dir, Trust{UID: 1234, GID: -1})
				wantErr(t, "OpenDir trusting another uid", err, "not by root or uid 1234")
			}
		})
	}
}

// Others may write neither a directory on the path (but for a sticky
// ancestor, such as /tmp) nor the file.
func TestWritableByOthers(t *testing.T) {
	cases := []struct {
		rel  string
		mode os.FileMode
		ok   bool
	}{
		{"a", 0o755, true},
		{"a", 0o777, false},
		{"a", 0o777 | os.ModeSticky, true}, // a /tmp (group-writable: root's group only)
		{"a", 0o757 | os.ModeSticky, true},
		{"a/b", 0o757, false},
		{"a/b", 0o757 | os.ModeSticky, true},
		{"a/b/c", 0o777, false},
		{"a/b/c", 0o777 | os.ModeSticky, false}, // the leaf: sticky is no excuse
		{"a/b/c", 0o705, true},
		{"a/b/c/f", 0o666, false},
		{"a/b/c/f", 0o646, false},
		{"a/b/c/f", 0o644, true},
		{"a/b/c/f", 0o600, true},
		{"a/b/c/f", 0o400, true},
	}
	for _, c := range cases {
		if c.mode&0o020 != 0 && os.Geteuid() != 0 {
			continue // a group other than root's can write it (see TestWritableByGroup)
		}
		base := tree(t)
		if err := os.Chmod(filepath.Join(base, c.rel), c.mode); err != nil {
			t.Fatal(err)
		}
		f, _, err := OpenPath(filepath.Join(base, "a/b/c/f"), unix.O_RDONLY, 0, RootOnly)
		if err == nil {
			f.Close()
		}
		if (err == nil) != c.ok {
			t.Errorf("%s with mode %v: OpenPath: %v, want ok=%t", c.rel, c.mode, err, c.ok)
		} else if err != nil && !strings.Contains(err.Error(), "others can write it") {
			t.Errorf("%s with mode %v: OpenPath: %v, want a reason saying others can write it", c.rel, c.mode, err)
		}
		if c.rel == "a/b/c/f" {
			continue
		}
		d, err := OpenDir(filepath.Join(base, "a/b/c"), RootOnly)
		if err == nil {
			d.Close()
		}
		if (err == nil) != c.ok {
			t.Errorf("%s with mode %v: OpenDir: %v, want ok=%t", c.rel, c.mode, err, c.ok)
		}
	}
}

// A group may write a component only when it is root's group or the
// Trust's.
func TestWritableByGroup(t *testing.T) {
	require.Root(t)
	cases := []struct {
		rel   string
		mode  os.FileMode
		gid   int
		trust Trust
		ok    bool
	}{
		{"a/b/c", 0o775, 0, RootOnly, true},
		{"a/b/c", 0o775, nobody, RootOnly, false},
		{"a/b/c", 0o775, nobody, Trust{UID: -1, GID: nobody}, true},
		{"a/b/c", 0o775, 100, Trust{UID: -1, GID: nobody}, false},
		{"a/b/c", 0o775, nobody, Trust{UID: nobody, GID: -1}, false},
		{"a/b/c", 0o755, nobody, RootOnly, true}, // its group cannot write it
		{"a", 0o775, nobody, RootOnly, false},
		{"a", 0o775, nobody, Trust{UID: -1, GID: nobody}, true},
		{"a/b/c/f", 0o664, 0, RootOnly, true},
		{"a/b/c/f", 0o664, nobody, RootOnly, false},
		{"a/b/c/f", 0o664, nobody, Trust{UID: -1, GID: nobody}, true},
		{"a/b/c/f", 0o664, 100, Trust{UID: -1, GID: nobody}, false},
		{"a/b/c/f", 0o644, nobody, RootOnly, true},
	}
	for _, c := range cases {
		base := tree(t)
		p := filepath.Join(base, c.rel)
		if err := os.Chown(p, 0, c.gid); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, c.mode); err != nil {
			t.Fatal(err)
		}
		b, err := ReadPath(filepath.Join(base, "a/b/c/f"), 100, c.trust)
		if (err == nil) != c.ok {
			t.Errorf("%s with mode %v, group %d, trust %+v: %q, %v, want ok=%t", c.rel, c.mode, c.gid, c.trust, b, err, c.ok)
		} else if err != nil && !strings.Contains(err.Error(), "its group") {
			t.Errorf("%s with mode %v, group %d: %v, want a reason naming its group", c.rel, c.mode, c.gid, err)
		}
	}
}

// A FIFO (or anything but a regular file) is refused, and opening it never
// blocks, whatever the access mode.
func TestNotARegularFile(t *testing.T) {
	base := t.TempDir()
	if err := unix.Mkfifo(filepath.Join(base, "fifo"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(base, "dir"), 0o755); err != nil {
		t.Fatal(err)
	}
	names := []string{"fifo", "dir"}
	if os.Geteuid() == 0 {
		if err := unix.Mknod(filepath.Join(base, "null"), unix.S_IFCHR|0o644, int(unix.Mkdev(1, 3))); err != nil {
			t.Fatal(err)
		}
		names = append(names, "null")
	}
	d, err := OpenDir(base, RootOnly)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	for _, name := range names {
		for _, flags := range []int{unix.O_RDONLY, unix.O_WRONLY, unix.O_RDWR, unix.O_WRONLY | unix.O_APPEND | unix.O_CREAT} {
			done := make(chan error, 1)
			go func() {
				f, _, err := d.OpenFile(name, flags, 0o644, RootOnly)
				if err == nil {
					f.Close()
				}
				done <- err
			}()
			select {
			case err := <-done:
				if err == nil {
					t.Errorf("%s opened with flags %#x", name, flags)
				} else if name != "dir" && name != "fifo" && !strings.Contains(err.Error(), "not a regular file") {
					t.Errorf("%s with flags %#x: %v", name, flags, err)
				}
			case <-time.After(5 * time.Second):
				t.Fatalf("opening %s with flags %#x blocked", name, flags)
			}
		}
		done := make(chan error, 1)
		go func() {
			_, err := ReadPath(filepath.Join(base, name), 100, RootOnly)
			done <- err
		}()
		select {
		case err := <-done:
			wantErr(t, "ReadPath "+name, err, "not a regular file")
		case <-time.After(5 * time.Second):
			t.Fatalf("ReadPath %s blocked", name)
		}
	}
}

// A file with a second link may be another file's too (a user's hard link
// to a file of root's): refused.
func TestHardLinkRefused(t *testing.T) {
	base := tree(t)
	file := filepath.Join(base, "a/b/c/f")
	if err := os.Link(file, filepath.Join(base, "second")); err != nil {
		t.Fatal(err)
	}
	_, _, err := OpenPath(file, unix.O_RDONLY, 0, RootOnly)
	wantErr(t, "OpenPath", err, "has 2 links: want exactly one")
	_, err = ReadPath(file, 100, RootOnly)
	wantErr(t, "ReadPath", err, "has 2 links: want exactly one")
}

// A file that fails the checks is left as it was, whatever the flags: an
// O_TRUNC asked for is not done before the checks.
func TestRefusedFileIsLeftAlone(t *testing.T) {
	type plant func(t *testing.T, file string)
	cases := []struct {
		name  string
		root  bool
		plant plant
		why   string
	}{
		{"a second link", false, func(t *testing.T, file string) {
			if err := os.Link(file, file+".link"); err != nil {
				t.Fatal(err)
			}
		}, "2 links"},
		{"others can write it", false, func(t *testing.T, file string) {
			if err := os.Chmod(file, 0o666); err != nil {
				t.Fatal(err)
			}
		}, "others can write it"},
		{"another user's", true, func(t *testing.T, file string) {
			if err := os.Chown(file, nobody, nobody); err != nil {
				t.Fatal(err)
			}
		}, "owned by uid 65534"},
		{"another group can write it", true, func(t *testing.T, file string) {
			if err := os.Chown(file, 0, nobody); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(file, 0o664); err != nil {
				t.Fatal(err)
			}
		}, "its group 65534 can write it"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.root {
				require.Root(t)
			}
			for _, flags := range []int{
				unix.O_WRONLY | unix.O_TRUNC,
				unix.O_RDWR | unix.O_TRUNC | unix.O_CREAT,
				unix.O_WRONLY | unix.O_APPEND | unix.O_CREAT,
			} {
				base := t.TempDir()
				file := filepath.Join(base, "f")
				writeFile(t, file, "precious", 0o644)
				c.plant(t, file)
				before := mode(t, file)
				_, _, err := OpenPath(file, flags, 0o600, RootOnly)
				wantErr(t, "OpenPath", err, c.why)
				if got := readFile(t, file); got != "precious" {
					t.Errorf("flags %#x: the refused file now holds %q", flags, got)
				}
				if m := mode(t, file); m != before {
					t.Errorf("flags %#x: the refused file's mode went from %v to %v", flags, before, m)
				}
			}
		})
	}
	// A file that passes is truncated as asked.
	base := t.TempDir()
	file := filepath.Join(base, "f")
	writeFile(t, file, "old", 0o644)
	f, _, err := OpenPath(file, unix.O_WRONLY|unix.O_TRUNC, 0, RootOnly)
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	if got := readFile(t, file); got != "" {
		t.Errorf("O_TRUNC on a good file left %q", got)
	}
}

func TestOpenFile(t *testing.T) {
	base := t.TempDir()
	d, err := OpenDir(base, RootOnly)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	for _, name := range []string{"", ".", "..", "a/b", "/etc/passwd"} {
		_, _, err := d.OpenFile(name, unix.O_RDONLY, 0, RootOnly)
		wantErr(t, "OpenFile("+name+")", err, "is not a file name")
	}
	if _, _, err := d.OpenFile("missing", unix.O_RDONLY, 0, RootOnly); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a missing file: %v, want fs.ErrNotExist", err)
	}
	f, st, err := d.OpenFile("new", unix.O_RDWR|unix.O_CREAT, 0o640, RootOnly)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if st.Mode&unix.S_IFMT != unix.S_IFREG || st.Nlink != 1 || st.Uid != uint32(os.Geteuid()) {
		t.Errorf("OpenFile's stat: %+v", st)
	}
	if f.Name() != filepath.Join(base, "new") {
		t.Errorf("the file is named %q", f.Name())
	}
	// O_NONBLOCK is cleared, O_CLOEXEC set.
	fl, err := unix.FcntlInt(f.Fd(), unix.F_GETFL, 0)
	if err != nil || fl&unix.O_NONBLOCK != 0 {
		t.Errorf("file status flags %#x, %v: O_NONBLOCK still set", fl, err)
	}
	fdfl, err := unix.FcntlInt(f.Fd(), unix.F_GETFD, 0)
	if err != nil || fdfl&unix.FD_CLOEXEC == 0 {
		t.Errorf("descriptor flags %#x, %v: not close-on-exec", fdfl, err)
	}
	if _, err := f.WriteString("hello"); err != nil {
		t.Fatal(err)
	}
	b, err := d.ReadFile("new", 5, RootOnly)
	if err != nil || string(b) != "hello" {
		t.Errorf("ReadFile of 5 bytes with max 5: %q, %v", b, err)
	}
	_, err = d.ReadFile("new", 4, RootOnly)
	wantErr(t, "ReadFile of 5 bytes with max 4", err, "larger than 4 bytes")
	_, err = ReadPath(filepath.Join(base, "new"), 4, RootOnly)
	wantErr(t, "ReadPath of 5 bytes with max 4", err, "larger than 4 bytes")
}

// A file OpenFile creates has the mode asked, whatever the umask; an
// existing file keeps its own.
func TestOpenFileCreateMode(t *testing.T) {
	withUmask(t, 0o077)
	base := t.TempDir()
	d, err := OpenDir(base, RootOnly)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	for _, perm := range []uint32{0o600, 0o640, 0o644, 0o400} {
		name := "f" + os.FileMode(perm).String()
		for _, flags := range []int{unix.O_WRONLY | unix.O_CREAT, unix.O_RDWR | unix.O_CREAT | unix.O_EXCL, unix.O_WRONLY | unix.O_CREAT | unix.O_TRUNC} {
			os.Remove(filepath.Join(base, name))
			f, _, err := d.OpenFile(name, flags, perm, RootOnly)
			if err != nil {
				t.Fatal(err)
			}
			f.Close()
			if m := mode(t, filepath.Join(base, name)); m != os.FileMode(perm) {
				t.Errorf("created with %04o (flags %#x) under umask 077: mode %v", perm, flags, m)
			}
		}
	}
	writeFile(t, filepath.Join(base, "old"), "x", 0o604)
	f, _, err := d.OpenFile("old", unix.O_WRONLY|unix.O_CREAT, 0o600, RootOnly)
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	if m := mode(t, filepath.Join(base, "old")); m != 0o604 {
		t.Errorf("an existing file's mode became %v", m)
	}
	_, _, err = d.OpenFile("old", unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL, 0o600, RootOnly)
	if !errors.Is(err, fs.ErrExist) {
		t.Errorf("O_EXCL on an existing file: %v, want fs.ErrExist", err)
	}
}

func tmpFiles(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var tmp []string
	for _, e := range ents {
		if strings.HasSuffix(e.Name(), ".tmp") {
			tmp = append(tmp, e.Name())
		}
	}
	return tmp
}

func TestWriteAtomic(t *testing.T) {
	base := t.TempDir()
	outside := t.TempDir()
	d, err := OpenDir(base, RootOnly)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	target := filepath.Join(outside, "passwd")
	writeFile(t, target, "root's", 0o644)
	if err := os.Mkdir(filepath.Join(outside, "dir"), 0o755); err != nil {
		t.Fatal(err)
	}
	plant := map[string]func(p string) error{
		"nothing":                 func(string) error { return nil },
		"a file":                  func(p string) error { return os.WriteFile(p, []byte("old"), 0o644) },
		"a link to a file":        func(p string) error { return os.Symlink(target, p) },
		"a link to a directory":   func(p string) error { return os.Symlink(filepath.Join(outside, "dir"), p) },
		"a dangling link":         func(p string) error { return os.Symlink(filepath.Join(outside, "new"), p) },
		"a hard link to a file":   func(p string) error { return os.Link(target, p) },
		"a FIFO":                  func(p string) error { return unix.Mkfifo(p, 0o644) },
		"a link to a FIFO's name": func(p string) error { return os.Symlink(filepath.Join(outside, "fifo"), p) },
	}
	if err := unix.Mkfifo(filepath.Join(outside, "fifo"), 0o644); err != nil {
		t.Fatal(err)
	}
	for what, f := range plant {
		name := strings.ReplaceAll(what, " ", "_")
		if err := f(filepath.Join(base, name)); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- d.WriteAtomic(name, []byte("new\n"), 0o640) }()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("over %s: %v", what, err)
				continue
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("WriteAtomic over %s blocked", what)
		}
		p := filepath.Join(base, name)
		if m := mode(t, p); m != 0o640 {
			t.Errorf("over %s: mode %v, want -rw-r-----", what, m)
		}
		if got := readFile(t, p); got != "new\n" {
			t.Errorf("over %s: holds %q", what, got)
		}
	}
	if got := readFile(t, target); got != "root's" {
		t.Errorf("WriteAtomic wrote through a link: %s holds %q", target, got)
	}
	for _, p := range []string{"new", "dir/dangling"} {
		if exists(filepath.Join(outside, p)) {
			t.Errorf("WriteAtomic created %s through a link", p)
		}
	}
	if ents, _ := os.ReadDir(filepath.Join(outside, "dir")); len(ents) != 0 {
		t.Errorf("WriteAtomic wrote %s in a linked directory", ents[0].Name())
	}
	if tmp := tmpFiles(t, base); len(tmp) != 0 {
		t.Errorf("temporary files left: %v", tmp)
	}

	// A failed write (over a directory that is not empty) leaves no
	// temporary file.
	if err := os.MkdirAll(filepath.Join(base, "full", "x"), 0o755); err != nil {
		t.Fatal(err)
	}
	err = d.WriteAtomic("full", []byte("x"), 0o600)
	wantErr(t, "over a directory", err, "writing "+filepath.Join(base, "full"))
	if tmp := tmpFiles(t, base); len(tmp) != 0 {
		t.Errorf("temporary files left after a failure: %v", tmp)
	}
	for _, name := range []string{"", ".", "..", "a/b"} {
		wantErr(t, "WriteAtomic("+name+")", d.WriteAtomic(name, nil, 0o600), "is not a file name")
	}
}

// What WriteAtomic writes has exactly the mode asked: the umask decides
// nothing.
func TestWriteAtomicMode(t *testing.T) {
	base := t.TempDir()
	d, err := OpenDir(base, RootOnly)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	for _, mask := range []int{0o077, 0o022, 0o027, 0} {
		withUmask(t, mask)
		for _, perm := range []uint32{0o600, 0o640, 0o644, 0o755, 0o400} {
			if err := d.WriteAtomic("f", []byte("x"), perm); err != nil {
				t.Fatal(err)
			}
			if m := mode(t, filepath.Join(base, "f")); m != os.FileMode(perm) {
				t.Errorf("umask %04o, perm %04o: mode %v", mask, perm, m)
			}
		}
	}
}

func TestRemove(t *testing.T) {
	base := t.TempDir()
	outside := t.TempDir()
	d, err := OpenDir(base, RootOnly)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	writeFile(t, filepath.Join(base, "f"), "x", 0o644)
	writeFile(t, filepath.Join(outside, "target"), "kept", 0o644)
	if err := os.Symlink(filepath.Join(outside, "target"), filepath.Join(base, "link")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(base, "dirlink")); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"f", "link", "dirlink", "missing"} {
		if err := d.Remove(name); err != nil {
			t.Errorf("Remove(%s): %v", name, err)
		}
		if exists(filepath.Join(base, name)) {
			t.Errorf("Remove(%s) left it", name)
		}
	}
	if got := readFile(t, filepath.Join(outside, "target")); got != "kept" {
		t.Errorf("Remove of a link touched its target: %q", got)
	}
	if err := os.Mkdir(filepath.Join(base, "dir"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := d.Remove("dir"); err == nil || !exists(filepath.Join(base, "dir")) {
		t.Errorf("Remove of a directory: %v", err)
	}
	for _, name := range []string{"", ".", "..", "a/b"} {
		wantErr(t, "Remove("+name+")", d.Remove(name), "is not a file name")
	}
}

func TestRemoveDir(t *testing.T) {
	base := t.TempDir()
	outside := t.TempDir()
	d, err := OpenDir(base, RootOnly)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	for _, p := range []string{"empty", "full"} {
		if err := os.Mkdir(filepath.Join(base, p), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	writeFile(t, filepath.Join(base, "full", "f"), "x", 0o644)
	writeFile(t, filepath.Join(base, "file"), "x", 0o644)
	if err := os.Symlink(outside, filepath.Join(base, "link")); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		ok   bool
		gone bool
	}{
		{"empty", true, true},
		{"full", true, false},
		{"missing", true, true},
		{"file", false, false},
		{"link", false, false},
	} {
		err := d.RemoveDir(c.name)
		if (err == nil) != c.ok || exists(filepath.Join(base, c.name)) == c.gone {
			t.Errorf("RemoveDir(%s): %v; exists after: %t", c.name, err, exists(filepath.Join(base, c.name)))
		}
	}
	if !exists(outside) {
		t.Error("RemoveDir of a link removed its target")
	}
	for _, name := range []string{"", ".", "..", "a/b"} {
		wantErr(t, "RemoveDir("+name+")", d.RemoveDir(name), "is not a file name")
	}
}
