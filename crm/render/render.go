// Package render turns one topology file (the VIP, the controllers, the
// OpenStack API services) into a whole cluster configuration: cluster.crm
// (crmsh), cluster.pcs.sh (the same as pcs commands), corosync.conf,
// haproxy.cfg, endpoints.sh (the keystone catalog at the VIP) and, per
// node, nodes/<node>/: the /etc/default files that make Debian's uwsgi
// services listen on the node's address, and a README. The
// `stackha render` command (cmd/stackha/cli) is RenderFile behind flags.
package render

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Files are the rendered outputs by file name.
type Files map[string][]byte

// mode is the file mode a rendered file is written with: the scripts run.
func mode(name string) os.FileMode {
	if strings.HasSuffix(name, ".sh") {
		return 0o755
	}
	return 0o644
}

// Render renders every file of t. A topology from Parse is rendered as
// Parse resolved it (its fields are not read again: parse the changed file
// rather than editing them); one built in Go is validated (its defaults
// filled) first.
func Render(t *Topology) (Files, error) {
	r := t.resolved
	if r == nil {
		var err error
		if r, err = t.resolve(); err != nil {
			return nil, err
		}
	}
	f := Files{
		"cluster.crm":    []byte(r.CRM()),
		"cluster.pcs.sh": []byte(r.PCS()),
		"corosync.conf":  []byte(r.Corosync()),
		"haproxy.cfg":    []byte(r.HAProxy()),
		"endpoints.sh":   []byte(r.Endpoints()),
	}
	for name, data := range r.NodeFiles() {
		f[name] = data
	}
	return f, nil
}

// Names lists the files in a stable order.
func (f Files) Names() []string {
	var n []string
	for k := range f {
		n = append(n, k)
	}
	sort.Strings(n)
	return n
}

// Write puts the files into dir (created if missing). They are written into
// a temporary directory beside dir first and renamed into place only when
// all are written, so a failure leaves dir as it was.
func (f Files) Write(dir string) (err error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("output directory: %w", err)
	}
	tmp, err := os.MkdirTemp(dir, ".render-")
	if err != nil {
		return fmt.Errorf("output directory: %w", err)
	}
	defer func() {
		if rmErr := os.RemoveAll(tmp); rmErr != nil && err == nil {
			err = fmt.Errorf("removing %s: %w", tmp, rmErr)
		}
	}()
	for _, name := range f.Names() {
		mode := mode(name)
		if err := os.MkdirAll(filepath.Dir(filepath.Join(tmp, name)), 0o755); err != nil {
			return fmt.Errorf("writing %s: %w", name, err)
		}
		if err := os.WriteFile(filepath.Join(tmp, name), f[name], mode); err != nil {
			return fmt.Errorf("writing %s: %w", name, err)
		}
		// WriteFile's mode is subject to the umask; the scripts must run.
		if err := os.Chmod(filepath.Join(tmp, name), mode); err != nil {
			return fmt.Errorf("writing %s: %w", name, err)
		}
	}
	for _, name := range f.Names() {
		if fi, err := os.Lstat(filepath.Join(dir, name)); err == nil && fi.IsDir() {
			return fmt.Errorf("writing %s: %s is a directory", name, filepath.Join(dir, name))
		}
	}
	var errs []error
	for _, name := range f.Names() {
		// A per-node file's directories (nodes/<node>/etc/default).
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755); err != nil {
			errs = append(errs, fmt.Errorf("writing %s: %w", name, err))
			continue
		}
		if err := os.Rename(filepath.Join(tmp, name), filepath.Join(dir, name)); err != nil {
			errs = append(errs, fmt.Errorf("writing %s: %w", name, err))
		}
	}
	return errors.Join(errs...)
}

// RenderFile reads the topology at path and writes every file into dir;
// on any error nothing is written.
func RenderFile(path, dir string) (Files, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("topology: %w", err)
	}
	defer fh.Close()
	t, err := Parse(fh)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	files, err := Render(t)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if err := files.Write(dir); err != nil {
		return nil, err
	}
	return files, nil
}
