package ocf

import (
	"bytes"
	"strings"
	"testing"
)

func TestMainArgs(t *testing.T) {
	a := testAgent()
	a.Aliases = []string{"testalias"}
	Register(a)
	defer Unregister("testagent")
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
		{[]string{"stackha", "nosuchagent", "start"}, ErrInstalled, "", `ocf-exit-reason:no agent named "nosuchagent"`},
		{[]string{"/usr/lib/ocf/resource.d/stackha/nosuchagent", "start"}, ErrInstalled, "", "ocf-exit-reason:"},
		{[]string{"stackha", "agents"}, Success, "testagent\ttest agent\ntestalias\talias of testagent: test agent\n", ""},
		{[]string{"stackha", "version"}, Success, "stackha " + Version, ""},
		{[]string{"stackha", "man", "testagent"}, Success, ".TH OCF_STACKHA_TESTAGENT 7", ""},
		{[]string{"stackha", "man", "nope"}, ErrInstalled, "", "unknown agent"},
		{[]string{"stackha", "help"}, Success, "testagent", ""},
	}
	for _, c := range cases {
		t.Run(strings.Join(c.argv, " "), func(t *testing.T) {
			var out, errb bytes.Buffer
			code := MainArgs(c.argv, MapEnv{}, Streams{Stdout: &out, Stderr: &errb})
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
