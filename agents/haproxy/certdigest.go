package haproxy

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"

	"github.com/stackha/stackha/instance"
)

// Certificate rotation. haproxy reads its certificates when a worker
// starts: a seamless reload (reload-agent) is what makes it serve a
// replaced one. The generation parameter is how an operator asks Pacemaker
// for that reload on every node: it is reloadable, and the agent ignores
// its value. `stackha tls-reload` sets it to CertDigest, so that running
// it again with nothing replaced changes nothing.

// maxGeneration bounds the generation parameter.
const maxGeneration = 128

// checkGeneration checks the generation parameter: at most maxGeneration
// letters, digits, '.', '_', ':' or '-'.
func checkGeneration(g string) error {
	if len(g) > maxGeneration {
		return fmt.Errorf("%d bytes; at most %d", len(g), maxGeneration)
	}
	for _, c := range g {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == ':' || c == '-') {
			return fmt.Errorf("%s: only letters, digits, '.', '_', ':' and '-'", instance.Quote(g))
		}
	}
	return nil
}

// CertDigest is a digest of every certificate file the configuration at
// paths names (bind and server crt: a file, its .key, or a directory of
// them), each checked as start checks it (root's, in directories only
// root can write, a private key readable by root alone). 16 hex digits.
func CertDigest(paths []string) (string, error) {
	c, err := LoadConfig(paths)
	if err != nil {
		return "", err
	}
	if err := checkRefs(c); err != nil {
		return "", err
	}
	var files []string
	for _, r := range c.Refs {
		if r.Kind != RefCert {
			continue
		}
		more, err := certFiles(r.Path)
		if err != nil {
			return "", err
		}
		files = append(files, more...)
	}
	slices.Sort(files)
	files = slices.Compact(files)
	h := sha256.New()
	for _, f := range files {
		b, err := readRef(f)
		if err != nil {
			return "", err
		}
		h.Write([]byte(f))
		h.Write([]byte{0})
		h.Write(b)
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))[:16], nil
}

// certFiles are the files haproxy reads for a crt of path p: p and its
// .key (or p.rsa, p.dsa, p.ecdsa), or a directory's regular files.
func certFiles(p string) ([]string, error) {
	real, err := resolveTrusted(p)
	if errors.Is(err, fs.ErrNotExist) {
		var out []string
		for _, ext := range []string{".rsa", ".dsa", ".ecdsa"} {
			if _, err := resolveTrusted(p + ext); err == nil {
				out = append(out, p+ext)
			}
		}
		return out, nil
	}
	if err != nil {
		return nil, err
	}
	fi, err := os.Lstat(real)
	if err != nil {
		return nil, err
	}
	if !fi.IsDir() {
		out := []string{real}
		if _, err := resolveTrusted(real + ".key"); err == nil {
			out = append(out, real+".key")
		}
		return out, nil
	}
	names, err := rootDirNames(real)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, n := range names {
		f := filepath.Join(real, n)
		if fi, err := os.Lstat(f); err == nil && fi.Mode().IsRegular() && n[0] != '.' {
			out = append(out, f)
		}
	}
	return out, nil
}
