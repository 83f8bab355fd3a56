package haproxy

import (
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/stackha/stackha/instance"
	"github.com/stackha/stackha/ocf"
)

// Upgrades: stackha 0.2 recorded the master it started as master.record in
// the instance's state directory, in lines of its own:
//
//	pid N
//	start N
//	session N
//	exe PATH
//	socket PATH
//	uids 0 [N]
//
// A package upgrade does not restart a running haproxy, so the first action
// of this stackha that reads the record (a monitor, a stop, a reload, a
// probe: under the instance's lock, which the runtime holds) converts it:
// read as strictly as 0.2 read it (a root-only file in the root-only state
// directory, every key once and nothing else, plausible values), saved as
// today's record, and only then removed. A record that fails those checks
// is an error, never "nothing runs".

// legacyName is 0.2's record file.
const legacyName = "master.record"

// defaultStopTimeout is stop_timeout's default, for a record converted
// without the parameters (0.2 did not record it).
const defaultStopTimeout = 30 * time.Second

// legacyRecord is what 0.2 recorded.
type legacyRecord struct {
	PID     int
	Start   uint64
	Session int
	Exe     string
	Socket  string
	UIDs    []uint32
}

// parseLegacy reads 0.2's format: each of the six keys exactly once, in
// lines "key value" ending with a newline, and nothing else.
func parseLegacy(b []byte) (*legacyRecord, error) {
	s := string(b)
	if !strings.HasSuffix(s, "\n") {
		return nil, errors.New("it does not end with a newline")
	}
	r := &legacyRecord{}
	seen := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSuffix(s, "\n"), "\n") {
		k, v, _ := strings.Cut(line, " ")
		if seen[k] {
			return nil, fmt.Errorf("key %s twice", instance.Quote(k))
		}
		seen[k] = true
		var err error
		switch k {
		case "pid":
			r.PID, err = strconv.Atoi(v)
		case "start":
			r.Start, err = strconv.ParseUint(v, 10, 64)
		case "session":
			r.Session, err = strconv.Atoi(v)
		case "exe":
			r.Exe = v
		case "socket":
			r.Socket = v
		case "uids":
			for _, f := range strings.Split(v, " ") {
				n, perr := strconv.ParseUint(f, 10, 32)
				err = errors.Join(err, perr)
				r.UIDs = append(r.UIDs, uint32(n))
			}
		default:
			err = errors.New("unknown key")
		}
		if err != nil {
			return nil, fmt.Errorf("line %s: %w", instance.Quote(line), err)
		}
	}
	for _, k := range []string{"pid", "start", "session", "exe", "socket", "uids"} {
		if !seen[k] {
			return nil, fmt.Errorf("no %s", k)
		}
	}
	switch {
	case r.PID <= 1 || r.Session != r.PID || r.Start == 0:
		return nil, fmt.Errorf("implausible master (pid %d, session %d, start %d): 0.2 recorded a session leader", r.PID, r.Session, r.Start)
	case len(r.UIDs) < 1 || len(r.UIDs) > 2 || r.UIDs[0] != 0:
		return nil, fmt.Errorf("implausible owners %v: 0.2 recorded root, then the configuration's user", r.UIDs)
	}
	if err := instance.CheckPath("exe", r.Exe); err != nil {
		return nil, err
	}
	if err := instance.CheckPath("socket", r.Socket); err != nil {
		return nil, err
	}
	return r, nil
}

// loadLegacy reads 0.2's record: nil and no error when there is none.
func loadLegacy(name string) (*legacyRecord, error) {
	b, p, err := instance.ReadStateFile(name, legacyName)
	if err != nil {
		return nil, fmt.Errorf("the record of stackha 0.2: %w", err)
	}
	if b == nil {
		return nil, nil
	}
	l, err := parseLegacy(b)
	if err != nil {
		return nil, fmt.Errorf("record %s (of stackha 0.2): %w", p, err)
	}
	return l, nil
}

// convert makes today's record of l. What 0.2 did not record comes from
// elsewhere: the pid file from the master's own command line (-p) when it
// still runs as recorded, else from the parameters s (nil for a stop or
// probe from the record), else 0.2's default; the stop timeout from s, else
// its default. The launcher is not known: the stats socket is then
// believed only when a live process of the instance holds it.
func (l *legacyRecord) convert(name string, s *settings) *record {
	rec := &record{
		Master:    instance.Identity{PID: l.PID, Start: l.Start, UID: 0, Session: l.Session, Exe: l.Exe},
		Converted: true, Socket: l.Socket, UIDs: l.UIDs,
		Pidfile: filepath.Join(instance.StateDir(name), "haproxy.pid"), StopTimeout: defaultStopTimeout,
	}
	if s != nil {
		rec.Pidfile, rec.StopTimeout = s.pidfile, s.stopTimeout
	}
	if pi, ok := (identity{rec: rec}).check(l.PID); ok {
		if p := pidfileArg(pi.Argv); instance.CheckPath("pidfile", p) == nil {
			rec.Pidfile = p
		}
	}
	return rec
}

// pidfileArg returns the argument of -p in argv, "" when there is none.
func pidfileArg(argv []string) string {
	for i := 0; i+1 < len(argv); i++ {
		if argv[i] == "-p" {
			return argv[i+1]
		}
	}
	return ""
}

// upgradeRecord converts 0.2's record of the instance, if there is one:
// today's record is written, then 0.2's removed. A record that cannot be
// written is still used for this action (and converted again by the next);
// nil and no error when there is no record of 0.2 either.
func upgradeRecord(name string, s *settings, log *ocf.Logger) (*record, error) {
	l, err := loadLegacy(name)
	if err != nil || l == nil {
		return nil, err
	}
	rec := l.convert(name, s)
	if err := rec.check(); err != nil {
		return nil, fmt.Errorf("the record of stackha 0.2 of %s: %w", instance.Quote(name), err)
	}
	if err := instance.Save(name, recordKind, rec); err != nil {
		log.Warnf("the record of stackha 0.2 is used as it is: %v", err)
		return rec, nil
	}
	d, err := instance.OpenState(name, false)
	if err == nil {
		err = d.Remove(legacyName)
		d.Close()
	}
	if err != nil {
		log.Warnf("removing the record of stackha 0.2 (converted): %v", err)
	}
	log.Infof("the record of stackha 0.2 (master pid %d) is converted to this release's", l.PID)
	return rec, nil
}
