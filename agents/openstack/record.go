package openstack

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/stackha/stackha/instance"
)

// recordKind names the record of the agent (a profile's own name, never
// an alias) in the instance's state directory: <agent>.record.
func recordKind(agent string) instance.Kind { return instance.Kind{Name: agent, Version: 1} }

// record is what start did, kept in the instance's root-only state
// (instance.Save): what stop stops whatever the parameters say later, and
// the only thing that makes a process ours. The pid file the operator names
// is written for others to read; it is never trusted.
type record struct {
	Mode Mode `json:"mode"`
	// Unit is the systemd unit start started (run_mode=systemd).
	Unit string `json:"unit,omitempty"`
	// Process is the session leader start started (run_mode=process):
	// pid, start time, owner and session, never its program (a wrapper
	// that execs, or a "#!/usr/bin/env python3" script, changes that after
	// start).
	Process *instance.Identity `json:"process,omitempty"`
	// UWSGI: Process is uwsgi's master (stopUWSGI stops it).
	UWSGI   bool     `json:"uwsgi,omitempty"`
	GID     int      `json:"gid,omitempty"`
	Argv    []string `json:"argv,omitempty"`
	PIDFile string   `json:"pidfile,omitempty"`
	// Agent is the drain agent (agentcheck.go) start left running.
	Agent *instance.Identity `json:"agent,omitempty"`
}

// check refuses a record that cannot describe what start did: a broken
// record is an error, never "nothing runs".
func (r *record) check() error {
	switch r.Mode {
	case ModeSystemd:
		if r.Unit == "" || len(r.Unit) > 256 || strings.ContainsAny(r.Unit, "/\x00\n") {
			return fmt.Errorf("it names no valid unit (%s)", instance.Quote(r.Unit))
		}
	case ModeProcess:
		switch {
		case r.Process == nil:
			return errors.New("it names no process")
		case r.Process.Valid() != nil:
			return r.Process.Valid()
		case r.Process.Session != r.Process.PID:
			return fmt.Errorf("pid %d was recorded in session %d: start records a session leader", r.Process.PID, r.Process.Session)
		case r.GID < 0:
			return fmt.Errorf("gid %d", r.GID)
		}
		if r.PIDFile != "" {
			if err := instance.CheckPath("pidfile", r.PIDFile); err != nil {
				return err
			}
		}
	default:
		return fmt.Errorf("run mode %s", instance.Quote(string(r.Mode)))
	}
	if r.Agent != nil {
		if err := r.Agent.CheckHelper(); err != nil {
			return fmt.Errorf("drain agent: %w", err)
		}
	}
	return nil
}

// loadRecord reads the record agent keeps for the instance name: nil (and
// no error) when there is none. A record that exists but cannot be read,
// is not trusted, or does not describe what start did is an error. Without
// one, the record of an earlier stackha is read (legacyRecord).
func loadRecord(name, agent string) (*record, error) {
	var rec record
	found, err := instance.Load(name, recordKind(agent), &rec)
	if err != nil {
		return nil, fmt.Errorf("the record of what start did cannot be read: %w", err)
	}
	if !found {
		return legacyRecord(name, agent)
	}
	if err := rec.check(); err != nil {
		return nil, fmt.Errorf("the record of what start did in %s is broken: %w", instance.StateDir(name), err)
	}
	return &rec, nil
}

// legacyRecord reads the record of a stackha from before the instance
// layer (<agent>.stackha, in the same root-only directory), so that an
// upgrade without a reboot keeps track of what the older agent started:
// its pid, start time, owner and session make an instance.Identity (the
// program it also kept is not used). nil when there is none. To be
// deleted once no node can have one (a reboot empties /run).
func legacyRecord(name, agent string) (*record, error) {
	b, p, err := instance.ReadStateFile(name, legacyName(agent))
	if err != nil {
		return nil, fmt.Errorf("the record of an earlier stackha: %w", err)
	}
	if b == nil {
		return nil, nil
	}
	var old struct {
		PID       int      `json:"pid"`
		StartTime uint64   `json:"start_time"`
		UID       uint32   `json:"uid"`
		GID       int      `json:"gid"`
		SID       int      `json:"sid"`
		Argv      []string `json:"argv"`
		PIDFile   string   `json:"pidfile"`
	}
	if err := json.Unmarshal(b, &old); err != nil {
		return nil, fmt.Errorf("%s, the record of an earlier stackha, does not parse: %w", p, err)
	}
	rec := &record{Mode: ModeProcess, GID: old.GID, Argv: old.Argv, PIDFile: old.PIDFile,
		Process: &instance.Identity{PID: old.PID, Start: old.StartTime, UID: old.UID, Session: old.SID}}
	if err := rec.check(); err != nil {
		return nil, fmt.Errorf("%s, the record of an earlier stackha, is broken: %w", p, err)
	}
	return rec, nil
}

func legacyName(agent string) string { return agent + ".stackha" }

func saveRecord(name, agent string, rec *record) error {
	return instance.Save(name, recordKind(agent), rec)
}

// removeRecord removes the record (and one of an earlier stackha), then
// the state directory if nothing else is left in it.
func removeRecord(name, agent string) error {
	if d, err := instance.OpenState(name, false); err == nil {
		err = d.Remove(legacyName(agent))
		d.Close()
		if err != nil {
			return err
		}
	}
	return instance.Remove(name, recordKind(agent))
}
