// Package pkg checks stackha's Debian package and rpm as an operator meets
// them: built by `make deb rpm`, lintian-clean, installed with apt-get, the
// agents found by Pacemaker and passing ocf-tester from the installed
// paths, man pages readable, one version everywhere, and a purge that
// leaves nothing behind. It installs the package on this machine, so it
// runs only as root under CI or `make check` (STACKHA_ALL_TIERS=1).
package pkg

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/stackha/stackha/internal/testutil"
	"github.com/stackha/stackha/internal/testutil/require"
)

func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive", "LC_ALL=C.UTF-8")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// built runs `make deb rpm` once and returns the two packages' paths.
func built(t *testing.T) (deb, rpm string) {
	t.Helper()
	root := testutil.RepoRoot(t)
	cmd := exec.Command("make", "deb", "rpm")
	cmd.Dir = root
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("make deb rpm: %v\n%s", err, out)
	}
	for _, line := range strings.Split(string(out), "\n") {
		line = strings.TrimSpace(line)
		switch {
		case strings.HasSuffix(line, ".deb"):
			deb = filepath.Join(root, line)
		case strings.HasSuffix(line, ".rpm"):
			rpm = filepath.Join(root, line)
		}
	}
	if deb == "" || rpm == "" {
		t.Fatalf("make deb rpm named no package:\n%s", out)
	}
	return deb, rpm
}

func needs(t *testing.T) {
	t.Helper()
	require.Root(t)
	require.Command(t, "make", "dpkg-deb", "dpkg-query", "apt-get", "lintian", "rpm", "man")
}

// debFiles lists the non-directory paths of a .deb (dpkg-deb -c).
func debFiles(t *testing.T, deb string) []string {
	var out []string
	for _, line := range strings.Split(run(t, "dpkg-deb", "-c", deb), "\n") {
		f := strings.Fields(line)
		if len(f) < 6 || strings.HasPrefix(f[0], "d") {
			continue
		}
		out = append(out, strings.TrimPrefix(f[5], "."))
	}
	sort.Strings(out)
	return out
}

func TestPackagesAreCleanAndAlike(t *testing.T) {
	needs(t)
	deb, rpmPath := built(t)

	// lintian: no error, and no warning (each one is fixed or overridden
	// with its reason in packaging/packaging.go).
	cmd := exec.Command("lintian", "--allow-root", deb)
	out, _ := cmd.CombinedOutput()
	for _, line := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(line, "E: ") || strings.HasPrefix(line, "W: ") {
			t.Errorf("lintian: %s", line)
		}
	}

	// The rpm carries the same files as the deb (lintian's override file is
	// Debian's alone).
	debList := debFiles(t, deb)
	var want []string
	for _, f := range debList {
		if !strings.HasPrefix(f, "/usr/share/lintian/") && !strings.HasSuffix(f, "changelog.Debian.gz") {
			want = append(want, f)
		}
	}
	var got []string
	for _, f := range strings.Split(strings.TrimSpace(run(t, "rpm", "-qlp", rpmPath)), "\n") {
		if fi := strings.TrimSpace(f); fi != "" {
			got = append(got, fi)
		}
	}
	sort.Strings(got)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("rpm -qlp differs from the deb's files:\nrpm:\n%s\ndeb:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	info := run(t, "rpm", "-qip", rpmPath)
	for _, field := range []string{"Name        : stackha", "License     : Apache-2.0"} {
		if !strings.Contains(info, field) {
			t.Errorf("rpm -qip lacks %q:\n%s", field, info)
		}
	}
}

func TestInstallUsePurge(t *testing.T) {
	needs(t)
	require.Command(t, "crm_resource", "ocf-tester")
	if out, err := exec.Command("dpkg-query", "-W", "-f=${Status}", "stackha").Output(); err == nil && strings.Contains(string(out), "installed") {
		t.Fatalf("a stackha package is installed on this machine already; this test installs and purges its own (remove it first)")
	}
	deb, _ := built(t)
	t.Cleanup(func() { exec.Command("apt-get", "purge", "-y", "-q", "stackha").Run() })
	run(t, "apt-get", "install", "-y", "-q", "--no-install-recommends", deb)

	listed := strings.Split(strings.TrimSpace(run(t, "dpkg", "-L", "stackha")), "\n")
	if len(listed) < 20 {
		t.Fatalf("dpkg -L stackha lists only %d paths", len(listed))
	}

	// One version: the package's upstream part, `stackha version`, meta-data.
	pkgVersion := strings.TrimSpace(run(t, "dpkg-query", "-W", "-f=${Version}", "stackha"))
	upstream := pkgVersion
	if i := strings.LastIndex(upstream, "-"); i > 0 {
		upstream = upstream[:i]
	}
	if v := run(t, "/usr/sbin/stackha", "version"); !strings.Contains(v, "stackha "+upstream+" ") {
		t.Errorf("stackha version = %q, package %s", v, pkgVersion)
	}
	md := run(t, "crm_resource", "--show-metadata", "ocf:stackha:vip")
	if !regexp.MustCompile(`<resource-agent name="vip" version="` + regexp.QuoteMeta(upstream) + `"`).MatchString(md) {
		t.Errorf("crm_resource --show-metadata ocf:stackha:vip does not carry version %s:\n%.400s", upstream, md)
	}

	// The man pages read with man(1).
	for _, page := range []string{"/usr/share/man/man7/ocf_stackha_vip.7.gz", "/usr/share/man/man8/stackha.8.gz"} {
		cmd := exec.Command("man", "-l", "-P", "cat", page)
		cmd.Env = append(os.Environ(), "MANWIDTH=80")
		out, err := cmd.CombinedOutput()
		if err != nil || !bytes.Contains(bytes.ToLower(out), []byte("stackha")) {
			t.Errorf("man -l %s: %v\n%.300s", page, err, out)
		}
	}

	// ocf-tester against the installed agents.
	for _, agent := range []string{"vip", "haproxy"} {
		ocfTester(t, agent, "/usr/lib/ocf/resource.d/stackha/"+agent)
	}

	// A purge leaves no file of the package.
	run(t, "apt-get", "purge", "-y", "-q", "stackha")
	for _, p := range listed {
		p = strings.TrimSpace(p)
		if p == "" || p == "/." || shared[p] {
			continue
		}
		if _, err := os.Lstat(p); err == nil {
			t.Errorf("left after purge: %s", p)
		}
	}
	for _, dir := range []string{"/usr/lib/stackha", "/usr/lib/ocf/resource.d/stackha", "/usr/share/doc/stackha"} {
		if _, err := os.Lstat(dir); err == nil {
			t.Errorf("left after purge: %s", dir)
		}
	}
}

// shared are directories other packages own too; dpkg keeps them.
var shared = map[string]bool{
	"/usr": true, "/usr/lib": true, "/usr/lib/ocf": true, "/usr/lib/ocf/resource.d": true,
	"/usr/sbin": true, "/usr/share": true, "/usr/share/doc": true, "/usr/share/man": true,
	"/usr/share/man/man7": true, "/usr/share/man/man8": true, "/usr/share/lintian": true,
	"/usr/share/lintian/overrides": true,
}
