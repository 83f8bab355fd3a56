package harness

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stackha/stackha/test/sysnode"
)

func TestStateIn(t *testing.T) {
	for _, tc := range []struct{ log, want string }{
		{"", ""},
		{"Starting VRRP child process\n", ""},
		{"(shc_vip_51) Entering BACKUP STATE (init)\n", "BACKUP"},
		{"(shc_vip_51) Entering BACKUP STATE (init)\n(shc_vip_51) Entering MASTER STATE\n", "MASTER"},
		{"(shc_vip_51) Entering MASTER STATE\nStopping\n(shc_vip_51) Entering FAULT STATE\n", "FAULT"},
		{"Entering the loop\n", ""},
	} {
		if got := stateIn(tc.log); got != tc.want {
			t.Errorf("stateIn(%q) = %q, want %q", tc.log, got, tc.want)
		}
	}
}

// The comparison's node files: render's haproxy.cfg with Kolla's stats
// socket in its global section, keepalived's check on that socket, root's
// only.
func TestKeepalivedFiles(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "haproxy.cfg")
	if err := os.WriteFile(cfg, []byte("# rendered\n\nglobal\n    log /dev/log local0\n\ndefaults\n    mode http\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	c := &Cluster{specs: nodeSpecs(3), paths: Paths{HAProxyCfg: cfg}}
	n := &Node{NodeSpec: c.specs[1]}
	files := map[string]sysnode.File{}
	if err := c.keepalivedFiles(n, files); err != nil {
		t.Fatal(err)
	}
	h := string(files["/etc/haproxy/haproxy.cfg"].Data)
	if !strings.Contains(h, "\nglobal\n    # Added by the cluster harness") || !strings.Contains(h, "stats socket "+kaStatsSocket+" ") ||
		strings.Index(h, "stats socket") > strings.Index(h, "defaults") {
		t.Errorf("haproxy.cfg without the stats socket in global:\n%s", h)
	}
	if s := files[kaCheck]; s.Mode != 0o700 || !strings.Contains(string(s.Data), kaStatsSocket) {
		t.Errorf("check %o:\n%s", s.Mode, s.Data)
	}
	k := files["/etc/keepalived/keepalived.conf"]
	if k.Mode != 0o600 || !strings.Contains(string(k.Data), "script \""+kaCheck+"\"") || !strings.Contains(string(k.Data), VIP+"/") ||
		!strings.Contains(string(k.Data), " dev eth0") || !strings.Contains(string(k.Data), "router_id "+n.Name) {
		t.Errorf("keepalived.conf %o:\n%s", k.Mode, k.Data)
	}
	if err := os.WriteFile(cfg, []byte("defaults\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := c.keepalivedFiles(n, map[string]sysnode.File{}); err == nil {
		t.Error("a haproxy.cfg without a global section was taken")
	}
}
