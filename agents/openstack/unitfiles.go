package openstack

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/stackha/stackha/instance"
)

// Paths the systemd mode reads and writes; tests point them at
// directories of their own.
var (
	// DropInRoot holds runtime unit drop-ins (systemd makes it at boot; it
	// must be root's, on a path of root's directories).
	DropInRoot = "/run/systemd/system"
	// InitScripts and Defaults are where openstack-pkg-tools puts a uwsgi
	// service's init script (ExecStart=/etc/init.d/<name> systemd-start)
	// and the file it sources after building its arguments.
	InitScripts = "/etc/init.d"
	Defaults    = "/etc/default"
	// Journalctl reads a unit's last lines for a failed start.
	Journalctl = "/usr/bin/journalctl"
)

// dropInName is the agent's drop-in in <DropInRoot>/<unit>.d/.
const dropInName = "50-stackha.conf"

// dropIn is what the agent puts in front of a unit it starts, as
// Pacemaker's systemd class does (50-pacemaker.conf): systemd must never
// restart the service behind the cluster's back (Debian's units say
// Restart=on-failure), and at shutdown it stops the service only after
// Pacemaker (Before= orders the stops in reverse).
func dropIn(unit string) []byte {
	return []byte("# written by stackha when it started " + unit + "; removed by its stop\n" +
		"[Unit]\nDescription=Cluster Controlled " + unit + "\nBefore=pacemaker.service pacemaker_remote.service\n\n" +
		"[Service]\nRestart=no\n")
}

// writeDropIn puts the drop-in in place, in a directory made root's
// (mode 0755) under the root-owned DropInRoot, written atomically (mode
// 0644: systemd warns about a drop-in others cannot read). changed says
// whether systemd must reload to see it.
func writeDropIn(unit string) (changed bool, err error) {
	root, err := instance.OpenDir(DropInRoot, instance.RootOnly)
	if err != nil {
		return false, err
	}
	defer root.Close()
	d, err := root.Sub(unit+".d", instance.RootOnly, true, 0o755)
	if err != nil {
		return false, err
	}
	defer d.Close()
	want := dropIn(unit)
	if old, err := d.ReadFile(dropInName, 4096, instance.RootOnly); err == nil && bytes.Equal(old, want) {
		return false, nil
	}
	return true, d.WriteAtomic(dropInName, want, 0o644)
}

// removeDropIn removes the drop-in (and its directory when nothing else
// is in it); removed says whether systemd must reload.
func removeDropIn(unit string) (removed bool, err error) {
	root, err := instance.OpenDir(DropInRoot, instance.RootOnly)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	defer root.Close()
	d, err := root.Sub(unit+".d", instance.RootOnly, false, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	f, _, err := d.OpenFile(dropInName, 0, 0, instance.RootOnly)
	if errors.Is(err, fs.ErrNotExist) {
		d.Close()
		return false, nil
	}
	if err == nil {
		f.Close()
		err = d.Remove(dropInName)
	}
	d.Close()
	if err != nil {
		return false, err
	}
	return true, root.RemoveDir(unit + ".d")
}

// Bounds of what a failed start quotes from the journal.
const (
	journalLines   = 5
	journalMax     = 64 << 10 // bytes read of journalctl's output
	journalQuoted  = 2048     // bytes of quoted lines in a reason
	journalTimeout = 2 * time.Second
)

// unitJournal returns the unit's last journal lines since a time (this
// start), each quoted (the service writes them), at most journalQuoted
// bytes in all; "" when there are none or journalctl cannot tell.
// journalctl runs with a fixed environment, its output and time bounded;
// sdjournal would need cgo. A test replaces it.
var unitJournal = func(ctx context.Context, unit string, since time.Time) string {
	budget := journalTimeout
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) < budget {
		budget = time.Until(dl)
	}
	if budget < 100*time.Millisecond {
		return ""
	}
	// the caller's context may be at its end: the reason is worth the
	// reserve it leaves, within budget
	jctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), budget)
	defer cancel()
	// What the service's own processes wrote first: -u also matches
	// systemd's messages about the unit, and each daemon-reload logs one
	// about Debian's units ("Dependency After=keystone.service is
	// dropped"), which push the service's lines out of the last five.
	if out := journalctl(jctx, since, "_SYSTEMD_UNIT="+unit); out != "" {
		return out
	}
	return journalctl(jctx, since, "-u", unit)
}

// journalctl runs journalctl with a fixed environment, its output and
// time bounded, and quotes its last lines.
func journalctl(ctx context.Context, since time.Time, match ...string) string {
	args := append(match, "-n", strconv.Itoa(journalLines), "-o", "cat", "--no-pager", "-q")
	if !since.IsZero() {
		args = append(args, "--since", "@"+strconv.FormatInt(since.Unix(), 10))
	}
	cmd := exec.CommandContext(ctx, Journalctl, args...)
	cmd.Env = []string{"PATH=/usr/bin:/bin", "LANG=C.UTF-8", "SYSTEMD_PAGER=", "SYSTEMD_COLORS=0"}
	cmd.WaitDelay = 200 * time.Millisecond
	out := &capped{max: journalMax}
	cmd.Stdout = out
	if err := cmd.Run(); err != nil && out.Len() == 0 {
		return ""
	}
	return quoteLines(out.String(), journalLines, journalQuoted)
}

// quoteLines keeps the last n non-empty lines of s, each quoted, joined
// with "; ", at most max bytes (the oldest dropped first).
func quoteLines(s string, n, max int) string {
	var lines []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			lines = append(lines, instance.Quote(l))
		}
	}
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	for len(lines) > 0 && len(strings.Join(lines, "; ")) > max {
		lines = lines[1:]
	}
	return strings.Join(lines, "; ")
}

// capped keeps the last max bytes written to it.
type capped struct {
	bytes.Buffer
	max int
}

func (c *capped) Write(p []byte) (int, error) {
	n := len(p)
	if len(p) > c.max {
		p = p[len(p)-c.max:]
	}
	if over := c.Len() + len(p) - c.max; over > 0 {
		c.Next(over)
	}
	c.Buffer.Write(p)
	return n, nil
}

// journalReason is the unit's journal for a reason: "" or "; journal: ...".
func journalReason(ctx context.Context, unit string, since time.Time) string {
	if j := unitJournal(ctx, unit, since); j != "" {
		return fmt.Sprintf("; last lines of its journal: %s", j)
	}
	return fmt.Sprintf("; see journalctl -u %s", unit)
}
