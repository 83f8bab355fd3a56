package fence

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stackha/stackha/internal/testutil/require"
)

// pcmkScript runs inside new net, mount, UTS and PID namespaces: a
// single-node corosync + Pacemaker with private state, fence_shc added to
// /usr/sbin by an overlay (this namespace only), a stonith:fence_shc
// device on the switch at $2, then stonith_admin drives it as an operator
// does. Everything dies with the PID namespace.
const pcmkScript = `set -e
D=$1 SOCK=$2
hostname node1
ip link set lo up
mount -t tmpfs -o mode=0755 shc-fence-run /run
mkdir -p /run/crm && chown hacluster:haclient /run/crm && chmod 0750 /run/crm
mount -t tmpfs -o mode=1777 shc-fence-shm /dev/shm
for d in lib-pacemaker/cib lib-pacemaker/pengine lib-pacemaker/blackbox lib-pacemaker/cores lib-corosync etc-corosync log-pacemaker; do
  mkdir -p "$D/state/$d"
done
mount --bind "$D/state/lib-pacemaker" /var/lib/pacemaker
mount --bind "$D/state/lib-corosync" /var/lib/corosync
mount --bind "$D/state/etc-corosync" /etc/corosync
mount --bind "$D/state/log-pacemaker" /var/log/pacemaker
chown -R hacluster:haclient /var/lib/pacemaker /var/log/pacemaker
mount -t overlay shc-fence-sbin -o "lowerdir=/usr/sbin,upperdir=$D/up,workdir=$D/work" /usr/sbin
cat > /etc/corosync/corosync.conf <<EOC
totem {
  version: 2
  cluster_name: shcfence
  transport: knet
  crypto_cipher: none
  crypto_hash: none
}
nodelist {
  node {
    ring0_addr: 127.0.0.1
    name: node1
    nodeid: 1
  }
}
quorum {
  provider: corosync_votequorum
}
logging {
  to_stderr: yes
  to_syslog: no
}
EOC
corosync -f > "$D/corosync.log" 2>&1 &
sleep 1
pacemakerd > "$D/pacemakerd.log" 2>&1 &
i=0
until crm_mon -1 2>/dev/null | grep -q "Online: \[ node1 \]"; do
  i=$((i+1)); [ $i -lt 240 ] || { echo "node1 not online"; exit 1; }; sleep 0.5
done
echo "== metadata"
stonith_admin --metadata --agent fence_shc | grep -c '<parameter name="plug"'
cibadmin --create -o resources --xml-text "<primitive id=\"shc-fence\" class=\"stonith\" type=\"fence_shc\"><instance_attributes id=\"shc-fence-ia\"><nvpair id=\"shc-fence-sock\" name=\"socket\" value=\"$SOCK\"/></instance_attributes></primitive>"
i=0
until stonith_admin --list-registered 2>/dev/null | grep -q shc-fence; do
  i=$((i+1)); [ $i -lt 240 ] || { echo "shc-fence not registered"; exit 1; }; sleep 0.5
done
echo "== list-targets"
stonith_admin --list-targets shc-fence
echo "== list node2"
stonith_admin --list node2
echo "== reboot node2"
stonith_admin --reboot node2 --timeout 30
echo "== history node2"
stonith_admin --history node2
echo "== fence node3 (failing device)"
touch "$D/fail"
i=0
while [ -e "$D/fail" ]; do i=$((i+1)); [ $i -lt 100 ] || exit 1; sleep 0.1; done
if stonith_admin --fence node3 --timeout 10; then echo "FENCED WITH A FAILING DEVICE"; exit 1; fi
echo "== history node3"
stonith_admin --history node3 --verbose || true
echo "== done"
`

// TestPacemakerDrivesAgent checks fence_shc with the real
// pacemaker-fenced: metadata accepted, the device registered from the CIB,
// its targets listed by the agent's list action, a reboot through
// stonith_admin powering node2 off then on at the switch, and a failing
// device failing the fencing.
func TestPacemakerDrivesAgent(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Pacemaker")
	}
	require.Root(t)
	require.Command(t, "unshare", "corosync", "pacemakerd", "stonith_admin", "cibadmin", "crm_mon", "ip")
	dir, err := os.MkdirTemp("", "shc-fence-pcmk-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	os.Chmod(dir, 0o755) // Pacemaker runs agents' metadata as hacluster
	for _, d := range []string{"up", "work", "state"} {
		if err := os.Mkdir(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	if err := BuildAgent(ctx, filepath.Join(dir, "up", AgentName)); err != nil {
		t.Fatal(err)
	}
	p := &fakePower{on: map[string]bool{"node1": true, "node2": true, "node3": true}}
	sw, err := NewSwitch(filepath.Join(dir, "power.sock"), p)
	if err != nil {
		t.Fatal(err)
	}
	defer sw.Close()
	// The script asks for a failing device by creating $D/fail.
	go func() {
		for ctx.Err() == nil {
			if _, err := os.Stat(filepath.Join(dir, "fail")); err == nil {
				sw.SetFailing(errors.New("BMC unreachable"))
				os.Remove(filepath.Join(dir, "fail"))
				return
			}
			time.Sleep(50 * time.Millisecond)
		}
	}()
	cmd := exec.CommandContext(ctx, "unshare", "--net", "--mount", "--uts", "--pid", "--fork", "--kill-child=SIGKILL",
		"--mount-proc", "--propagation", "private", "/bin/sh", "-c", pcmkScript, "sh", dir, sw.Path())
	cmd.WaitDelay = 5 * time.Second
	out, err := cmd.CombinedOutput()
	t.Logf("%s", out)
	if err != nil {
		for _, l := range []string{"pacemakerd.log", "state/log-pacemaker/pacemaker.log"} {
			data, _ := os.ReadFile(filepath.Join(dir, l))
			if len(data) > 20000 {
				data = data[len(data)-20000:]
			}
			t.Logf("%s:\n%s", l, data)
		}
		t.Fatal(err)
	}
	section := func(name string) string {
		s := string(out)
		i := strings.Index(s, "== "+name+"\n")
		if i < 0 {
			return ""
		}
		s = s[i+len(name)+4:]
		if j := strings.Index(s, "== "); j >= 0 {
			s = s[:j]
		}
		return s
	}
	if !strings.Contains(section("list-targets"), "node2") {
		t.Errorf("list-targets does not name node2")
	}
	if !strings.Contains(section("list node2"), "shc-fence") {
		t.Errorf("shc-fence is not a device that can fence node2")
	}
	if h := section("history node2"); !strings.Contains(h, "reboot of node2 successful") {
		t.Errorf("history of node2: %q", h)
	}
	var off, on, offFailed bool
	for _, e := range sw.History() {
		switch {
		case e.Node == "node2" && e.Action == "off" && e.Result == "off":
			off = true
		case e.Node == "node2" && e.Action == "on" && e.Result == "on" && off:
			on = true
		case e.Node == "node3" && strings.HasPrefix(e.Result, "error: device failure"):
			offFailed = true
		}
	}
	if !off || !on || !offFailed {
		t.Errorf("switch history: off %v, on after off %v, node3 failed %v: %+v", off, on, offFailed, sw.History())
	}
	if on, _ := p.IsOn("node3"); !on {
		t.Error("node3 was powered off by a failing device")
	}
}
