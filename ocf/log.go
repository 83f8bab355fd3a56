package ocf

import (
	"fmt"
	"io"
	"log/syslog"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-systemd/v22/journal"
	"github.com/stackha/stackha/metadata"
)

// Level is a log priority.
type Level int

// Log levels, in syslog's order of severity.
const (
	LevelDebug Level = iota
	LevelInfo
	LevelWarn
	LevelError
)

var levelNames = [...]string{"DEBUG", "INFO", "WARNING", "ERROR"}

func (l Level) String() string { return levelNames[l] }

// Logger writes an agent's log lines where the cluster's conventions say:
// HA_LOGFILE / PCMK_logfile (every line), HA_DEBUGLOG (debug lines too),
// the journal when it runs, else syslog with HA_LOGFACILITY /
// PCMK_logfacility (unless "none"), and standard error when no sink is set.
// Each line is tagged "<agent>(<resource>)[<pid>]". Debug lines are kept
// only when HA_debug is on.
type Logger struct {
	mu       sync.Mutex
	tag      string
	agent    string
	instance string
	debug    bool
	files    []io.Writer // every level
	debugLog io.Writer   // debug and above
	sys      *syslog.Writer
	journal  bool
	stderr   io.Writer
	closers  []io.Closer
	now      func() time.Time
}

// LogConfig is what NewLogger reads; Run fills it from the environment.
type LogConfig struct {
	Agent, Instance string
	File, DebugFile string
	Facility        string
	Debug           bool
	Journal         bool // use the journal when it is running
	Stderr          io.Writer
}

func logConfigFromEnv(env Env, agent, instance string, stderr io.Writer) LogConfig {
	dbg, _ := metadata.ParseBool(first(env, "HA_debug", "PCMK_debug"))
	return LogConfig{
		Agent:     agent,
		Instance:  instance,
		File:      first(env, "HA_LOGFILE", "PCMK_logfile"),
		DebugFile: get(env, "HA_DEBUGLOG"),
		Facility:  first(env, "HA_LOGFACILITY", "PCMK_logfacility"),
		Debug:     dbg,
		Journal:   true,
		Stderr:    stderr,
	}
}

// NewLogger opens the sinks named in c. A sink that cannot be opened is
// reported once on standard error and skipped: logging never fails an
// action.
func NewLogger(c LogConfig) *Logger {
	l := &Logger{agent: c.Agent, instance: c.Instance, debug: c.Debug, stderr: c.Stderr, now: time.Now}
	if l.stderr == nil {
		l.stderr = io.Discard
	}
	inst := c.Instance
	if inst == "" {
		inst = "-"
	}
	l.tag = fmt.Sprintf("%s(%s)[%d]", c.Agent, inst, os.Getpid())
	open := func(path string) io.Writer {
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
		if err != nil {
			fmt.Fprintf(l.stderr, "%s: cannot open log file: %v\n", l.tag, err)
			return nil
		}
		l.closers = append(l.closers, f)
		return f
	}
	if c.File != "" {
		if w := open(c.File); w != nil {
			l.files = append(l.files, w)
		}
	}
	if c.DebugFile != "" && c.DebugFile != c.File {
		l.debugLog = open(c.DebugFile)
	}
	fac := strings.ToLower(c.Facility)
	if fac != "" && fac != "none" {
		if c.Journal && journal.Enabled() {
			l.journal = true
		} else if w, err := syslog.New(facility(fac)|syslog.LOG_INFO, c.Agent); err == nil {
			l.sys = w
			l.closers = append(l.closers, w)
		}
	}
	return l
}

func facility(name string) syslog.Priority {
	m := map[string]syslog.Priority{
		"kern": syslog.LOG_KERN, "user": syslog.LOG_USER, "mail": syslog.LOG_MAIL,
		"daemon": syslog.LOG_DAEMON, "auth": syslog.LOG_AUTH, "syslog": syslog.LOG_SYSLOG,
		"lpr": syslog.LOG_LPR, "news": syslog.LOG_NEWS, "uucp": syslog.LOG_UUCP,
		"cron": syslog.LOG_CRON, "authpriv": syslog.LOG_AUTHPRIV, "ftp": syslog.LOG_FTP,
		"local0": syslog.LOG_LOCAL0, "local1": syslog.LOG_LOCAL1, "local2": syslog.LOG_LOCAL2,
		"local3": syslog.LOG_LOCAL3, "local4": syslog.LOG_LOCAL4, "local5": syslog.LOG_LOCAL5,
		"local6": syslog.LOG_LOCAL6, "local7": syslog.LOG_LOCAL7,
	}
	if p, ok := m[name]; ok {
		return p
	}
	return syslog.LOG_DAEMON
}

// Close closes the log files.
func (l *Logger) Close() {
	if l == nil {
		return
	}
	for _, c := range l.closers {
		c.Close()
	}
}

// Debugf logs at debug level (kept only when HA_debug is on).
func (l *Logger) Debugf(format string, args ...any) { l.log(LevelDebug, format, args...) }

// Infof logs at info level.
func (l *Logger) Infof(format string, args ...any) { l.log(LevelInfo, format, args...) }

// Warnf logs a warning.
func (l *Logger) Warnf(format string, args ...any) { l.log(LevelWarn, format, args...) }

// Errorf logs an error.
func (l *Logger) Errorf(format string, args ...any) { l.log(LevelError, format, args...) }

func (l *Logger) log(lv Level, format string, args ...any) {
	if l == nil {
		return
	}
	if lv == LevelDebug && !l.debug && l.debugLog == nil {
		return // dropped: spend nothing on it
	}
	msg := Sanitize(strings.TrimRight(fmt.Sprintf(format, args...), "\n"))
	l.mu.Lock()
	defer l.mu.Unlock()
	line := fmt.Sprintf("%s %s: %s: %s\n", l.now().Format("Jan 02 15:04:05.000"), l.tag, lv, msg)
	if l.debugLog != nil {
		io.WriteString(l.debugLog, line)
	}
	if lv == LevelDebug && !l.debug {
		return
	}
	sunk := false
	for _, f := range l.files {
		io.WriteString(f, line)
		sunk = true
	}
	if l.journal {
		prio := []journal.Priority{journal.PriDebug, journal.PriInfo, journal.PriWarning, journal.PriErr}[lv]
		vars := map[string]string{"SYSLOG_IDENTIFIER": l.agent, "OCF_AGENT": l.agent, "OCF_RESOURCE_INSTANCE": l.instance}
		if journal.Send(lv.String()+": "+msg, prio, vars) == nil {
			sunk = true
		}
	}
	if l.sys != nil {
		m := fmt.Sprintf("%s: %s: %s", l.tag, lv, msg)
		var err error
		switch lv {
		case LevelDebug:
			err = l.sys.Debug(m)
		case LevelInfo:
			err = l.sys.Info(m)
		case LevelWarn:
			err = l.sys.Warning(m)
		default:
			err = l.sys.Err(m)
		}
		sunk = sunk || err == nil
	}
	if !sunk && l.debugLog == nil {
		io.WriteString(l.stderr, fmt.Sprintf("%s: %s: %s\n", l.tag, lv, msg))
	}
}
