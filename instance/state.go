package instance

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path/filepath"
	"time"
)

// Root is the parent of every instance's state directory. It and each
// instance's directory are root's and no one else can write them (RootOnly);
// a test may point Root at a directory of its own.
var Root = "/run/stackha"

// StateDir is the path of the state directory of the instance name (see
// Name).
func StateDir(name string) string { return filepath.Join(Root, name) }

// The record format: an envelope around the agent's own typed data.
const (
	recordFormat = 1
	recordSuffix = ".record"
	// MaxRecord bounds a record file.
	MaxRecord = 64 << 10
)

type envelope struct {
	Format  int             `json:"format"`
	Kind    string          `json:"kind"`
	Version int             `json:"version"`
	Written string          `json:"written"`
	Data    json.RawMessage `json:"data"`
}

// Kind names a record and the version of its data: a record of another
// version is refused (never half-read), with a reason.
type Kind struct {
	Name    string
	Version int
}

// UntrustedError says the state directory (or Root) fails the ownership
// rules: nothing in it can be taken as written by us.
type UntrustedError struct{ Err error }

func (e *UntrustedError) Error() string {
	return "state directory not trusted: " + e.Err.Error()
}
func (e *UntrustedError) Unwrap() error { return e.Err }

// openState opens the instance's state directory; with create, Root and the
// directory are made when missing (0755 and 0700). Missing without create:
// an error wrapping fs.ErrNotExist.
func openState(name string, create bool) (*Dir, error) {
	if err := CheckID(name); err != nil || name == "" {
		return nil, fmt.Errorf("state of %s: not a valid instance name", Quote(name))
	}
	var root *Dir
	var err error
	if create {
		root, err = MkdirAll(Root, RootOnly, 0o755)
	} else {
		root, err = OpenDir(Root, RootOnly)
	}
	if err != nil {
		return nil, stateErr(err)
	}
	defer root.Close()
	d, err := root.sub(name, RootOnly, create, 0o700, true)
	if err != nil {
		return nil, stateErr(err)
	}
	return d, nil
}

func stateErr(err error) error {
	if errors.Is(err, fs.ErrNotExist) {
		return err
	}
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return err // an I/O error, not a failed check
	}
	return &UntrustedError{Err: err}
}

// Save writes the instance's record of kind k atomically (see
// Dir.WriteAtomic), root-only (0600), creating the state directory when
// needed.
func Save(name string, k Kind, data any) error {
	raw, err := json.Marshal(data)
	if err != nil {
		return fmt.Errorf("encoding the %s record: %w", k.Name, err)
	}
	b, err := json.Marshal(envelope{Format: recordFormat, Kind: k.Name, Version: k.Version,
		Written: time.Now().UTC().Format(time.RFC3339), Data: raw})
	if err != nil {
		return fmt.Errorf("encoding the %s record: %w", k.Name, err)
	}
	if len(b) > MaxRecord {
		return fmt.Errorf("the %s record would be %d bytes, more than %d", k.Name, len(b), MaxRecord)
	}
	d, err := openState(name, true)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.WriteAtomic(k.Name+recordSuffix, append(b, '\n'), 0o600)
}

// Load reads the instance's record of kind k into data. found is false
// (and err nil) only when there is no record: no state directory, or one
// without a file of this record's name. A record that
// exists but cannot be read, does not parse, is of another kind or version,
// or a state directory that fails the checks, is an error: the caller never
// takes it for "nothing started".
func Load(name string, k Kind, data any) (found bool, err error) {
	d, err := openState(name, false)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	defer d.Close()
	file := k.Name + recordSuffix
	b, err := d.ReadFile(file, MaxRecord, RootOnly)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("the %s record: %w", k.Name, err)
	}
	p := filepath.Join(d.path, file)
	var env envelope
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&env); err != nil {
		return false, fmt.Errorf("record %s does not parse: %w", p, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return false, fmt.Errorf("record %s does not parse: more follows the record", p)
	}
	switch {
	case env.Format != recordFormat:
		return false, fmt.Errorf("record %s is of format %d; this stackha reads format %d", p, env.Format, recordFormat)
	case env.Kind != k.Name || env.Version != k.Version:
		return false, fmt.Errorf("record %s holds %s version %d; this stackha reads %s version %d",
			p, Quote(env.Kind), env.Version, k.Name, k.Version)
	}
	dec = json.NewDecoder(bytes.NewReader(env.Data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(data); err != nil {
		return false, fmt.Errorf("record %s: its data does not parse: %w", p, err)
	}
	return true, nil
}

// Remove deletes the instance's record of kind k, then its state directory
// when nothing else is left in it. A missing record is no error; the error
// says the record is still there. The directory is only tidied: a failure
// to remove it is not reported (Root is emptied at boot).
func Remove(name string, k Kind) error {
	d, err := openState(name, false)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	err = d.Remove(k.Name + recordSuffix)
	d.Close()
	if err != nil {
		return err
	}
	if root, err := OpenDir(Root, RootOnly); err == nil {
		root.RemoveDir(name)
		root.Close()
	}
	return nil
}

// Untrusted reports whether err says that the state directory (or Root)
// fails the ownership rules (UntrustedError): nothing in it can be ours.
func Untrusted(err error) bool {
	var u *UntrustedError
	return errors.As(err, &u)
}

// OpenState opens the instance's state directory for files of the agent's
// own beside its record (created with create); see Load for the errors.
func OpenState(name string, create bool) (*Dir, error) { return openState(name, create) }

// ReadStateFile reads file, one of the agent's own beside its record in
// the instance's state directory (a record of an earlier stackha, say), as
// a record is read: root's alone, at most MaxRecord bytes. b is nil and err
// nil when there is no state directory or no such file; path names the
// file for messages.
func ReadStateFile(name, file string) (b []byte, path string, err error) {
	d, err := openState(name, false)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, "", nil
	}
	if err != nil {
		return nil, "", err
	}
	defer d.Close()
	path = filepath.Join(d.path, file)
	b, err = d.ReadFile(file, MaxRecord, RootOnly)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, path, nil
	}
	return b, path, err
}
