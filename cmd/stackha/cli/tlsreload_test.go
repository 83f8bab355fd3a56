package cli_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stackha/stackha/agents/haproxy"
	"github.com/stackha/stackha/cmd/stackha/cli"
	"github.com/stackha/stackha/internal/testutil/certtest"
	"github.com/stackha/stackha/internal/testutil/require"
	"github.com/stackha/stackha/ocf"
	"github.com/stackha/stackha/ocf/ocftest"
)

// stackha tls-reload: --dry-run prints the certificates' digest (the
// agent's CertDigest); otherwise crm_resource sets the haproxy resource's
// generation to it; a certificate readable by others is refused, naming it,
// and crm_resource is not run.
func TestTLSReload(t *testing.T) {
	require.Root(t)
	dir, err := os.MkdirTemp("/tmp", "shc-tls-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	pemPath := filepath.Join(dir, "api.pem")
	cert, key := certtest.SelfSigned(t)
	if err := os.WriteFile(pemPath, append(cert, key...), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "haproxy.cfg")
	os.WriteFile(cfg, []byte("defaults\n    mode http\nfrontend api\n    bind 127.0.0.1:8443 ssl crt "+pemPath+"\n"), 0o644)
	want, err := haproxy.CertDigest([]string{cfg})
	if err != nil {
		t.Fatal(err)
	}
	// a crm_resource that records its arguments
	bin := filepath.Join(dir, "bin")
	os.Mkdir(bin, 0o755)
	args := filepath.Join(dir, "args")
	os.WriteFile(filepath.Join(bin, "crm_resource"), []byte("#!/bin/sh\necho \"$@\" > "+args+"\n"), 0o755)
	t.Setenv("PATH", bin+":"+os.Getenv("PATH"))
	run := func(argv ...string) (ocf.Code, string, string) {
		var out, errb bytes.Buffer
		code := ocf.MainArgs(append([]string{"stackha", "tls-reload", "--config", cfg}, argv...), ocftest.Env{}, ocf.Streams{Stdout: &out, Stderr: &errb}, cli.Run)
		return code, out.String(), errb.String()
	}
	if code, out, _ := run("--dry-run"); code != ocf.Success || !strings.Contains(out, "certificates digest "+want) {
		t.Fatalf("--dry-run: %d %q, want the digest %s", code, out, want)
	}
	if _, err := os.Stat(args); err == nil {
		t.Fatal("--dry-run ran crm_resource")
	}
	if code, out, errs := run("--resource", "api-haproxy"); code != ocf.Success || !strings.Contains(out, "generation is "+want) {
		t.Fatalf("tls-reload: %d %q %q", code, out, errs)
	}
	if b, _ := os.ReadFile(args); string(b) != "--resource api-haproxy --set-parameter generation --parameter-value "+want+"\n" {
		t.Errorf("crm_resource ran with %q", b)
	}
	os.Remove(args)
	os.Chmod(pemPath, 0o644)
	if code, _, errs := run(); code != ocf.ErrConfigured || !strings.Contains(errs, pemPath) || !strings.Contains(errs, "private key") {
		t.Errorf("a key readable by others: %d %q, want 6 naming it", code, errs)
	}
	if _, err := os.Stat(args); err == nil {
		t.Error("crm_resource ran for a refused certificate")
	}
}
