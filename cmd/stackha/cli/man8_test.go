package cli_test

import (
	"bytes"
	"os/exec"
	"strings"
	"testing"

	_ "github.com/stackha/stackha/agents/all"
	"github.com/stackha/stackha/cmd/stackha/cli"
	"github.com/stackha/stackha/internal/testutil/require"
	"github.com/stackha/stackha/ocf"
	"github.com/stackha/stackha/ocf/ocftest"
)

// stackha(8) comes from the command definitions: every command and agent
// is in it, and groff renders it without a warning.
func TestManPage8(t *testing.T) {
	for _, args := range [][]string{{"stackha", "man"}, {"stackha", "man", "stackha"}} {
		var out, errb bytes.Buffer
		if code := cli.Run(args, ocftest.Env{}, ocf.Streams{Stdout: &out, Stderr: &errb}); code != ocf.Success {
			t.Fatalf("%v: exit %d: %s", args, code, errb.String())
		}
		page := out.String()
		if !strings.HasPrefix(page, ".TH STACKHA 8 ") {
			t.Fatalf("%v: not stackha(8):\n%.200s", args, page)
		}
		for _, want := range []string{"\\fBagents\\fR", "\\fBversion\\fR", "\\fBrender\\fR", "\\fB\\-\\-topology\\fR", "\\fBman\\fR"} {
			if !strings.Contains(page, want) {
				t.Errorf("stackha(8) lacks %q", want)
			}
		}
		for _, n := range ocf.Names() {
			if !strings.Contains(page, "ocf_stackha_"+strings.ReplaceAll(n, "-", "\\-")) {
				t.Errorf("stackha(8) does not name agent %s", n)
			}
		}
		if strings.Contains(page, "\\-\\-help") {
			t.Errorf("stackha(8) lists urfave's --help flags")
		}
	}
}

func TestManPage8Groff(t *testing.T) {
	require.Command(t, "groff")
	var out bytes.Buffer
	cli.Run([]string{"stackha", "man"}, ocftest.Env{}, ocf.Streams{Stdout: &out, Stderr: &bytes.Buffer{}})
	cmd := exec.Command("groff", "-ww", "-man", "-Tutf8")
	cmd.Stdin = &out
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil || stderr.Len() > 0 {
		t.Fatalf("groff -ww: %v\n%s", err, stderr.String())
	}
}
