package haproxy

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/stackha/stackha/instance"
	"github.com/stackha/stackha/ocf"
)

// What haproxy reads as root besides its configuration (configrefs.go)
// must be, like the configuration, root's alone: the file and every
// directory above it (instance.RootOnly). haproxy opens these paths itself,
// following links: so each link on the way must sit in a directory only
// root can change (else it could be swapped between the check and
// haproxy's read), and the file it leads to is checked. A private key must
// moreover be unreadable by others. validate-all (level 10), start and
// reload refuse any other with 6, naming the file and the directive, before
// haproxy -c runs (which runs the Lua code it loads).

// checkRefs checks every file the configuration names.
func checkRefs(c *Config) error {
	for _, r := range c.Refs {
		if err := checkRef(r); err != nil {
			return err
		}
	}
	return nil
}

func checkRef(r FileRef) error {
	what := fmt.Sprintf("%s %s (%s)", r.Directive, instance.Quote(r.Raw), r.Pos)
	if r.Problem != "" {
		return ocf.Configured("%s: %s", what, r.Problem)
	}
	var err error
	switch r.Kind {
	case RefCode, RefData, RefKey:
		var f *os.File
		if f, err = openRef(r.Path, secretOf(r)); err == nil {
			f.Close()
		}
	case RefCert:
		err = checkCert(r.Path)
	case RefCrtList:
		err = checkCrtList(r)
	case RefTree:
		err = checkTree(r.Path)
	}
	if err == nil {
		return nil
	}
	var pe *fs.PathError
	var ke *keyError
	switch {
	case errors.As(err, &ke):
		return ocf.Configured("%s: %v", what, err)
	case errors.Is(err, fs.ErrNotExist):
		return ocf.Installed("%s: %v", what, err)
	case errors.Is(err, fs.ErrPermission):
		return ocf.Perm("%s: %v", what, err)
	case errors.As(err, &pe) && !errors.Is(err, unix.ELOOP) && !errors.Is(err, unix.ENOTDIR):
		return ocf.Installed("%s: %v", what, err)
	}
	verb := "reads"
	if r.Kind == RefCode || r.Directive == "lua-prepend-path" || r.Directive == "ssl-provider-path" {
		verb = "runs"
	}
	return ocf.Configured("%s: %v (haproxy %s it as root: it must be root's alone, in directories only root can write)", what, err, verb)
}

// secretOf says what secret a file of kind RefKey holds.
func secretOf(r FileRef) string {
	switch {
	case r.Kind != RefKey:
		return ""
	case strings.HasSuffix(r.Directive, "tls-ticket-keys"):
		return "TLS session ticket keys"
	}
	return privateKey
}

const privateKey = "a private key"

// keyError says a secret can be read by others.
type keyError struct {
	path, secret string
	mode         uint32
}

func (e *keyError) Error() string {
	return fmt.Sprintf("%s holds %s and others can read it (mode %04o): make it readable by root alone (0600, or 0640 for a group of root's)", e.path, e.secret, e.mode&0o7777)
}

// maxLinks bounds the links followed in one path (the kernel's own limit).
const maxLinks = 40

// resolveTrusted resolves p (absolute) as the kernel would, component by
// component, and requires every directory a link sits in, and every
// directory ".." leaves, to be root's alone: then only root can change
// where p leads. The path returned has no link left; its own components
// are checked when it is opened (instance.OpenPath, OpenDir).
func resolveTrusted(p string) (string, error) {
	cur := "/"
	rest := strings.Split(p, "/")
	for links := 0; len(rest) > 0; {
		name := rest[0]
		rest = rest[1:]
		switch name {
		case "", ".":
			continue
		case "..":
			if err := trustedDir(cur); err != nil {
				return "", err
			}
			cur = filepath.Dir(cur)
			continue
		}
		next := filepath.Join(cur, name)
		fi, err := os.Lstat(next)
		if err != nil {
			return "", err
		}
		if fi.Mode()&fs.ModeSymlink == 0 {
			cur = next
			continue
		}
		if links++; links > maxLinks {
			return "", &fs.PathError{Op: "resolve", Path: p, Err: unix.ELOOP}
		}
		if err := trustedDir(cur); err != nil {
			return "", fmt.Errorf("%s is a symbolic link in a directory someone but root can change: %w", next, err)
		}
		target, err := os.Readlink(next)
		if err != nil {
			return "", err
		}
		if strings.HasPrefix(target, "/") {
			cur = "/"
		}
		rest = append(strings.Split(target, "/"), rest...)
	}
	return cur, nil
}

func trustedDir(p string) error {
	d, err := instance.OpenDir(p, instance.RootOnly)
	if err != nil {
		return err
	}
	d.Close()
	return nil
}

// openRef opens the file p leads to, checked (see resolveTrusted and
// instance.OpenPath); one that holds a secret (named, "" when not) must not
// be readable by others.
func openRef(p string, secret string) (*os.File, error) {
	real, err := resolveTrusted(p)
	if err != nil {
		return nil, err
	}
	f, st, err := instance.OpenPath(real, unix.O_RDONLY, 0, instance.RootOnly)
	if err != nil {
		return nil, err
	}
	if secret != "" && st.Mode&0o004 != 0 {
		f.Close()
		return nil, &keyError{path: real, secret: secret, mode: st.Mode}
	}
	return f, nil
}

// maxPEM bounds a certificate file, and a crt-list.
const maxPEM = 16 << 20

// readRef reads the checked file p leads to (at most maxPEM bytes).
func readRef(p string) ([]byte, error) {
	f, err := openRef(p, "")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxPEM+1))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", f.Name(), err)
	}
	if len(b) > maxPEM {
		return nil, fmt.Errorf("%s is larger than %d MiB", f.Name(), maxPEM>>20)
	}
	return b, nil
}

// checkCert checks what a crt names as haproxy loads it: a directory of
// certificates, a PEM file (a private key in it must not be readable by
// others) with the files haproxy loads beside it, or, when p does not
// exist, the bundle p.rsa, p.dsa, p.ecdsa.
func checkCert(p string) error {
	real, err := resolveTrusted(p)
	if errors.Is(err, fs.ErrNotExist) {
		found := false
		for _, ext := range []string{".rsa", ".dsa", ".ecdsa"} {
			if _, berr := resolveTrusted(p + ext); errors.Is(berr, fs.ErrNotExist) {
				continue
			}
			found = true
			if err := checkCertFile(p + ext); err != nil {
				return err
			}
		}
		if found {
			return nil
		}
	}
	if err != nil {
		return err
	}
	if fi, err := os.Lstat(real); err == nil && fi.IsDir() {
		return checkCertDir(real)
	}
	return checkCertFile(p)
}

// checkCertDir checks the certificates haproxy loads from the directory
// dir: its regular files (links followed) but the hidden ones and those
// it loads beside a certificate (.key, .ocsp, .issuer, .sctl).
func checkCertDir(dir string) error {
	names, err := rootDirNames(dir)
	if err != nil {
		return err
	}
	for _, n := range names {
		switch filepath.Ext(n) {
		case ".key", ".ocsp", ".issuer", ".sctl":
			continue
		}
		if strings.HasPrefix(n, ".") {
			continue
		}
		if fi, err := os.Stat(filepath.Join(dir, n)); err != nil || !fi.Mode().IsRegular() {
			continue // haproxy skips what is not a regular file
		}
		if err := checkCertFile(filepath.Join(dir, n)); err != nil {
			return err
		}
	}
	return nil
}

// checkCertFile checks one certificate file p and the files haproxy loads
// beside it when they exist (ssl-load-extra-files: p.key, a key, and
// p.ocsp, p.issuer, p.sctl; also without a ".crt" extension).
func checkCertFile(p string) error {
	b, err := readRef(p)
	if err != nil {
		return err
	}
	if bytes.Contains(b, []byte("PRIVATE KEY-----")) {
		f, err := openRef(p, privateKey)
		if err != nil {
			return err
		}
		f.Close()
	}
	stems := []string{p}
	if s, ok := strings.CutSuffix(p, ".crt"); ok {
		stems = append(stems, s)
	}
	for _, stem := range stems {
		for _, ext := range []string{".key", ".ocsp", ".issuer", ".sctl"} {
			secret := ""
			if ext == ".key" {
				secret = privateKey
			}
			f, err := openRef(stem+ext, secret)
			if errors.Is(err, fs.ErrNotExist) {
				continue
			}
			if err != nil {
				return err
			}
			f.Close()
		}
	}
	return nil
}
