package cli_test

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stackha/stackha/cmd/stackha/cli"
	"github.com/stackha/stackha/metadata"
	"github.com/stackha/stackha/ocf"
	"github.com/stackha/stackha/ocf/ocftest"
)

func testAgent() *ocf.Agent {
	return &ocf.Agent{
		Meta: metadata.Agent{
			Name: "clitestagent", Version: "1.0", Short: "test agent", Long: "An agent for the command line's tests.",
			Actions: []metadata.Action{
				{Name: "start", Timeout: 20 * time.Second},
				{Name: "stop", Timeout: 20 * time.Second},
				{Name: "monitor", Timeout: 20 * time.Second, Interval: 10 * time.Second},
				{Name: "validate-all", Timeout: 5 * time.Second},
				{Name: "meta-data", Timeout: 5 * time.Second},
			},
		},
		Handlers: map[string]ocf.Handler{
			"start":   func(context.Context, *ocf.Request) error { return nil },
			"stop":    func(context.Context, *ocf.Request) error { return nil },
			"monitor": func(context.Context, *ocf.Request) error { return ocf.Stopped("no") },
		},
	}
}

// The test agent is registered once for the test binary, as agents are.
func init() { ocf.Register("clitestagent", testAgent, "clitestalias") }

func TestCommands(t *testing.T) {
	cases := []struct {
		argv   []string
		want   ocf.Code
		stdout string
		stderr string
	}{
		{[]string{"stackha", "clitestagent", "meta-data"}, ocf.Success, `name="clitestagent"`, ""},
		{[]string{"stackha", "nosuchagent", "start"}, ocf.ErrInstalled, "", `ocf-exit-reason:no agent named "nosuchagent"`},
		{[]string{"/usr/lib/ocf/resource.d/stackha/nosuchagent", "start"}, ocf.ErrInstalled, "", "ocf-exit-reason:"},
		{[]string{"stackha", "agents"}, ocf.Success, "clitestagent\ttest agent\nclitestalias\talias of clitestagent: test agent\n", ""},
		{[]string{"stackha", "version"}, ocf.Success, "stackha " + ocf.Version + " (commit ", ""},
		{[]string{"stackha", "man", "clitestagent"}, ocf.Success, ".TH OCF_STACKHA_CLITESTAGENT 7", ""},
		{[]string{"stackha", "man", "nope"}, ocf.ErrInstalled, "", "unknown agent"},
		{[]string{"stackha", "help"}, ocf.Success, "clitestagent", ""},
		{[]string{"stackha"}, ocf.Success, "render", ""},
	}
	for _, c := range cases {
		t.Run(strings.Join(c.argv, " "), func(t *testing.T) {
			var out, errb bytes.Buffer
			code := ocf.MainArgs(c.argv, ocftest.Env{}, ocf.Streams{Stdout: &out, Stderr: &errb}, cli.Run)
			if code != c.want || !strings.Contains(out.String(), c.stdout) || !strings.Contains(errb.String(), c.stderr) {
				t.Fatalf("code %d (want %d)\nstdout %q (want %q)\nstderr %q (want %q)", code, c.want, out.String(), c.stdout, errb.String(), c.stderr)
			}
		})
	}
}
