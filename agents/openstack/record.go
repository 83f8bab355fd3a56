package openstack

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// record is what start keeps about the process it started, in the
// instance's root-owned state directory: enough to tell that a pid still is
// that process. The pid file the operator names is only written for others
// to read; it is never trusted.
type record struct {
	PID       int      `json:"pid"`
	StartTime uint64   `json:"start_time"` // /proc/<pid>/stat field 22, clock ticks after boot
	Exe       string   `json:"exe"`        // /proc/<pid>/exe when started
	UID       int      `json:"uid"`        // the service user
	GID       int      `json:"gid"`        // and its group
	SID       int      `json:"sid"`        // the session it leads (= PID)
	Argv      []string `json:"argv"`
	PIDFile   string   `json:"pidfile"`
	Started   string   `json:"started"`
}

// recordName is the record's file name in the state directory.
func recordName(p *Profile) string { return p.Name + ".stackha" }

// maxRecord bounds what is read of a record.
const maxRecord = 64 << 10

// ensureStateDir creates the state directory (and /run/stackha) if needed
// and opens it, checking both are root's and that no one else can write
// them.
func ensureStateDir(path string) (*dir, error) {
	root := trust{uid: os.Geteuid()}
	for _, d := range []string{filepath.Dir(path), path} {
		if err := os.Mkdir(d, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
			return nil, fmt.Errorf("state directory: %w", err)
		}
		h, err := openDir(d, root)
		if err != nil {
			return nil, fmt.Errorf("state directory: %w", err)
		}
		if d == path {
			return h, nil
		}
		h.close()
	}
	panic("unreachable")
}

// openStateDir opens an existing state directory (see ensureStateDir);
// os.ErrNotExist when there is none.
func openStateDir(path string) (*dir, error) {
	root := trust{uid: os.Geteuid()}
	p, err := openDir(filepath.Dir(path), root)
	if err != nil {
		return nil, fmt.Errorf("state directory: %w", err)
	}
	p.close()
	h, err := openDir(path, root)
	if err != nil {
		return nil, fmt.Errorf("state directory: %w", err)
	}
	return h, nil
}

func (p *processService) writeRecord(rec record) error {
	d, err := ensureStateDir(p.c.StateDir)
	if err != nil {
		return err
	}
	defer d.close()
	rec.Started = time.Now().UTC().Format(time.RFC3339)
	b, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	return d.writeAtomic(recordName(p.c.Profile), append(b, '\n'), 0o600)
}

// readRecord reads the record start made, from the root-owned state
// directory only, as a root-owned regular file.
func (p *processService) readRecord() (record, error) {
	var rec record
	d, err := openStateDir(p.c.StateDir)
	if err != nil {
		return rec, err
	}
	defer d.close()
	b, err := d.readSmall(recordName(p.c.Profile), maxRecord, trust{uid: os.Geteuid()})
	if err != nil {
		return rec, err
	}
	if err := json.Unmarshal(b, &rec); err != nil {
		return rec, fmt.Errorf("record %s: %w", filepath.Join(p.c.StateDir, recordName(p.c.Profile)), err)
	}
	if rec.PID <= 1 || rec.SID != rec.PID || rec.UID < 0 || rec.Exe == "" {
		return rec, fmt.Errorf("record %s is incomplete", filepath.Join(p.c.StateDir, recordName(p.c.Profile)))
	}
	return rec, nil
}

func (p *processService) removeRecord() {
	d, err := openStateDir(p.c.StateDir)
	if err != nil {
		return
	}
	defer d.close()
	if err := d.remove(recordName(p.c.Profile)); err != nil {
		p.log.Warnf("%v", err)
	}
}
