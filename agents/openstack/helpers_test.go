package openstack

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stackha/stackha/instance"
	"github.com/stackha/stackha/internal/testutil/openstacktest"
	"github.com/stackha/stackha/ocf"
	"github.com/stackha/stackha/ocf/ocftest"
)

// testInstance is the resource name the tests run the agents as.
var testInstance = fmt.Sprintf("sho-os-%d", os.Getpid())

// TestMain points the instance layer's state (instance.Root) at a
// directory of this test binary's own: the agents run in-process never
// touch /run/stackha (the real binary, run by the ocf-tester and
// benchmark tests, does).
func TestMain(m *testing.M) {
	flag.Parse()
	if flag.NArg() > 0 { // a helper (TestHelperService), not the tests
		os.Exit(m.Run())
	}
	root, err := os.MkdirTemp("", "sho-os-state-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	instance.Root = filepath.Join(root, "stackha")
	// the systemd mode's drop-ins, and no init script nor defaults
	DropInRoot, InitScripts, Defaults = filepath.Join(root, "systemd"), filepath.Join(root, "init.d"), filepath.Join(root, "default")
	os.Mkdir(DropInRoot, 0o755)
	code := m.Run()
	openstacktest.RemoveTemplates()
	os.RemoveAll(root)
	os.Exit(code)
}

// recordPath is where start records what agent did.
func recordPath(agent string) string {
	return filepath.Join(instance.StateDir(testInstance), agent+".record")
}

// alive reports whether pid runs (not a zombie), and what /proc says of it.
func alive(pid int) (instance.Proc, bool) {
	p, err := instance.ReadProc(pid)
	return p, err == nil && !p.Zombie()
}

// sessionPIDs lists the live processes of session sid.
func sessionPIDs(t *testing.T, sid int) []int {
	t.Helper()
	ps, err := instance.Processes(func(p instance.Proc) bool { return p.Session == sid }, func(instance.Proc) bool { return true })
	if err != nil {
		t.Fatal(err)
	}
	var out []int
	for _, p := range ps {
		out = append(out, p.PID)
	}
	return out
}

// testAgent is the agent of a profile that is not one of Profiles (a
// test's fake service), wired as init wires the real ones.
func testAgent(p *Profile) *ocf.Agent {
	return &ocf.Agent{Meta: declare(p), Aliases: p.Aliases, Handlers: handlers(),
		Configure:     func(r *ocf.Request) (any, error) { return configureProfile(p, r) },
		StopFromState: stopFromState, ProbeFromState: probeFromState}
}

// result is one action run through the real runtime.
type result struct {
	code   ocf.Code
	stderr string
	stdout string
}

func (r result) reason() string {
	for _, l := range strings.Split(r.stderr, "\n") {
		if s, ok := strings.CutPrefix(l, "ocf-exit-reason:"); ok {
			return s
		}
	}
	return ""
}

// runAgent runs one action of an agent through ocf.Run, as Pacemaker would:
// parameters as OCF_RESKEY_*, the operation's timeout in ms, the check
// level, and the agent's log in logFile (with debug lines) when set.
type runOpts struct {
	timeoutMS  int
	intervalMS int
	depth      int
	logFile    string
	instance   string            // OCF_RESOURCE_INSTANCE when not the tests' own
	env        map[string]string // more environment (OCF_RA_VERSION_MINOR, ...)
}

func runAgent(t *testing.T, name, action string, params map[string]string, o runOpts) result {
	t.Helper()
	a, ok := ocf.Lookup(name)
	if !ok {
		t.Fatalf("agent %s is not registered", name)
	}
	env := ocftest.Env{"OCF_RESOURCE_INSTANCE": testInstance, "HA_LOGFACILITY": "none"}
	for k, v := range params {
		env["OCF_RESKEY_"+k] = v
	}
	if o.timeoutMS > 0 {
		env["OCF_RESKEY_CRM_meta_timeout"] = strconv.Itoa(o.timeoutMS)
	}
	if o.intervalMS > 0 {
		env["OCF_RESKEY_CRM_meta_interval"] = strconv.Itoa(o.intervalMS)
	}
	if o.depth > 0 {
		env["OCF_CHECK_LEVEL"] = strconv.Itoa(o.depth)
	}
	if o.instance != "" {
		env["OCF_RESOURCE_INSTANCE"] = o.instance
	}
	for k, v := range o.env {
		env[k] = v
	}
	if o.logFile != "" {
		env["HA_LOGFILE"] = o.logFile
		env["HA_debug"] = "1"
	}
	var out, errb bytes.Buffer
	code := ocf.Run(a, name, []string{action}, env, ocf.Streams{Stdout: &out, Stderr: &errb})
	return result{code: code, stderr: errb.String(), stdout: out.String()}
}

func merge(ms ...map[string]string) map[string]string {
	out := map[string]string{}
	for _, m := range ms {
		for k, v := range m {
			out[k] = v
		}
	}
	return out
}

func wantCode(t *testing.T, what string, r result, code ocf.Code, reasonHas ...string) {
	t.Helper()
	if r.code != code {
		t.Fatalf("%s: exit %d (%s), want %d (%s); stderr:\n%s", what, r.code, r.code, code, code, r.stderr)
	}
	for _, s := range reasonHas {
		if !strings.Contains(r.reason(), s) {
			t.Fatalf("%s: reason %q lacks %q; stderr:\n%s", what, r.reason(), s, r.stderr)
		}
	}
}

// procFile reads /proc/<pid>/<name> (environ, cmdline) for a test's
// assertion; the agent reads processes only through package instance.
func procFile(pid int, name string) ([]byte, error) {
	return os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), name))
}
