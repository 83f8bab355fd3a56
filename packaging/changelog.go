package packaging

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

type changelogEntry struct {
	Semver   string    `yaml:"semver"`
	Date     time.Time `yaml:"date"`
	Packager string    `yaml:"packager"`
	Deb      struct {
		Urgency       string   `yaml:"urgency"`
		Distributions []string `yaml:"distributions"`
	} `yaml:"deb"`
	Changes []struct {
		Note string `yaml:"note"`
	} `yaml:"changes"`
}

// writeChangelog copies packaging/changelog.yml to Work, with an entry for
// Version on top when Version is a development build (0.2.0+git150.abcd):
// the Debian changelog's newest entry must name the package's version.
func writeChangelog(s Spec) (path string, newest time.Time, err error) {
	src := filepath.Join(s.Root, "packaging", "changelog.yml")
	b, err := os.ReadFile(src)
	if err != nil {
		return "", time.Time{}, err
	}
	var entries []changelogEntry
	if err := yaml.Unmarshal(b, &entries); err != nil {
		return "", time.Time{}, fmt.Errorf("%s: %w", src, err)
	}
	if len(entries) == 0 {
		return "", time.Time{}, fmt.Errorf("%s: no entry", src)
	}
	if entries[0].Semver != s.Version {
		base, _, _ := strings.Cut(s.Version, "+")
		if base != entries[0].Semver {
			return "", time.Time{}, fmt.Errorf("version %s does not belong to the newest changelog entry %s: add an entry to %s", s.Version, entries[0].Semver, src)
		}
		dev := entries[0]
		dev.Semver = s.Version
		if !s.MTime.IsZero() {
			dev.Date = s.MTime.UTC()
		}
		dev.Changes = dev.Changes[:0:0]
		dev.Changes = append(dev.Changes, struct {
			Note string `yaml:"note"`
		}{Note: "Development build " + s.Version + "."})
		entries = append([]changelogEntry{dev}, entries...)
	}
	out, err := yaml.Marshal(entries)
	if err != nil {
		return "", time.Time{}, err
	}
	path = filepath.Join(s.Work, "changelog.yml")
	return path, entries[0].Date, os.WriteFile(path, out, 0o644)
}
