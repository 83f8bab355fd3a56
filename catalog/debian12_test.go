package catalog

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stackha/stackha/internal/testutil/require"
)

// TestDebian12 checks every row against Debian 12's packages: the installed
// ones (keystone, glance-api, placement-api, cinder-api, heat-api here),
// else the .deb fetched with apt-get download and unpacked with dpkg-deb -x
// (nothing is installed). For each service: the unit exists and runs the
// init script (or UnitProgram), with User=; the init script's NAME (its
// /etc/default file), UWSGI_PORT (the catalog's port), UWSGI_INI_PATH; the
// ini's wsgi-file (UnitProgram) and uid; an eventlet service's DAEMON; the
// config file and the process-mode binary exist. A package that cannot be
// fetched skips the service, loudly, unless STACKHA_ALL_TIERS=1.
func TestDebian12(t *testing.T) {
	if _, err := exec.LookPath("dpkg-deb"); err != nil {
		skipOrFail(t, "no dpkg-deb: not a Debian machine")
	}
	debs := t.TempDir()
	for _, s := range Services {
		t.Run(s.Name, func(t *testing.T) {
			if s.Package == "" {
				if s.Deprecated == "" {
					t.Fatal("no Debian package and not deprecated")
				}
				t.Logf("not in Debian 12: %s", s.Deprecated)
				return
			}
			roots := packageRoots(t, debs, s.Package)
			find := func(path string) (string, bool) {
				for _, r := range roots {
					if _, err := os.Stat(filepath.Join(r, path)); err == nil {
						return filepath.Join(r, path), true
					}
				}
				return "", false
			}
			unit, ok := find("lib/systemd/system/" + s.Unit)
			if !ok {
				t.Fatalf("%s: no unit %s", s.Package, s.Unit)
			}
			u := keyValues(t, unit)
			if u["User"] != s.User {
				t.Errorf("%s: User=%s, catalog says %s", s.Unit, u["User"], s.User)
			}
			initScript := "/etc/init.d/" + strings.TrimSuffix(s.Unit, ".service")
			if want := initScript + " systemd-start"; u["ExecStart"] != want {
				t.Fatalf("%s: ExecStart=%s, want %s", s.Unit, u["ExecStart"], want)
			}
			script, ok := find(initScript)
			if !ok {
				t.Fatalf("%s: no %s", s.Package, initScript)
			}
			sh := keyValues(t, script)
			project := sh["PROJECT_NAME"]
			expand := func(v string) string { return strings.ReplaceAll(v, "${PROJECT_NAME}", project) }
			if name := expand(sh["NAME"]); name != s.InitName {
				t.Errorf("%s: NAME=%s (it sources /etc/default/%s), catalog says %s", initScript, name, name, s.InitName)
			}
			if s.UWSGIIni == "" {
				if sh["UWSGI_INI_PATH"] != "" {
					t.Errorf("%s runs uwsgi (%s); the catalog says eventlet", initScript, sh["UWSGI_INI_PATH"])
				}
				daemon := expand(sh["DAEMON"])
				if daemon == "" {
					daemon = "/usr/bin/" + s.InitName
				}
				if daemon != s.UnitProgram {
					t.Errorf("%s: DAEMON %s, catalog says %s", initScript, daemon, s.UnitProgram)
				}
				if s.BindOption == "" {
					t.Error("an eventlet service without BindOption")
				}
				// The port is the service's own default (glance: bind_port
				// 9292), not in the package.
			} else {
				if got := sh["UWSGI_INI_PATH"]; got != s.UWSGIIni {
					t.Errorf("%s: UWSGI_INI_PATH=%s, catalog says %s", initScript, got, s.UWSGIIni)
				}
				if got := sh["UWSGI_PORT"]; got != s.Port {
					t.Errorf("%s: UWSGI_PORT=%s, catalog says %s", initScript, got, s.Port)
				}
				ini, ok := find(s.UWSGIIni)
				if !ok {
					t.Fatalf("%s: no %s", s.Package, s.UWSGIIni)
				}
				kv := keyValues(t, ini)
				if kv["wsgi-file"] != s.UnitProgram {
					t.Errorf("%s: wsgi-file %s, catalog says %s", s.UWSGIIni, kv["wsgi-file"], s.UnitProgram)
				}
				if kv["uid"] != s.User {
					t.Errorf("%s: uid %s, catalog says %s", s.UWSGIIni, kv["uid"], s.User)
				}
			}
			// The config: installed, or the template the -common package's
			// postinst copies into /etc.
			if _, ok := find(s.Config); !ok {
				common := packageRoots(t, debs, project+"-common")
				roots = append(roots, common...)
				if _, ok := find("/usr/share/" + project + "-common/" + filepath.Base(s.Config)); !ok {
					t.Errorf("no %s, nor its template in %s-common", s.Config, project)
				}
			}
			if (s.BindOption == "") != s.WSGIScript {
				t.Errorf("BindOption %q with WSGIScript %v: want one of them", s.BindOption, s.WSGIScript)
			}
			for _, p := range []string{s.Binary, s.UnitProgram} {
				if _, ok := find(p); !ok {
					common := packageRoots(t, debs, project+"-common")
					roots = append(roots, common...)
					if _, ok := find(p); !ok {
						t.Errorf("no %s in %s or %s-common", p, s.Package, project)
					}
				}
			}
		})
	}
}

func skipOrFail(t *testing.T, format string, args ...any) {
	t.Helper()
	if require.InCI() {
		t.Fatalf(format, args...)
	}
	t.Skipf("SKIPPED (CI=true or STACKHA_ALL_TIERS=1 fail instead): "+format, args...)
}

// packageRoots are the trees that hold pkg's files: / when it is
// installed, else its .deb unpacked under debs.
func packageRoots(t *testing.T, debs, pkg string) []string {
	t.Helper()
	if _, err := os.Stat("/var/lib/dpkg/info/" + pkg + ".list"); err == nil {
		return []string{"/"}
	}
	root := filepath.Join(debs, pkg)
	if _, err := os.Stat(root); err == nil {
		return []string{root}
	}
	dl := filepath.Join(debs, "dl-"+pkg)
	if err := os.MkdirAll(dl, 0o777); err != nil {
		t.Fatal(err)
	}
	_ = os.Chmod(dl, 0o777) // apt's _apt user writes here when it can
	cmd := exec.Command("apt-get", "download", pkg)
	cmd.Dir = dl
	if out, err := cmd.CombinedOutput(); err != nil {
		skipOrFail(t, "%s is not installed and apt-get download %s failed: %v: %s", pkg, pkg, err, strings.TrimSpace(string(out)))
	}
	found, _ := filepath.Glob(filepath.Join(dl, pkg+"_*.deb"))
	if len(found) != 1 {
		skipOrFail(t, "apt-get download %s left %d .deb files", pkg, len(found))
	}
	if out, err := exec.Command("dpkg-deb", "-x", found[0], root).CombinedOutput(); err != nil {
		t.Fatalf("dpkg-deb -x %s: %v: %s", found[0], err, out)
	}
	t.Logf("%s is not installed: read from %s", pkg, filepath.Base(found[0]))
	return []string{root}
}

var assignment = regexp.MustCompile(`^\s*([A-Za-z_][A-Za-z0-9_-]*)\s*=\s*(.*?)\s*$`)

// keyValues reads the first assignment of each key in a unit, a shell
// script or an ini (quotes removed); of an init script, only the part the
// package wrote (above the text openstack-pkg-tools appends).
func keyValues(t *testing.T, path string) map[string]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	m := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if strings.Contains(line, "comes from openstack-pkg-tools") {
			break
		}
		if strings.HasPrefix(strings.TrimSpace(line), "#") {
			continue
		}
		if g := assignment.FindStringSubmatch(line); g != nil {
			if _, seen := m[g[1]]; !seen {
				m[g[1]] = strings.Trim(g[2], `"'`)
			}
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return m
}
