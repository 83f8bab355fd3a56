package render_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stackha/stackha/internal/testutil/require"
)

// keystoneScript sets up a real keystone (Debian's, on sqlite) in the
// current network namespace, with its bootstrap endpoints at
// http://127.0.0.1:5000/v3/ (the "old per-node" ones), runs endpoints.sh
// ($1) twice with admin credentials, and prints the catalog's endpoints.
const keystoneScript = `set -euo pipefail
endpoints=$1; dir=$2
cd "$dir"
ip link set lo up
mkdir -m 700 fernet cred
cat > keystone.conf <<EOF
[DEFAULT]
log_dir = $dir
log_file = keystone.log
[database]
connection = sqlite:///$dir/keystone.db
[token]
provider = fernet
[fernet_tokens]
key_repository = $dir/fernet
[fernet_receipts]
key_repository = $dir/fernet
[credential]
key_repository = $dir/cred
[identity]
password_hash_rounds = 4
EOF
K="keystone-manage --config-file keystone.conf"
$K db_sync >setup.log 2>&1
# One server process keeps a read connection open: WAL lets its writes through.
sqlite3 keystone.db "PRAGMA journal_mode=WAL;" >/dev/null
$K fernet_setup --keystone-user root --keystone-group root >>setup.log 2>&1
$K credential_setup --keystone-user root --keystone-group root >>setup.log 2>&1
old=http://127.0.0.1:5000/v3/
$K bootstrap --bootstrap-password stackha-test --bootstrap-username admin --bootstrap-project-name admin \
  --bootstrap-role-name admin --bootstrap-service-name keystone --bootstrap-region-id RegionOne \
  --bootstrap-public-url $old --bootstrap-internal-url $old --bootstrap-admin-url $old >>setup.log 2>&1
keystone-wsgi-public --host 127.0.0.1 --port 5000 -- --config-file keystone.conf >server.log 2>&1 &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null || true' EXIT
up=
for i in $(seq 1 120); do
  if curl -sf -o /dev/null --max-time 1 http://127.0.0.1:5000/v3; then up=1; break; fi
  sleep 0.25
done
[ -n "$up" ] || { echo "keystone did not answer"; cat server.log; exit 1; }
export OS_AUTH_URL=$old OS_USERNAME=admin OS_PASSWORD=stackha-test OS_PROJECT_NAME=admin \
  OS_USER_DOMAIN_NAME=Default OS_PROJECT_DOMAIN_NAME=Default OS_IDENTITY_API_VERSION=3
bash "$endpoints" >run1.out 2>run1.err
bash "$endpoints" >run2.out 2>run2.err
openstack endpoint list -f value -c "Service Type" -c Interface -c URL
`

// TestEndpointsAgainstKeystone runs the TEST-NET example's endpoints.sh with
// the real openstack client against a real keystone, in a network namespace
// of its own (loopback only: the VIP is unreachable from there, so nothing
// leaves it). The first run adds the VIP's three endpoints and reports the
// bootstrap ones; the second adds nothing.
func TestEndpointsAgainstKeystone(t *testing.T) {
	require.Root(t)
	require.Command(t, "unshare", "keystone-manage", "keystone-wsgi-public", "openstack", "sqlite3", "curl", "ip")
	if testing.Short() {
		t.Skip("-short: a keystone setup takes about 30 s")
	}
	// Its own network namespace and files: it runs beside the crmsh and pcs
	// tests (TestFailover, TestPCSMatchesCRM).
	t.Parallel()
	dir, _ := renderExample(t, "testnet-two-node")
	work := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "unshare", "--net", "--", "bash", "-c", keystoneScript, "keystone-test",
		filepath.Join(dir, "endpoints.sh"), work)
	// Its own process group, killed whole on timeout (keystone included).
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	out, err := cmd.Output()
	logs := func() string {
		var b strings.Builder
		for _, f := range []string{"setup.log", "server.log", "run1.err", "run2.err", "run1.out", "run2.out"} {
			c, _ := os.ReadFile(filepath.Join(work, f))
			b.WriteString("--- " + f + "\n" + string(c))
		}
		return b.String()
	}
	if err != nil {
		var stderr string
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = string(ee.Stderr)
		}
		t.Fatalf("%v\n%s%s\n%s", err, out, stderr, logs())
	}
	var got []string
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		got = append(got, strings.Join(strings.Fields(l), " "))
	}
	sort.Strings(got)
	want := []string{
		"identity admin http://127.0.0.1:5000/v3/", "identity admin http://192.0.2.100:5000/v3",
		"identity internal http://127.0.0.1:5000/v3/", "identity internal http://192.0.2.100:5000/v3",
		"identity public http://127.0.0.1:5000/v3/", "identity public http://192.0.2.100:5000/v3",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("catalog after two runs:\n%s\nwant:\n%s\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"), logs())
	}
	for _, run := range []string{"run1.err", "run2.err"} {
		b, _ := os.ReadFile(filepath.Join(work, run))
		if n := strings.Count(string(b), "is at http://127.0.0.1:5000/v3/, not http://192.0.2.100:5000/v3: remove it with: openstack endpoint delete"); n != 3 {
			t.Errorf("%s reports %d old endpoints, want 3:\n%s", run, n, b)
		}
	}
	if b, _ := os.ReadFile(filepath.Join(work, "run2.out")); strings.Contains(string(b), "| url") {
		t.Errorf("the second run created something:\n%s", b)
	}
}
