package haproxy

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/stackha/stackha/instance"
)

// haproxy reads its configuration through one directory the agent owns,
// <state directory>/conf: the generated file first, then a link to each of
// the operator's files (resolved and checked) in load order. haproxy's -f
// takes a directory as its *.cfg files in lexical order, and a master
// reloads into its own command line; so a change of the config parameter is
// applied by rewriting the links and reloading, with the master and its pid
// kept.

const (
	confDirName   = "conf"
	generatedName = "0000-stackha.cfg"
	summaryName   = "running.json"
)

func (o *op) confDir() string { return filepath.Join(o.stateDir(), confDirName) }

// writeConfDir lays out the configuration directory in the state
// directory st for the configuration c, and the summary of c beside it.
func (o *op) writeConfDir(st *instance.Dir, c *Config) error {
	statePath, err := o.statePath(c)
	if err != nil {
		return err
	}
	conf, err := st.Sub(confDirName, instance.RootOnly, true, 0o700)
	if err != nil {
		return err
	}
	defer conf.Close()
	names, err := readDirNames(conf)
	if err != nil {
		return fmt.Errorf("reading %s: %w", conf.Path(), err)
	}
	for _, n := range names {
		var fst unix.Stat_t
		if unix.Fstatat(conf.Fd(), n, &fst, unix.AT_SYMLINK_NOFOLLOW) == nil && fst.Mode&unix.S_IFMT == unix.S_IFDIR {
			continue
		}
		if err := conf.Remove(n); err != nil {
			return fmt.Errorf("clearing %s: %w", conf.Path(), err)
		}
	}
	if err := conf.WriteAtomic(generatedName, []byte(generatedConfig(c, statePath)), 0o600); err != nil {
		return err
	}
	sum, err := json.Marshal(runningSummary(c))
	if err != nil {
		return err
	}
	if err := st.WriteAtomic(summaryName, sum, 0o600); err != nil {
		return err
	}
	for i, f := range c.Files {
		base := strings.TrimSuffix(filepath.Base(f), ".cfg")
		link := fmt.Sprintf("%04d-%s.cfg", i+1, base)
		if err := unix.Symlinkat(f, conf.Fd(), link); err != nil {
			return fmt.Errorf("linking %s to %s: %w", filepath.Join(conf.Path(), link), f, err)
		}
	}
	o.sum = nil
	return nil
}

// summary is what the depth-10 monitor needs of the configuration haproxy
// was last started or reloaded with, written beside it so that the monitor
// judges what runs (not a file edited since) without parsing the whole
// configuration at each call.
type summary struct {
	AdminSocket string   `json:"admin_socket,omitempty"`
	Disabled    []string `json:"disabled,omitempty"`
}

func runningSummary(c *Config) summary {
	s := summary{AdminSocket: c.AdminSocket()}
	for _, p := range c.Proxies {
		if p.Disabled {
			s.Disabled = append(s.Disabled, p.Name)
		}
	}
	return s
}

// maxSummary bounds the summary file.
const maxSummary = 1 << 20

// readSummary reads the running configuration's summary from the state
// directory (root-only).
func (o *op) readSummary() (summary, error) {
	var s summary
	st, err := instance.OpenState(o.name, false)
	if err != nil {
		return s, err
	}
	defer st.Close()
	b, err := st.ReadFile(summaryName, maxSummary, instance.RootOnly)
	if err != nil {
		return s, err
	}
	if err := json.Unmarshal(b, &s); err != nil {
		return s, fmt.Errorf("%s: %w", filepath.Join(st.Path(), summaryName), err)
	}
	return s, nil
}

// summary is the running configuration's summary; when there is none (or
// it cannot be believed), it is made from the configuration files.
func (o *op) summary() summary {
	if o.sum != nil {
		return *o.sum
	}
	s, err := o.readSummary()
	if err != nil {
		if c, cerr := LoadConfig(o.configs); cerr == nil {
			s = runningSummary(c)
		} else {
			o.log.Debugf("no summary of the running configuration (%v), and the configuration: %v", err, cerr)
		}
	}
	o.sum = &s
	return s
}
