// Package openstacktest prepares real OpenStack API services on this
// machine (keystone, glance-api, placement-api, cinder-api, heat-api), each
// in a throwaway directory on a free port of 127.0.0.1, for the openstack
// agents' real tests, their benchmark and the conformance walk (through
// internal/testutil/sandbox). Root only, and only for tests: nothing here is linked
// into the shipped binary.
//
// It does not import agents/openstack, so that package's own tests can
// import it; what it needs of an agent (the program's default path, its stop
// action) it finds through the ocf registry when the agent is linked in.
package openstacktest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/stackha/stackha/ocf"
)

// run runs a setup command and returns the end of its output in the error.
func run(ctx context.Context, argv ...string) error {
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C.UTF-8", "HOME=/root"}
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s: %w: %s", strings.Join(argv[:min(len(argv), 4)], " "), err, lastLines(out, 8))
	}
	return nil
}

func lastLines(b []byte, n int) string {
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " | ")
}

// openPath lets the service users reach dir: every directory from dir up to
// (not including) the system's temporary directory gets search permission
// for others. Test directories are created mode 0700.
func openPath(dir string) error {
	tmp := filepath.Clean(os.TempDir())
	for d := filepath.Clean(dir); strings.HasPrefix(d, tmp+"/"); d = filepath.Dir(d) {
		fi, err := os.Stat(d)
		if err != nil {
			return err
		}
		if fi.Mode().Perm()&0o001 == 0 {
			if err := os.Chmod(d, fi.Mode().Perm()|0o011); err != nil {
				return err
			}
		}
	}
	return nil
}

// chownTree hands root (without following links) to the user name.
func chownTree(root, name string) error {
	u, err := user.Lookup(name)
	if err != nil {
		return err
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, uid, gid)
	})
}

func copyTree(src, dst string) error {
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		fi, err := d.Info()
		if err != nil {
			return err
		}
		if d.IsDir() {
			return os.MkdirAll(target, fi.Mode().Perm())
		}
		in, err := os.Open(p)
		if err != nil {
			return err
		}
		defer in.Close()
		out, err := os.OpenFile(target, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, fi.Mode().Perm())
		if err != nil {
			return err
		}
		if _, err := io.Copy(out, in); err != nil {
			out.Close()
			return err
		}
		return out.Close()
	})
}

func newPassword() string {
	b := make([]byte, 12)
	rand.Read(b)
	return "sho-" + hex.EncodeToString(b)
}

// needRoot refuses a sandbox to anyone but root.
func needRoot(what string) error {
	if os.Geteuid() != 0 {
		return ocf.Perm("a %s sandbox needs root", what)
	}
	return nil
}

// DefaultBinary is the agent's declared default program, from the ocf
// registry (the agent package must be linked in).
func DefaultBinary(agent string) (string, error) {
	a, ok := ocf.Lookup(agent)
	if !ok {
		return "", fmt.Errorf("agent %s is not registered: import agents/openstack", agent)
	}
	p, ok := a.Meta.Parameter("binary")
	if !ok || p.Default == "" {
		return "", fmt.Errorf("agent %s declares no default binary", agent)
	}
	return p.Default, nil
}
