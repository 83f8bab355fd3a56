package haproxy

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// haproxy reads its configuration through one directory the agent owns,
// <state directory>/conf: the generated file first, then a link to each of
// the operator's files in load order. haproxy's -f takes a directory as its
// *.cfg files in lexical order, and a master reloads into its own command
// line; so a change of the config parameter is applied by rewriting the
// links and reloading, with the master and its pid kept.

func (in *instance) confDir() string { return filepath.Join(in.stateDir, "conf") }

// generatedPath is the generated configuration file: the global server
// state file, and a defaults section that loads it, which a configuration
// without a defaults section of its own inherits.
func (in *instance) generatedPath() string { return filepath.Join(in.confDir(), "0000-stackha.cfg") }

// writeConfDir lays out the configuration directory for the configuration
// c read from in.configs.
func (in *instance) writeConfDir(c *Config) error {
	files, err := ConfigFiles(in.configs)
	if err != nil {
		return fmt.Errorf("haproxy configuration: %w", err)
	}
	dir := in.confDir()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("creating %s: %w", dir, err)
	}
	if err := secureDir(dir); err != nil {
		return err
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("reading %s: %w", dir, err)
	}
	for _, e := range ents {
		if e.IsDir() {
			continue
		}
		if err := ignoreMissing(os.Remove(filepath.Join(dir, e.Name()))); err != nil {
			return fmt.Errorf("clearing %s: %w", dir, err)
		}
	}
	if err := writeFileAtomic(in.generatedPath(), []byte(generatedConfig(c, in.statePath(c))), 0o600); err != nil {
		return err
	}
	if err := writeFileAtomic(in.summaryPath(), runningSummary(c).encode(), 0o600); err != nil {
		return err
	}
	for i, f := range files {
		base := strings.TrimSuffix(filepath.Base(f), ".cfg")
		link := filepath.Join(dir, fmt.Sprintf("%04d-%s.cfg", i+1, base))
		if err := os.Symlink(f, link); err != nil {
			return fmt.Errorf("linking %s: %w", f, err)
		}
	}
	return nil
}

// summary is what the depth-10 monitor needs of the configuration haproxy
// was last started or reloaded with, written beside it so that the monitor
// judges what runs (not a file edited since) without parsing the whole
// configuration at each call.
type summary struct {
	AdminSocket string
	Disabled    []string
}

func (in *instance) summaryPath() string { return filepath.Join(in.stateDir, "running.summary") }

func runningSummary(c *Config) summary {
	s := summary{AdminSocket: c.AdminSocket()}
	for _, p := range c.Proxies {
		if p.Disabled {
			s.Disabled = append(s.Disabled, p.Name)
		}
	}
	return s
}

func (s summary) encode() []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "admin %s\n", s.AdminSocket)
	for _, d := range s.Disabled {
		fmt.Fprintf(&b, "disabled %s\n", d)
	}
	return []byte(b.String())
}

// maxSummary bounds the summary file.
const maxSummary = 1 << 20

// summary reads the running configuration's summary; when there is none
// (or it cannot be believed), it is made from the configuration files.
func (in *instance) summary() summary {
	if in.sum != nil {
		return *in.sum
	}
	var s summary
	b, err := openTrusted(in.summaryPath(), maxSummary, true)
	if err == nil {
		err = secureDir(in.stateDir)
	}
	if err == nil {
		for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
			k, v, _ := strings.Cut(line, " ")
			switch k {
			case "admin":
				s.AdminSocket = v
			case "disabled":
				s.Disabled = append(s.Disabled, v)
			}
		}
	} else if c, cerr := LoadConfig(in.configs); cerr == nil {
		s = runningSummary(c)
	}
	in.sum = &s
	return s
}
