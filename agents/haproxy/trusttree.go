package haproxy

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/stackha/stackha/instance"
)

// crtEntry is one line of a crt-list: a certificate, and the files its
// SSL options (between '[' and ']') name.
type crtEntry struct {
	line  int
	crt   string
	files [][2]string // option, path as written
}

// parseCrtList reads a crt-list as haproxy 2.6 does (crtlist_parse_line):
// a line starting with '#' is a comment, blanks separate words, '[' and
// ']' enclose SSL options, and the first word is the certificate.
func parseCrtList(b []byte) []crtEntry {
	var out []crtEntry
	for n, line := range strings.Split(string(b), "\n") {
		if line == "" || line[0] == '#' || line[0] == '\r' {
			continue
		}
		var words []string
		optStart, optEnd := -1, -1
		newWord := true
		for i := 0; i < len(line); i++ {
			switch ch := line[i]; {
			case ch == ' ' || ch == '\t' || ch == '\r' || ch == '\v' || ch == '\f':
				newWord = true
			case ch == '[' && optStart < 0:
				optStart, newWord = len(words), true
			case ch == ']' && optEnd < 0:
				optEnd, newWord = len(words), true
			case newWord:
				words = append(words, line[i:i+1])
				newWord = false
			default:
				words[len(words)-1] += line[i : i+1]
			}
		}
		if len(words) == 0 {
			continue
		}
		e := crtEntry{line: n + 1, crt: words[0]}
		for i := max(optStart, 1); optStart >= 0 && i < optEnd; i++ {
			switch w := words[i]; {
			case (w == "ca-file" || w == "ca-verify-file" || w == "crl-file") && i+1 < optEnd:
				e.files = append(e.files, [2]string{w, words[i+1]})
				i++
			case takesArg(w):
				i++
			}
		}
		out = append(out, e)
	}
	return out
}

// checkCrtList checks a crt-list (root's alone, like any file haproxy
// reads) and every certificate and file it names, resolved with the bases
// in force at the bind line.
func checkCrtList(r FileRef) error {
	b, err := readRef(r.Path)
	if err != nil {
		return err
	}
	for _, e := range parseCrtList(b) {
		at := fmt.Sprintf("line %d of %s", e.line, r.Path)
		p, problem := r.bases.resolve(e.crt, r.bases.crt)
		if problem != "" {
			return fmt.Errorf("%s: %s", at, problem)
		}
		if err := checkCert(p); err != nil {
			return fmt.Errorf("%s: %w", at, err)
		}
		for _, f := range e.files {
			p, problem := r.bases.resolve(f[1], r.bases.ca)
			if problem != "" {
				return fmt.Errorf("%s: %s %s", at, f[0], problem)
			}
			if strings.HasPrefix(f[1], "@system-ca") {
				continue
			}
			file, err := openRef(p, "")
			if err != nil {
				return fmt.Errorf("%s: %s: %w", at, f[0], err)
			}
			file.Close()
		}
	}
	return nil
}

// The bounds of a directory tree's check: a Lua path, an OpenSSL provider
// path or an issuers' directory is small; one that is not (a template
// rooted at "/") is refused rather than walked for ever.
const (
	maxTreeEntries = 20000
	maxTreeDepth   = 16
)

// checkTree checks the directory p leads to and everything below it:
// each directory and file root's alone, each link in a root-only
// directory and what it leads to checked the same way. A directory that
// does not exist must be one only root can create.
func checkTree(p string) error {
	real, err := resolveTrusted(p)
	if errors.Is(err, fs.ErrNotExist) {
		return checkMissing(p)
	}
	if err != nil {
		return err
	}
	w := &treeWalk{seen: map[[2]uint64]bool{}}
	return w.dir(real, 0)
}

// checkMissing accepts a path that does not exist when the deepest part
// of it that does is a directory only root can change.
func checkMissing(p string) error {
	for q := filepath.Dir(p); ; q = filepath.Dir(q) {
		real, err := resolveTrusted(q)
		if errors.Is(err, fs.ErrNotExist) && q != "/" {
			continue
		}
		if err != nil {
			return err
		}
		if err := trustedDir(real); err != nil {
			return fmt.Errorf("%s does not exist, and someone but root could create it: %w", p, err)
		}
		return nil
	}
}

type treeWalk struct {
	seen map[[2]uint64]bool // directories walked, by device and inode
	n    int
}

func (w *treeWalk) dir(path string, depth int) error {
	d, err := instance.OpenDir(path, instance.RootOnly)
	if err != nil {
		return err
	}
	defer d.Close()
	return w.walk(d, depth)
}

func (w *treeWalk) walk(d *instance.Dir, depth int) error {
	var st unix.Stat_t
	if err := unix.Fstat(d.Fd(), &st); err != nil {
		return &fs.PathError{Op: "stat", Path: d.Path(), Err: err}
	}
	key := [2]uint64{st.Dev, st.Ino}
	if w.seen[key] {
		return nil
	}
	w.seen[key] = true
	if depth > maxTreeDepth {
		return fmt.Errorf("%s is more than %d directories deep: too deep to check; give a directory of its own", d.Path(), maxTreeDepth)
	}
	names, err := readDirNames(d)
	if err != nil {
		return err
	}
	for _, n := range names {
		if w.n++; w.n > maxTreeEntries {
			return fmt.Errorf("more than %d entries below: too many to check; give a directory of its own", maxTreeEntries)
		}
		if err := w.entry(d, n, depth); err != nil {
			return err
		}
	}
	return nil
}

func (w *treeWalk) entry(d *instance.Dir, n string, depth int) error {
	var st unix.Stat_t
	if err := unix.Fstatat(d.Fd(), n, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return &fs.PathError{Op: "stat", Path: filepath.Join(d.Path(), n), Err: err}
	}
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFDIR:
		sub, err := d.Sub(n, instance.RootOnly, false, 0)
		if err != nil {
			return err
		}
		defer sub.Close()
		return w.walk(sub, depth+1)
	case unix.S_IFREG:
		f, _, err := d.OpenFile(n, unix.O_RDONLY, 0, instance.RootOnly)
		if err != nil {
			return err
		}
		f.Close()
	case unix.S_IFLNK:
		p := filepath.Join(d.Path(), n)
		real, err := resolveTrusted(p)
		if errors.Is(err, fs.ErrNotExist) {
			return checkMissing(p)
		}
		if err != nil {
			return err
		}
		var tst unix.Stat_t
		if err := unix.Stat(real, &tst); err != nil {
			return &fs.PathError{Op: "stat", Path: real, Err: err}
		}
		switch tst.Mode & unix.S_IFMT {
		case unix.S_IFDIR:
			return w.dir(real, depth+1)
		case unix.S_IFREG:
			f, err := openRef(real, "")
			if err != nil {
				return err
			}
			f.Close()
		}
	}
	return nil
}
