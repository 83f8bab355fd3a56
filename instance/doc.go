// Package instance is the floor every stackha agent stands on: what each
// agent needs done the same way, written once (the Go counterpart of
// resource-agents' ocf-shellfuncs). It holds
//
//   - the one resource-id rule and the state directory /run/stackha/<id>
//     (id.go, state.go);
//   - a typed, versioned, atomically written, root-only record of what start
//     did (record.go);
//   - the per-instance lock the OCF runtime takes for every action (lock.go);
//   - process identity (pid, start time, owner and session, the executable
//     only where it is reliable) read from /proc, and signalling a session
//     (proc.go, identity.go);
//   - safe file access: directories opened component by component without
//     following links, files opened with openat and checked with fstat,
//     under ownership rules written once (fs.go);
//   - Quote, the one way untrusted text enters a reason or a log (quote.go).
//
// It imports nothing of stackha: the runtime (package ocf) and the agents
// both build on it. Errors are plain Go errors; the caller decides the OCF
// exit code.
package instance
