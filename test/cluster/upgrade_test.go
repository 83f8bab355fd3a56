package cluster

import (
	"context"
	"encoding/xml"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stackha/stackha/test/cluster/harness"
)

// a new build of stackha installed on one node of a running
// cluster the way dpkg installs a file (written beside the old one as
// <file>.dpkg-new, then renamed over it) causes no failed operation, and
// the agents that node runs next are the new build.
//
// The harness installs one copy of the binary for every node
// (BaseDir/bin/stackha, which each node's /usr/lib/ocf/resource.d/stackha/
// <agent> links to). To change it on one node only, the test first gives
// that node a directory of its own in place of BaseDir/bin: a copy of the
// installed binary in BaseDir/<node>/stackha-bin, bound over BaseDir/bin
// inside the node's mount namespace only. A directory bind mount, not a
// file one: a file bind mount pins the file's inode, and a rename in the
// directory would not be seen through it. Then the upgrade is done inside
// the node, in that directory, as dpkg does it: write stackha.dpkg-new,
// rename(2) it over stackha. An agent already running keeps the old inode;
// the next exec through the symlink finds the new one.

// upgradeWatch is how long the test watches the monitors (every second)
// after the upgrade.
const upgradeWatch = 18 * time.Second

// buildVersion builds stackha with ocf.Version set to version.
func buildVersion(t *testing.T, version string) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "stackha")
	cmd := exec.Command("go", "build", "-ldflags", "-X github.com/stackha/stackha/ocf.Version="+version,
		"-o", bin, "github.com/stackha/stackha/cmd/stackha")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building stackha %s: %v\n%s", version, err, out)
	}
	return bin
}

// agentVersion is resource-agent@version of the agent's meta-data as
// Pacemaker's executor gets it on node n (crm_resource runs the agent as
// an OCF 1.1 caller).
func agentVersion(ctx context.Context, n *harness.Node, agent string) (string, error) {
	out, err := n.Run(ctx, "crm_resource", "--show-metadata", "ocf:stackha:"+agent)
	if err != nil {
		return "", err
	}
	var m struct {
		Name    string `xml:"name,attr"`
		Version string `xml:"version,attr"`
	}
	if err := xml.Unmarshal([]byte(out), &m); err != nil {
		return "", fmt.Errorf("meta-data of %s on %s: %w", agent, n.Name, err)
	}
	return m.Version, nil
}

// ownBinDir gives node n its own copy of the installed stackha directory,
// bound over BaseDir/bin inside n only, and returns its path as the node
// sees it (BaseDir/bin).
func ownBinDir(ctx context.Context, n *harness.Node) (string, error) {
	shared := filepath.Join(harness.BaseDir, "bin")
	own := filepath.Join(n.Dir(), "stackha-bin")
	if err := os.MkdirAll(own, 0o755); err != nil {
		return "", err
	}
	data, err := os.ReadFile(filepath.Join(shared, "stackha"))
	if err != nil {
		return "", err
	}
	// The node's copy is installed the dpkg way too, so that the agents
	// never see a half-written file.
	if err := os.WriteFile(filepath.Join(own, "stackha.dpkg-new"), data, 0o755); err != nil {
		return "", err
	}
	if err := os.Rename(filepath.Join(own, "stackha.dpkg-new"), filepath.Join(own, "stackha")); err != nil {
		return "", err
	}
	if _, err := n.Run(ctx, "mount", "--bind", own, shared); err != nil {
		return "", err
	}
	return shared, nil
}

// dpkgInstall installs the file src as dst inside node n as dpkg does:
// dst.dpkg-new written and synced beside dst, then renamed over it.
func dpkgInstall(ctx context.Context, n *harness.Node, src, dst string) error {
	_, err := n.Script(ctx, fmt.Sprintf("cp %s %s.dpkg-new\nchmod 0755 %s.dpkg-new\nsync %s.dpkg-new\nmv -f %s.dpkg-new %s\n",
		src, dst, dst, dst, dst, dst))
	return err
}

// TestLiveUpgrade installs a different build on one node of a running
// cluster (monitors every second) and watches for failed operations.
func TestLiveUpgrade(t *testing.T) {
	requireCluster(t)
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	set, err := harness.Stackha(ctx, buildStackha(t))
	if err != nil {
		t.Fatalf("stackha's agents: %v", err)
	}
	if !set.Stackha("vip") || !set.Stackha("haproxy") {
		t.Fatalf("the stackha binary lacks the vip or haproxy agent (%s)", set.Note)
	}
	c := up(t, ctx, harness.Options{Agents: set})
	// The VIP holder: both its vip and haproxy monitors run every second.
	target, err := c.VIPNode(ctx)
	if err != nil {
		t.Fatalf("%v", err)
	}
	other := c.Other(target)
	old, err := agentVersion(ctx, target, "vip")
	if err != nil {
		t.Fatalf("%v", err)
	}
	newVersion := old + "+upgrade.test"
	newBin := buildVersion(t, newVersion)

	dir, err := ownBinDir(ctx, target)
	if err != nil {
		t.Fatalf("giving %s its own stackha directory: %v", target.Name, err)
	}
	if v, err := agentVersion(ctx, target, "vip"); err != nil || v != old {
		t.Fatalf("%s runs version %q (%v) before the upgrade, want %q", target.Name, v, err, old)
	}
	checkNoFailures(t, ctx, c)
	if t.Failed() {
		t.FailNow()
	}
	before, err := c.Ops(ctx)
	if err != nil {
		t.Fatalf("%v", err)
	}
	oldIno := inode(filepath.Join(target.Dir(), "stackha-bin", "stackha"))
	sampler := sampleAgents(target)
	p, err := harness.StartProber(probeURL(c), 100*time.Millisecond, time.Second)
	if err != nil {
		t.Fatalf("%v", err)
	}
	t0 := time.Now()
	if err := dpkgInstall(ctx, target, newBin, filepath.Join(dir, "stackha")); err != nil {
		p.Stop()
		t.Fatalf("installing the new build on %s: %v", target.Name, err)
	}
	t.Logf("%s: %s installed over %s (rename of %s.dpkg-new) at +%s", target.Name, newVersion, old,
		filepath.Join(dir, "stackha"), time.Since(t0).Round(time.Millisecond))
	var failures []string
	polls := 0
	for end := time.Now().Add(upgradeWatch); time.Now().Before(end); time.Sleep(time.Second) {
		st, err := c.Status(ctx)
		if err != nil {
			t.Errorf("crm_mon: %v", err)
			continue
		}
		polls++
		for _, f := range st.Failures {
			failures = append(failures, fmt.Sprintf("%s on %s: %s %s", f.OpKey, f.Node, f.ExitStatus, f.ExitReason))
		}
		if err := c.Settled(st); err != nil {
			failures = append(failures, "not settled: "+err.Error())
		}
	}
	p.Stop()
	runs := sampler.stop()
	newIno := inode(filepath.Join(target.Dir(), "stackha-bin", "stackha"))
	t.Logf("agent processes seen on %s (sampled every 50 ms): %d of the old build (inode %d), %d of the new (inode %d)",
		target.Name, runs[oldIno], oldIno, runs[newIno], newIno)
	sum := harness.Summarize(p.Attempts(t0), t0)
	after, err := c.Ops(ctx)
	if err != nil {
		t.Fatalf("%v", err)
	}
	ops := harness.NewOps(before, after)
	newV, err := agentVersion(ctx, target, "vip")
	if err != nil {
		t.Fatalf("%v", err)
	}
	otherV, err := agentVersion(ctx, other, "vip")
	if err != nil {
		t.Fatalf("%v", err)
	}
	hv, err := agentVersion(ctx, target, "haproxy")
	if err != nil {
		t.Fatalf("%v", err)
	}
	t.Logf("after %s of monitors (%d crm_mon polls): %s runs vip %s, haproxy %s; %s runs vip %s; operations other than monitors: %q; client: %d requests through the VIP, %d failed",
		upgradeWatch, polls, target.Name, newV, hv, other.Name, otherV, harness.FormatOps(ops), sum.Total, sum.Failed)
	for _, f := range failures {
		t.Errorf("%s", f)
	}
	checkNoFailures(t, ctx, c)
	if newV != newVersion || hv != newVersion {
		t.Errorf("%s: the agents report %s (vip) and %s (haproxy), want the new build's %s", target.Name, newV, hv, newVersion)
	}
	if otherV != old {
		t.Errorf("%s reports %s, want the old build's %s (the upgrade was on %s only)", other.Name, otherV, old, target.Name)
	}
	if len(ops) != 0 {
		t.Errorf("the upgrade caused operations: %s", harness.FormatOps(ops))
	}
	if sum.Failed > 0 || sum.Total == 0 {
		t.Errorf("client through the VIP: %d requests, %d failed (last: %s)", sum.Total, sum.Failed, sum.LastErr)
	}
}

func inode(path string) uint64 {
	var st syscall.Stat_t
	if syscall.Stat(path, &st) != nil {
		return 0
	}
	return st.Ino
}

// agentSampler counts the agent processes (stackha's, by their
// executable's inode) it sees running on a node.
type agentSampler struct {
	done chan struct{}
	res  chan map[uint64]int
}

func sampleAgents(n *harness.Node) *agentSampler {
	s := &agentSampler{done: make(chan struct{}), res: make(chan map[uint64]int, 1)}
	go func() {
		seen := map[int]uint64{}
		for {
			for _, p := range n.Procs(func(p harness.Proc) bool { return p.Comm == "vip" || p.Comm == "haproxy" }) {
				if _, ok := seen[p.Pid]; !ok {
					if ino := inode(fmt.Sprintf("/proc/%d/exe", p.Pid)); ino != 0 {
						seen[p.Pid] = ino
					}
				}
			}
			select {
			case <-s.done:
				count := map[uint64]int{}
				for _, ino := range seen {
					count[ino]++
				}
				s.res <- count
				return
			case <-time.After(50 * time.Millisecond):
			}
		}
	}()
	return s
}

func (s *agentSampler) stop() map[uint64]int {
	close(s.done)
	return <-s.res
}
