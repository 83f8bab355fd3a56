package cli_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stackha/stackha/cmd/stackha/cli"
	"github.com/stackha/stackha/ocf"
	"github.com/stackha/stackha/ocf/ocftest"
)

const seed = "../../../crm/examples/seed.yaml"

// TestRender drives `stackha render` through the binary's own entry point.
func TestRender(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	if err := os.WriteFile(bad, []byte("vip: {address: 10.0.0.1}\nnodes: [{name: a, address: 10.9.9.9}]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		args    []string
		ok      bool
		stdout  string
		stderr  string
		written bool
	}{
		{"renders", []string{"--topology", seed, "--out", "OUT"}, true, "wrote cluster.crm\nwrote cluster.pcs.sh\nwrote corosync.conf\nwrote endpoints.sh\nwrote haproxy.cfg\n", "", true},
		{"short flags", []string{"-t", seed, "-o", "OUT"}, true, "wrote haproxy.cfg", "", true},
		{"bad topology", []string{"--topology", bad, "--out", "OUT"}, false, "", "nodes[0].address: 10.9.9.9 is not in the VIP's subnet 10.0.0.0/24", false},
		{"missing file", []string{"--topology", "/nonexistent/t.yaml", "--out", "OUT"}, false, "", "no such file", false},
		{"no flags", nil, false, "", `Required flags "topology, out" not set`, false},
		{"extra argument", []string{"--topology", seed, "--out", "OUT", "more"}, false, "", `unexpected argument "more"`, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "out")
			argv := []string{"stackha", "render"}
			for _, a := range tc.args {
				argv = append(argv, strings.ReplaceAll(a, "OUT", out))
			}
			var stdout, stderr bytes.Buffer
			code := ocf.MainArgs(argv, ocftest.Env{}, ocf.Streams{Stdout: &stdout, Stderr: &stderr}, cli.Run)
			if (code == ocf.Success) != tc.ok {
				t.Fatalf("exit %d, want success=%t; stderr: %s", code, tc.ok, stderr.String())
			}
			if !strings.Contains(stdout.String(), tc.stdout) {
				t.Errorf("stdout %q lacks %q", stdout.String(), tc.stdout)
			}
			if !strings.Contains(stderr.String(), tc.stderr) {
				t.Errorf("stderr %q lacks %q", stderr.String(), tc.stderr)
			}
			_, err := os.Stat(filepath.Join(out, "cluster.crm"))
			if tc.written != (err == nil) {
				t.Errorf("cluster.crm written: %t, want %t", err == nil, tc.written)
			}
		})
	}
}
