// Package pcmktool runs Pacemaker's command-line tools from an agent or a
// watcher: found on PATH or where Pacemaker installs them (an agent's PATH
// may be the executor's, or none), bounded in time by the caller's context
// and in output by MaxOutput. It also holds the one node attribute an agent
// publishes (SetNodeAttr).
package pcmktool

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"
)

// MaxOutput bounds what is kept of a tool's output.
const MaxOutput = 4 << 10

// Run runs argv with its output (stdout and stderr) capped at MaxOutput:
// argv[0] from PATH, else from /usr/sbin, /usr/bin or /sbin. A tool that is
// not installed is an error; so is ctx ending first (the tool is killed,
// and its output pipes are abandoned a second later).
func Run(ctx context.Context, argv []string) ([]byte, error) {
	path, err := exec.LookPath(argv[0])
	for _, dir := range []string{"/usr/sbin", "/usr/bin", "/sbin"} {
		if err == nil {
			break
		}
		if p := filepath.Join(dir, argv[0]); unix.Access(p, unix.X_OK) == nil {
			path, err = p, nil
		}
	}
	if err != nil {
		return nil, err
	}
	out := &capped{max: MaxOutput}
	cmd := exec.CommandContext(ctx, path, argv[1:]...)
	cmd.Stdout, cmd.Stderr, cmd.Dir = out, out, "/"
	cmd.WaitDelay = time.Second
	err = cmd.Run()
	if ctx.Err() != nil {
		err = errors.Join(err, ctx.Err())
	}
	return out.b.Bytes(), err
}

type capped struct {
	b   bytes.Buffer
	max int
}

func (c *capped) Write(p []byte) (int, error) {
	if room := c.max - c.b.Len(); room > 0 {
		c.b.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

// MaxAttrName bounds a node attribute's name.
const MaxAttrName = 64

// CheckAttrName accepts what Pacemaker accepts as an XML id's characters,
// that a rule can name without quoting: letters, digits, '-', '_' and '.',
// starting with a letter, at most MaxAttrName bytes.
func CheckAttrName(name string) error {
	if name == "" || len(name) > MaxAttrName {
		return fmt.Errorf("node attribute name: empty or longer than %d bytes", MaxAttrName)
	}
	for i, c := range []byte(name) {
		letter := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
		if !letter && (i == 0 || !(c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.')) {
			return fmt.Errorf("node attribute name %q: only letters, digits, '-', '_' and '.', starting with a letter", name)
		}
	}
	return nil
}

// AttrCommand is how node's transient attribute name is set to value:
// attrd_updater with no dampening (the value counts at once, and is gone
// when the node leaves the cluster).
func AttrCommand(node, name, value string) []string {
	return []string{"attrd_updater", "--node", node, "--name", name, "--update", value, "--delay", "0"}
}
