// Package watch is what the agents' event watchers share: how a watcher
// is started, recorded, checked and ended (its lifecycle, one per
// instance), and how it reports a failure to Pacemaker (crm_resource
// --fail), at most a few times, never once stop has begun and never for an
// instance that is no longer this watcher's. What a watcher watches (a
// link and an address, a process) is each agent's own.
//
// A watcher is a detached copy of the binary (`stackha <agent>-watch
// ...`), the leader of a session of its own, whose identity (pid, start
// time, owner, session, executable) and node the agent's record keeps.
// The record is the one truth both sides read under the instance's lock:
// stop removes the watcher from the record, and saves it, before it ends
// the watcher; a watcher reports only under the lock, only while the
// record still names it, on the node it was started for.
package watch

import (
	"errors"
	"fmt"
	"os"
	"syscall"

	"github.com/stackha/stackha/instance"
)

// Record is what an agent's record keeps of its watcher.
type Record struct {
	instance.Identity
	// Node is the Pacemaker node name the watcher reports for.
	Node string `json:"node"`
}

// Check refuses a recorded watcher that cannot be one start made.
func (w *Record) Check() error {
	if err := w.Identity.CheckHelper(); err != nil {
		return fmt.Errorf("watcher: %w", err)
	}
	if err := CheckNode(w.Node); err != nil {
		return fmt.Errorf("watcher %d: %w", w.PID, err)
	}
	return nil
}

// Runs reports whether the recorded watcher still runs.
func (w *Record) Runs() bool { return w != nil && w.Identity.Check() == nil }

// Names reports whether the record names the watcher self, on node.
func (w *Record) Names(self instance.Identity, node string) bool {
	return w != nil && w.PID == self.PID && w.Start == self.Start && w.Session == self.Session && w.Node == node
}

// MaxNode bounds a node name (Pacemaker's are host names).
const MaxNode = 255

// CheckNode refuses a node name that cannot be Pacemaker's: empty, too
// long, or holding a blank or a control byte.
func CheckNode(node string) error {
	if node == "" || len(node) > MaxNode {
		return fmt.Errorf("node name %s: empty or longer than %d bytes", instance.Quote(node), MaxNode)
	}
	for _, c := range []byte(node) {
		if c <= ' ' || c == 0x7f {
			return fmt.Errorf("node name %s holds a blank or a control byte", instance.Quote(node))
		}
	}
	return nil
}

// Env is the environment a watcher gets: the PATH it finds crm_resource
// on and the cluster's logging settings; nothing else.
func Env(lookup func(string) (string, bool)) []string {
	var env []string
	for _, k := range []string{"PATH", "HA_LOGFILE", "PCMK_logfile", "HA_LOGFACILITY", "PCMK_logfacility", "HA_debug", "PCMK_debug"} {
		if v, ok := lookup(k); ok {
			env = append(env, k+"="+v)
		}
	}
	return env
}

// Start starts self (the running binary) as the watcher `self helper
// args...`, detached in a session of its own with /dev/null for its
// standard streams, and returns its record. It inherits no descriptor:
// the instance's lock is close-on-exec.
func Start(self, helper string, args, env []string, node string) (*Record, error) {
	if self == "" {
		return nil, errors.New("the path of the running binary is unknown")
	}
	if err := CheckNode(node); err != nil {
		return nil, err
	}
	id, err := instance.SpawnSelf(self, append([]string{helper}, args...), env, "/")
	if err != nil {
		return nil, fmt.Errorf("starting %s: %w", helper, err)
	}
	return &Record{Identity: id, Node: node}, nil
}

// End sends SIGTERM to the recorded watcher, only while it still is the
// recorded process (Identity.Signal); one that has exited is no error. The
// caller has already removed it from the record and saved that: from then
// on the watcher cannot report, even if the signal were lost.
func End(w *Record) error {
	if w == nil {
		return nil
	}
	return w.Signal(syscall.SIGTERM)
}

// Self is the identity of the running process, as a record names it.
func Self() (instance.Identity, error) { return instance.Identify(os.Getpid(), true) }
