package ocf

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
)

func init() { Register("testagent", testAgent, "testalias") }

func TestMainArgs(t *testing.T) {
	cases := []struct {
		argv   []string
		want   Code
		stdout string
		stderr string
	}{
		{[]string{"/usr/lib/ocf/resource.d/stackha/testagent", "meta-data"}, Success, `name="testagent"`, ""},
		{[]string{"/x/testalias", "meta-data"}, Success, `name="testalias"`, ""},
		{[]string{"stackha", "testagent", "meta-data"}, Success, `name="testagent"`, ""},
		{[]string{"stackha", "testagent", "frob"}, ErrUnimplemented, "", "ocf-exit-reason:"},
		{[]string{"stackha", "testagent", "validate-all"}, ErrConfigured, "", "required parameter name is not set"},
		{[]string{"stackha", "testhelper", "a", "b"}, Success, "helper [a b]", ""},
		{[]string{"stackha", "testhelper", "fail"}, ErrConfigured, "", "stackha testhelper: bad; args"},
		// Without a command line (a nil Tool) the rest is "not installed".
		{[]string{"stackha", "nosuchagent", "start"}, ErrInstalled, "", `ocf-exit-reason:no agent named "nosuchagent"`},
		{[]string{"/usr/lib/ocf/resource.d/stackha/nosuchagent"}, ErrInstalled, "", `ocf-exit-reason:no agent named "nosuchagent"`},
		{[]string{"stackha", "agents"}, ErrInstalled, "", "ocf-exit-reason:"},
	}
	var helperOut *bytes.Buffer
	RegisterHelper("testhelper", func(ctx context.Context, args []string) error {
		if len(args) > 0 && args[0] == "fail" {
			return Configured("bad\nargs")
		}
		fmt.Fprintf(helperOut, "helper %v", args)
		return nil
	})
	defer func() { regMu.Lock(); delete(helpers, "testhelper"); regMu.Unlock() }()
	for _, c := range cases {
		t.Run(strings.Join(c.argv, " "), func(t *testing.T) {
			var out, errb bytes.Buffer
			helperOut = &out
			code := MainArgs(c.argv, MapEnv{}, Streams{Stdout: &out, Stderr: &errb}, nil)
			if code != c.want || !strings.Contains(out.String(), c.stdout) || !strings.Contains(errb.String(), c.stderr) {
				t.Fatalf("code %d (want %d)\nstdout %q (want %q)\nstderr %q (want %q)", code, c.want, out.String(), c.stdout, errb.String(), c.stderr)
			}
		})
	}
}

func TestAgentCheck(t *testing.T) {
	a := testAgent()
	if err := a.Check(); err != nil {
		t.Fatal(err)
	}
	a.Handlers["reload"] = a.Handlers["start"]
	if err := a.Check(); err == nil || !strings.Contains(err.Error(), "handler reload has no declared action") {
		t.Fatalf("got %v", err)
	}
	a = testAgent()
	delete(a.Handlers, "stop")
	if err := a.Check(); err == nil || !strings.Contains(err.Error(), "declared action stop has no handler") {
		t.Fatalf("got %v", err)
	}
}

// An agent or helper never reaches the Tool; anything else does, unchanged.
func TestDispatchBeforeTool(t *testing.T) {
	var got []string
	tool := func(argv []string, env Env, s Streams) Code { got = argv; return 42 }
	var out, errb bytes.Buffer
	s := Streams{Stdout: &out, Stderr: &errb}
	if code := MainArgs([]string{"/x/testagent", "usage"}, MapEnv{}, s, tool); code != Success || got != nil {
		t.Fatalf("agent run: code %d, tool called with %v", code, got)
	}
	if code := MainArgs([]string{"stackha", "testagent", "usage"}, MapEnv{}, s, tool); code != Success || got != nil {
		t.Fatalf("agent by name: code %d, tool called with %v", code, got)
	}
	if code := MainArgs([]string{"stackha", "version"}, MapEnv{}, s, tool); code != 42 || strings.Join(got, " ") != "stackha version" {
		t.Fatalf("tool: code %d, argv %v", code, got)
	}
}

// An agent is built when it is looked up, not at init, and a run of one
// agent never builds another.
func init() {
	Register("lazyagent", func() *Agent {
		lazyBuilds++
		a := testAgent()
		a.Meta.Name = "lazyagent"
		return a
	})
}

var lazyBuilds int

func TestBuiltOnUse(t *testing.T) {
	lazyBuilds = 0
	var out, errb bytes.Buffer
	s := Streams{Stdout: &out, Stderr: &errb}
	if code := MainArgs([]string{"stackha", "testagent", "meta-data"}, MapEnv{}, s, nil); code != Success || lazyBuilds != 0 {
		t.Fatalf("another agent's meta-data: code %d, %d builds (want 0)", code, lazyBuilds)
	}
	out.Reset()
	if code := MainArgs([]string{"/x/lazyagent", "meta-data"}, MapEnv{}, s, nil); code != Success ||
		!strings.Contains(out.String(), `name="lazyagent"`) || lazyBuilds != 1 {
		t.Fatalf("lazyagent meta-data: code %d, %d builds, %q %q", code, lazyBuilds, out.String(), errb.String())
	}
}

// An agent that builds under another name than it was registered by is a
// bug found at once.
func TestRegisteredNameMustMatch(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("no panic")
		}
	}()
	e := &registered{name: "other", build: testAgent}
	e.agent()
}
