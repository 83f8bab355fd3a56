package watch

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/stackha/stackha/agents/internal/pcmktool"
	"github.com/stackha/stackha/instance"
	"github.com/stackha/stackha/ocf"
)

// The bounds of a watcher's reports.
const (
	// MaxReports is how many reports one watcher makes in its life: a
	// report makes Pacemaker recover the instance, and the stop that
	// recovery runs ends the watcher.
	MaxReports = 3
	// ReportGap is the least time between two reports.
	ReportGap = 10 * time.Second
	// LockWait is how long a report waits for the instance's lock (an
	// action of the instance holds it); then it gives up: the next
	// monitor finds the failure.
	LockWait = 5 * time.Second
	// ReportTimeout bounds one run of crm_resource.
	ReportTimeout = 10 * time.Second
	// MaxLogLines bounds what one watcher writes to the log in its life.
	MaxLogLines = 20
)

// Flags are the command-line arguments every watcher takes.
type Flags struct {
	Resource string // OCF_RESOURCE_INSTANCE: the id Pacemaker runs the instance by
	Name     string // the instance's name (its state directory and lock)
	Node     string // the Pacemaker node the watcher reports for
}

// Register declares the flags on fs.
func (f *Flags) Register(fs *flag.FlagSet) {
	fs.StringVar(&f.Resource, "resource", "", "the resource instance Pacemaker knows")
	fs.StringVar(&f.Name, "name", "", "the instance's name (state and lock)")
	fs.StringVar(&f.Node, "node", "", "the node name")
}

// Args is the command line of f.
func (f Flags) Args() []string {
	return []string{"-resource=" + f.Resource, "-name=" + f.Name, "-node=" + f.Node}
}

// Check refuses flags a start cannot have given.
func (f Flags) Check() error {
	if err := instance.CheckID(f.Resource); err != nil || f.Resource == "" {
		return fmt.Errorf("resource %s is not a resource instance", instance.Quote(f.Resource))
	}
	if err := instance.CheckID(f.Name); err != nil || f.Name == "" {
		return fmt.Errorf("name %s is not an instance name", instance.Quote(f.Name))
	}
	return CheckNode(f.Node)
}

// Command is the report: Pacemaker 2.1's crm_resource --fail, which has
// the controller on node record a failed operation of the resource there
// (the scheduler then recovers it as it does a failed monitor: on-fail,
// the fail count, migration-threshold). It takes the primitive's id as the
// executor knows it, which is OCF_RESOURCE_INSTANCE: the bare id for an
// anonymous clone's instance, id:N for a globally unique clone's, never the
// clone's own id (crm_resource refuses anything but a primitive).
func Command(resource, node string) []string {
	return []string{"crm_resource", "--fail", "--resource", resource, "--node", node}
}

// Outcome is what became of a failure the watcher saw.
type Outcome int

const (
	Reported Outcome = iota // crm_resource took it
	Limited                 // not reported: too soon after the last, or too many
	NotOurs                 // not reported: stop has begun, or the record names another watcher or node
	Failed                  // not reported: no lock, no crm_resource, or it failed
)

func (o Outcome) String() string {
	return [...]string{"reported", "rate-limited", "not ours any more", "failed"}[o]
}

// Logger is where a watcher logs (an *ocf.Logger).
type Logger interface {
	Infof(format string, args ...any)
	Warnf(format string, args ...any)
	Errorf(format string, args ...any)
}

// Reporter reports failures of one instance, at most MaxReports times and
// ReportGap apart, each under the instance's lock and only while Owns
// says the record still names this watcher.
type Reporter struct {
	Flags
	// Owns reads the agent's record (under the lock) and reports whether
	// it still names this watcher on Flags.Node (Record.Names).
	Owns func() (bool, error)
	// Lock takes the instance's lock (instance.Lock).
	Lock func(ctx context.Context, name, action string) (func(), error)
	// Exec runs argv and returns its output, at most pcmktool.MaxOutput bytes.
	Exec func(ctx context.Context, argv []string) ([]byte, error)
	Log  Logger
	Now  func() time.Time

	sent   int
	last   time.Time
	logged int
}

// NewReporter is a Reporter with the real lock, crm_resource and clock.
func NewReporter(f Flags, owns func() (bool, error), log Logger) *Reporter {
	return &Reporter{Flags: f, Owns: owns, Lock: instance.Lock, Exec: pcmktool.Run, Log: log, Now: time.Now}
}

// Report reports the failure why (a short sentence) unless the rules say
// not to, and says what became of it. It never fails the watcher: what is
// not reported, the next monitor finds.
func (r *Reporter) Report(ctx context.Context, why string) Outcome {
	now := r.Now()
	if r.sent >= MaxReports || r.sent > 0 && now.Sub(r.last) < ReportGap {
		r.logf(r.Log.Warnf, "%s: not reported (%d reports made, the last %s ago): the monitor will find it", why, r.sent, now.Sub(r.last).Round(time.Millisecond))
		return Limited
	}
	lctx, cancel := context.WithTimeout(ctx, LockWait)
	release, err := r.Lock(lctx, r.Name, "watch")
	cancel()
	if err != nil {
		r.logf(r.Log.Warnf, "%s: not reported, the instance's lock: %v", why, err)
		return Failed
	}
	defer release()
	owns, err := r.Owns()
	if err != nil || !owns {
		if err != nil {
			r.logf(r.Log.Warnf, "%s: not reported, the record: %v", why, err)
		} else {
			r.logf(r.Log.Infof, "%s: not reported: the record no longer names this watcher on %s (stopped or moved)", why, r.Node)
		}
		return NotOurs
	}
	argv := Command(r.Resource, r.Node)
	r.sent, r.last = r.sent+1, now
	ectx, cancel := context.WithTimeout(ctx, ReportTimeout)
	out, err := r.Exec(ectx, argv)
	cancel()
	if err != nil {
		r.logf(r.Log.Errorf, "%s: reporting it with crm_resource failed (%v): %s; the monitor will find it", why, err, instance.Quote(string(bytes.TrimSpace(out))))
		return Failed
	}
	r.logf(r.Log.Warnf, "%s: reported to Pacemaker (crm_resource --fail --resource %s --node %s)", why, r.Resource, r.Node)
	return Reported
}

// logf logs through f while the watcher has lines left.
func (r *Reporter) logf(f func(string, ...any), format string, args ...any) {
	if r.logged >= MaxLogLines {
		return
	}
	r.logged++
	if r.logged == MaxLogLines {
		format += " (no more lines from this watcher)"
	}
	f(format, args...)
}

// NewLog is a watcher's logger: the cluster's sinks as an agent's, tagged
// with the watcher's name and the resource.
func NewLog(helper, resource string) *ocf.Logger {
	get := func(ks ...string) string {
		for _, k := range ks {
			if v := os.Getenv(k); v != "" {
				return v
			}
		}
		return ""
	}
	return ocf.NewLogger(ocf.LogConfig{Agent: helper, Instance: resource,
		File: get("HA_LOGFILE", "PCMK_logfile"), Facility: get("HA_LOGFACILITY", "PCMK_logfacility"),
		Journal: true, Stderr: os.Stderr})
}
