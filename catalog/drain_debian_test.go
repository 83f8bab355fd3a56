package catalog

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestDebian12Drain checks each row's drain against Debian 12's packages:
// a DrainFile without DrainConfDir is the disable_by_file_path of the
// healthcheck in the package's paste configuration (in /etc, or the
// template its -common package copies there); with DrainConfDir, the
// service's healthcheck takes its options from the service's configuration
// (keystone's flask application mounts it with oslo_config_project, heat's
// paste filter sets none), and DrainConfDir is the <config>.d directory
// oslo.config reads after it. A row without DrainFile has no healthcheck
// in its package's paste configuration.
func TestDebian12Drain(t *testing.T) {
	if _, err := exec.LookPath("dpkg-deb"); err != nil {
		skipOrFail(t, "no dpkg-deb: not a Debian machine")
	}
	debs := t.TempDir()
	for _, s := range Services {
		if s.Package == "" {
			continue
		}
		t.Run(s.Name, func(t *testing.T) {
			project := filepath.Base(filepath.Dir(s.Config))
			pkg := project + "-common" // its paste configuration
			if project == s.Package {
				pkg = s.Package // keystone: one package
			}
			roots := packageRoots(t, debs, pkg)
			paste := pasteText(t, roots, project)
			settings := strings.Join(s.DrainSettings, "\n")
			pasteNames := regexp.MustCompile(`(?m)^disable_by_file_path\s*=\s*` + regexp.QuoteMeta(s.DrainFile) + `\s*$`).MatchString(paste)
			switch {
			case s.DrainFile == "":
				if strings.Contains(paste, "oslo_middleware") {
					t.Errorf("%s's paste configuration has oslo's healthcheck: set DrainFile", project)
				}
				t.Logf("no healthcheck middleware: %s is not drained", s.Name)
			case pasteNames && strings.Contains(settings, "disable_by_file"):
				t.Errorf("the paste configuration names the disable file: DrainSettings must not")
			case !pasteNames && !strings.Contains(settings, "disable_by_file_path = "+s.DrainFile):
				t.Errorf("%s's paste configuration does not name %s, nor do DrainSettings", project, s.DrainFile)
			case !pasteNames && paste == "": // keystone: no paste, its flask application
				app := readIn(t, packageRoots(t, debs, "python3-"+project),
					"usr/lib/python3/dist-packages/"+project+"/server/flask/application.py")
				if !strings.Contains(app, "oslo_config_project='"+project+"'") {
					t.Errorf("%s's application does not read its healthcheck options from its configuration", project)
				}
			case !pasteNames && !regexp.MustCompile(`(?m)^\[filter:healthcheck\]\npaste\.filter_factory = oslo_middleware:Healthcheck\.factory\n\n`).MatchString(paste):
				t.Errorf("%s's healthcheck filter has options of its own: they override %s", project, s.DrainConfDir)
			}
			if s.DrainConfDir != "" && s.DrainConfDir != s.Config+".d" {
				t.Errorf("DrainConfDir %s: oslo.config reads %s", s.DrainConfDir, s.Config+".d")
			}
			if (s.DrainConfDir == "") != (len(s.DrainSettings) == 0) {
				t.Errorf("DrainConfDir %q with DrainSettings %q: want both or neither", s.DrainConfDir, s.DrainSettings)
			}
			// a healthcheck elsewhere than /healthcheck: its path is set,
			// not by the paste filter itself
			if s.DrainFile != "" && s.HealthcheckPath != "/healthcheck" {
				if !strings.Contains(settings, "path = "+s.HealthcheckPath) {
					t.Errorf("HealthcheckPath %s: DrainSettings do not set path", s.HealthcheckPath)
				}
				if regexp.MustCompile(`(?m)^path\s*=`).MatchString(paste) {
					t.Errorf("the paste configuration sets the healthcheck's path itself")
				}
			}
			if s.DrainFile != "" && !strings.HasSuffix(s.HealthcheckPath, "/healthcheck") {
				t.Errorf("HealthcheckPath %q: oslo's healthcheck answers at .../healthcheck", s.HealthcheckPath)
			}
			// a healthcheck only in the versioned pipelines: that prefix is mapped
			if prefix := strings.TrimSuffix(s.HealthcheckPath, "/healthcheck"); prefix != "" &&
				!regexp.MustCompile(`(?m)^`+regexp.QuoteMeta(prefix)+`/\+: `).MatchString(paste) {
				t.Errorf("HealthcheckPath %s: %s's paste configuration maps no %s/+", s.HealthcheckPath, project, prefix)
			}
			if s.DrainFile != "" && filepath.Dir(s.DrainFile) != filepath.Dir(s.Config) {
				t.Errorf("DrainFile %s is not in %s", s.DrainFile, filepath.Dir(s.Config))
			}
		})
	}
}

// pasteText is the project's paste configuration(s), "" when it has none.
func pasteText(t *testing.T, roots []string, project string) string {
	t.Helper()
	var b strings.Builder
	for _, r := range roots {
		for _, dir := range []string{"etc/" + project, "usr/share/" + project + "-common"} {
			found, _ := filepath.Glob(filepath.Join(r, dir, "*paste*.ini"))
			for _, f := range found {
				data, err := os.ReadFile(f)
				if err != nil {
					t.Fatal(err)
				}
				b.Write(data)
				b.WriteString("\n")
			}
		}
	}
	return b.String()
}

func readIn(t *testing.T, roots []string, path string) string {
	t.Helper()
	for _, r := range roots {
		if data, err := os.ReadFile(filepath.Join(r, path)); err == nil {
			return string(data)
		}
	}
	t.Fatalf("no %s", path)
	return ""
}
