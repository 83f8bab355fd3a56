package render_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stackha/stackha/internal/testutil/require"
)

// fakeOpenstack records every call, one line of %q-quoted arguments each,
// and answers like the client would: `service show` fails unless
// FAKE_SERVICES=1; `endpoint list` prints "ID URL" lines from FAKE_ENDPOINTS
// (lines "TYPE INTERFACE ID URL").
const fakeOpenstack = `#!/usr/bin/env bash
printf '%q ' "$@" >> "$FAKE_LOG"; echo >> "$FAKE_LOG"
case "$1 $2" in
"service show") [ "${FAKE_SERVICES:-}" = 1 ] ;;
"endpoint list")
  [ -n "${FAKE_ENDPOINTS:-}" ] || exit 0
  while read -r type iface id url; do
    [ "$type" = "$4" ] && [ "$iface" = "$6" ] && echo "$id $url"
  done < "$FAKE_ENDPOINTS"
  exit 0 ;;
*) exit 0 ;;
esac
`

// runEndpoints runs endpoints.sh with the fake client; it returns the
// recorded calls that change the catalog, and stderr.
func runEndpoints(t *testing.T, script string, env ...string) (changes []string, stderr string) {
	t.Helper()
	bin := t.TempDir()
	if err := os.WriteFile(filepath.Join(bin, "openstack"), []byte(fakeOpenstack), 0o755); err != nil {
		t.Fatal(err)
	}
	log := filepath.Join(t.TempDir(), "calls")
	cmd := exec.Command("bash", script)
	cmd.Env = append(os.Environ(), "PATH="+bin+":"+os.Getenv("PATH"), "FAKE_LOG="+log)
	cmd.Env = append(cmd.Env, env...)
	var errb strings.Builder
	cmd.Stderr = &errb
	if out, err := cmd.Output(); err != nil {
		t.Fatalf("endpoints.sh: %v\n%s%s", err, out, errb.String())
	}
	b, err := os.ReadFile(log)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		l = strings.TrimSpace(l)
		if strings.Contains(l, " create ") || strings.Contains(l, " delete ") {
			changes = append(changes, l)
		}
	}
	return changes, errb.String()
}

func TestEndpointsScript(t *testing.T) {
	require.Command(t, "bash")
	dir, _ := renderExample(t, "seed")
	script := filepath.Join(dir, "endpoints.sh")
	if out, err := exec.Command("bash", "-n", script).CombinedOutput(); err != nil {
		t.Fatalf("bash -n: %v\n%s", err, out)
	}

	// An empty catalog: every service and endpoint is created, at the VIP,
	// with keystone v3 URLs (and the how-to's admin port for keystone).
	got, _ := runEndpoints(t, script)
	want := []string{
		`service create --name keystone --description OpenStack\ Identity identity`,
		`endpoint create --region RegionOne identity public http://10.10.102.45:5000/v3`,
		`endpoint create --region RegionOne identity internal http://10.10.102.45:5000/v3`,
		`endpoint create --region RegionOne identity admin http://10.10.102.45:35357/v3`,
		`service create --name neutron --description OpenStack\ Networking network`,
		`endpoint create --region RegionOne network public http://10.10.102.45:9696`,
		`endpoint create --region RegionOne network internal http://10.10.102.45:9696`,
		`endpoint create --region RegionOne network admin http://10.10.102.45:9696`,
		`service create --name glance --description OpenStack\ Image image`,
		`endpoint create --region RegionOne image public http://10.10.102.45:9292`,
		`endpoint create --region RegionOne image internal http://10.10.102.45:9292`,
		`endpoint create --region RegionOne image admin http://10.10.102.45:9292`,
		`service create --name nova --description OpenStack\ Compute compute`,
		`endpoint create --region RegionOne compute public http://10.10.102.45:8774/v2.1`,
		`endpoint create --region RegionOne compute internal http://10.10.102.45:8774/v2.1`,
		`endpoint create --region RegionOne compute admin http://10.10.102.45:8774/v2.1`,
		`service create --name cinderv3 --description OpenStack\ Block\ Storage volumev3`,
		`endpoint create --region RegionOne volumev3 public http://10.10.102.45:8776/v3/%\(project_id\)s`,
		`endpoint create --region RegionOne volumev3 internal http://10.10.102.45:8776/v3/%\(project_id\)s`,
		`endpoint create --region RegionOne volumev3 admin http://10.10.102.45:8776/v3/%\(project_id\)s`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("calls on an empty catalog:\n%s", lineDiff(strings.Join(want, "\n"), strings.Join(got, "\n")))
	}

	// Run again on the catalog it made, plus the how-to's old per-node
	// keystone endpoint: nothing is created, nothing deleted, and the old
	// endpoint is reported with the command that removes it.
	cat := filepath.Join(t.TempDir(), "catalog")
	var lines []string
	for i, c := range want {
		f := strings.Fields(c)
		if f[0] == "endpoint" {
			url := strings.NewReplacer(`\(`, "(", `\)`, ")").Replace(f[6])
			lines = append(lines, f[4]+" "+f[5]+" id"+endpointID(i)+" "+url)
		}
	}
	lines = append(lines, "identity public 21a7b25a08d74882a711f09f0c313170 http://10.10.102.6:5000/v2.0")
	if err := os.WriteFile(cat, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	got, stderr := runEndpoints(t, script, "FAKE_SERVICES=1", "FAKE_ENDPOINTS="+cat)
	if len(got) != 0 {
		t.Errorf("second run changed the catalog: %q", got)
	}
	if !strings.Contains(stderr, "identity public endpoint 21a7b25a08d74882a711f09f0c313170 is at http://10.10.102.6:5000/v2.0") ||
		!strings.Contains(stderr, "openstack endpoint delete 21a7b25a08d74882a711f09f0c313170") {
		t.Errorf("the old endpoint is not reported:\n%s", stderr)
	}
	if n := strings.Count(stderr, "endpoints.sh:"); n != 1 {
		t.Errorf("%d reports, want 1:\n%s", n, stderr)
	}
}

func endpointID(i int) string { return string(rune('a'+i/26)) + string(rune('a'+i%26)) }
