package vip

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"strings"

	"github.com/stackha/stackha/instance"
)

// Upgrades: what the stackha releases before the instance layer left in
// the instance's directory. Pacemaker does not restart a resource when its
// package is upgraded, so a VIP started by one of them is stopped by this
// one.
//
//   - vip.json: the same data as record, without the instance layer's
//     envelope (the announcer's identity has the same fields);
//   - before it, lvs-<ip>: the interface LVS support took the loopback copy
//     from, and announce-<ip>.pid, whose process cannot be told from another
//     by its pid alone (it is left to finish).

// legacyName is the record of the release before the instance layer.
const legacyName = "vip.json"

// legacyRecord reads vip.json: nil, nil when there is none; like
// loadRecord, one that cannot be read is an error.
func legacyRecord(name string) (*record, error) {
	b, p, err := instance.ReadStateFile(name, legacyName)
	if err != nil {
		return nil, fmt.Errorf("the record of an earlier stackha: %w", err)
	}
	if b == nil {
		return nil, nil
	}
	var rec record
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&rec); err != nil {
		return nil, fmt.Errorf("record %s (of an earlier stackha) does not parse: %w", p, err)
	}
	if err := rec.check(); err != nil {
		return nil, fmt.Errorf("record %s (of an earlier stackha): %w", p, err)
	}
	return &rec, nil
}

// removeLegacyRecord deletes vip.json.
func removeLegacyRecord(name string) error {
	d, err := instance.OpenState(name, false)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Remove(legacyName)
}

// legacyLoopback reads where the oldest releases took the LVS loopback copy
// of ip from, and removes their files.
func legacyLoopback(name string, ip netip.Addr) string {
	d, err := instance.OpenState(name, false)
	if err != nil {
		return ""
	}
	defer d.Close()
	d.Remove("announce-" + ip.String() + ".pid")
	file := "lvs-" + ip.String()
	b, err := d.ReadFile(file, 64, instance.RootOnly)
	d.Remove(file)
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}
