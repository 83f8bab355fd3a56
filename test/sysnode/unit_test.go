package sysnode

import (
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/stackha/stackha/internal/testutil/nodelock"
)

// The hybrid layout of this project's machines (and Debian 12's without
// systemd as init), and a pure cgroup2 one.
const hybridMountinfo = `22 27 0:21 / /proc rw,relatime - proc proc rw
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
36 31 0:33 / /sys/fs/cgroup/net_cls,net_prio rw,relatime - cgroup cgroup rw,net_cls,net_prio
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
`

func TestParseCgroups(t *testing.T) {
	cg, err := parseCgroups(hybridMountinfo)
	if err != nil {
		t.Fatal(err)
	}
	want := cgroups{named: "/sys/fs/cgroup/systemd", unified: "/sys/fs/cgroup/unified",
		controllers: []string{"cpu", "cpuacct", "memory", "net_cls,net_prio"}}
	if !reflect.DeepEqual(cg, want) {
		t.Errorf("got %+v, want %+v", cg, want)
	}
	if got := cg.nodeDirs("n1"); !reflect.DeepEqual(got, []string{"/sys/fs/cgroup/systemd/stackha-sysnode/n1", "/sys/fs/cgroup/unified/stackha-sysnode/n1"}) {
		t.Errorf("node dirs: %v", got)
	}
	cg, err = parseCgroups("30 1 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw,nsdelegate\n")
	if err != nil || !reflect.DeepEqual(cg, cgroups{unified: "/sys/fs/cgroup"}) {
		t.Errorf("pure cgroup2: got %+v, %v", cg, err)
	}
	if got := cg.nodeDirs("n1"); !reflect.DeepEqual(got, []string{"/sys/fs/cgroup/stackha-sysnode/n1"}) {
		t.Errorf("pure cgroup2 node dirs: %v", got)
	}
	s := stage2(cg, pathsOf("n1"), nil)
	if !strings.Contains(s, `mount -t cgroup2 -o nosuid,nodev,noexec cgroup2 "$R/sys/fs/cgroup"`+"\n") || strings.Contains(s, "name=systemd") {
		t.Errorf("pure cgroup2 stage2:\n%s", s)
	}
	if _, err := parseCgroups("22 27 0:21 / /proc rw,relatime - proc proc rw\n"); !errors.Is(err, ErrNoCgroups) {
		t.Errorf("no cgroups: got %v, want ErrNoCgroups", err)
	}
}

// TestStage2Guards checks the order that keeps the machine safe: every
// node file system is mounted, the machine's root dropped and the checks
// made before systemd's exec, which is the last line.
func TestStage2Guards(t *testing.T) {
	cg, _ := parseCgroups(hybridMountinfo)
	s := stage2(cg, pathsOf("n1"), []string{"/var/tmp/shc"})
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if last := lines[len(lines)-1]; last != "exec /lib/systemd/systemd --system --unit=sysnode.target" {
		t.Fatalf("last line %q, want systemd's exec", last)
	}
	if strings.Count("\n"+s, "\nexec ") != 1 {
		t.Errorf("stage2 execs more than once:\n%s", s)
	}
	order := []string{
		"lowerdir=/,upperdir=/var/lib/stackha-test/sysnode/n1/upper,workdir=/var/lib/stackha-test/sysnode/n1/work",
		`sysnode-run "$R/run"`, `sysnode-tmp "$R/tmp"`,
		`mount --bind /var/tmp/shc "$R"/var/tmp/shc`, `sysnode-hide "$R` + BaseDir + `"`,
		"pivot_root . .sysnode-oldroot", "umount -l /.sysnode-oldroot",
		`"$(fstype /)" = overlayfs`, `"$(fstype /tmp)" = tmpfs`, `"$(fstype /run)" = tmpfs`,
		"exec /lib/systemd/systemd",
	}
	at := 0
	for _, o := range order {
		i := strings.Index(s[at:], o)
		if i < 0 {
			t.Fatalf("%q missing or out of order in stage2:\n%s", o, s)
		}
		at += i
	}
	for _, ro := range []string{
		`mount -o remount,bind,ro "$R/proc/sys"`,
		`mount -t sysfs -o ro,`,
		`mount -t cgroup -o ro,nosuid,nodev,noexec,memory cgroup "$R/sys/fs/cgroup/memory"`,
		`mount -o remount,ro "$R/sys/fs/cgroup"`,
		`mount -t cgroup -o nosuid,nodev,noexec,none,name=systemd cgroup "$R/sys/fs/cgroup/systemd"`,
	} {
		if !strings.Contains(s, ro) {
			t.Errorf("stage2 lacks %q", ro)
		}
	}
	s1 := stage1(cg, "n1", "/x/stage2.sh")
	if !strings.Contains(s1, "echo 0 > /sys/fs/cgroup/systemd/stackha-sysnode/n1/cgroup.procs\n") ||
		!strings.HasSuffix(s1, "exec unshare --cgroup -- /bin/sh -eu /x/stage2.sh\n") {
		t.Errorf("stage1:\n%s", s1)
	}
}

func TestBaseDirOutsideTmp(t *testing.T) {
	for _, p := range []string{BaseDir, nodelock.Path} {
		if p == "/tmp" || strings.HasPrefix(p, "/tmp/") || strings.HasPrefix(p, "/run/") {
			t.Errorf("%s is under a directory a systemd empties or a node hides", p)
		}
	}
}

func TestCheckSpecs(t *testing.T) {
	a := netip.MustParseAddr
	ok := []Spec{{Name: "n1", Addr: a("192.0.2.11")}, {Name: "node-2", Addr: a("192.0.2.12")}}
	if err := checkSpecs(ok, DefaultClientAddr); err != nil {
		t.Fatal(err)
	}
	ext := []Spec{{Name: "n1", Addr: a("192.0.2.11"), NetNS: "/run/netns/x-n1", Binds: []string{"/etc"}},
		{Name: "n2", Addr: a("192.0.2.12"), NetNS: "/run/netns/x-n2"}}
	if err := checkSpecs(ext, DefaultClientAddr); err != nil {
		t.Fatalf("nodes in the caller's namespaces: %v", err)
	}
	for name, specs := range map[string][]Spec{
		"none":             nil,
		"bad name":         {{Name: "N1", Addr: a("192.0.2.11")}},
		"long name":        {{Name: "abcdefghijklmn", Addr: a("192.0.2.11")}},
		"reserved name":    {{Name: "client", Addr: a("192.0.2.11")}},
		"same name":        {{Name: "n1", Addr: a("192.0.2.11")}, {Name: "n1", Addr: a("192.0.2.12")}},
		"outside TEST-NET": {{Name: "n1", Addr: a("10.0.0.1")}},
		"client's address": {{Name: "n1", Addr: DefaultClientAddr}},
		"network address":  {{Name: "n1", Addr: a("192.0.2.0")}},
		"broadcast":        {{Name: "n1", Addr: a("192.0.2.255")}},
		"same address":     {{Name: "n1", Addr: a("192.0.2.11")}, {Name: "n2", Addr: a("192.0.2.11")}},
		"file in /tmp":     {{Name: "n1", Addr: a("192.0.2.11"), Files: map[string]File{"/tmp/x": {}}}},
		"file in /run":     {{Name: "n1", Addr: a("192.0.2.11"), Files: map[string]File{"/run/x": {}}}},
		"relative file":    {{Name: "n1", Addr: a("192.0.2.11"), Files: map[string]File{"etc/x": {}}}},
		"unclean file":     {{Name: "n1", Addr: a("192.0.2.11"), Files: map[string]File{"/etc/../tmp/x": {}}}},
		"some netns":       {{Name: "n1", Addr: a("192.0.2.11"), NetNS: "/run/netns/x-n1"}, {Name: "n2", Addr: a("192.0.2.12")}},
		"relative netns":   {{Name: "n1", Addr: a("192.0.2.11"), NetNS: "x-n1"}},
		"bind in /tmp":     {{Name: "n1", Addr: a("192.0.2.11"), Binds: []string{"/tmp"}}},
		"bind of BaseDir":  {{Name: "n1", Addr: a("192.0.2.11"), Binds: []string{BaseDir + "/n1"}}},
		"bind missing":     {{Name: "n1", Addr: a("192.0.2.11"), Binds: []string{"/sysnode-test-no-such-dir"}}},
		"bind relative":    {{Name: "n1", Addr: a("192.0.2.11"), Binds: []string{"var/tmp"}}},
	} {
		if err := checkSpecs(specs, DefaultClientAddr); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// TestEnsureDirMirrors: a directory made in the upper layer has the mode
// of the machine's directory of the same path (as far as a user who is
// not root can check: the owner is the test's).
func TestEnsureDirMirrors(t *testing.T) {
	upper := t.TempDir()
	if err := ensureDir(upper, "/etc/systemd/system"); err != nil {
		if os.Geteuid() != 0 {
			t.Skipf("SKIP: ensureDir chowns (needs root): %v", err)
		}
		t.Fatal(err)
	}
	for _, d := range []string{"/etc", "/etc/systemd", "/etc/systemd/system"} {
		want, err := os.Stat(d)
		if err != nil {
			continue
		}
		got, err := os.Stat(filepath.Join(upper, d))
		if err != nil {
			t.Fatal(err)
		}
		if got.Mode() != want.Mode() {
			t.Errorf("%s: mode %v, want the machine's %v", d, got.Mode(), want.Mode())
		}
	}
	if err := ensureDir(upper, "/sysnode-test-no-such-dir/x"); err != nil {
		t.Fatal(err)
	}
	if st, _ := os.Stat(filepath.Join(upper, "/sysnode-test-no-such-dir")); st == nil || st.Mode().Perm() != 0o755 {
		t.Errorf("a directory the machine lacks: %v, want 0755", st)
	}
}

func TestHostsFile(t *testing.T) {
	got := hostsFile([]Spec{{Name: "n1", Addr: netip.MustParseAddr("192.0.2.11")}}, "192.0.2.50")
	for _, line := range []string{"127.0.0.1\tlocalhost\n", "192.0.2.11\tn1\n", "192.0.2.50\tclient\n"} {
		if !strings.Contains(got, line) {
			t.Errorf("hosts lacks %q:\n%s", line, got)
		}
	}
}

func TestSmapsRollup(t *testing.T) {
	rss, pss := smapsRollup([]byte("55d0-7ffd ---p 00000000 00:00 0  [rollup]\nRss:               22016 kB\nPss:               12345 kB\nPss_Anon:  1 kB\n"))
	if rss != 22016<<10 || pss != 12345<<10 {
		t.Errorf("rss %d pss %d", rss, pss)
	}
}

func TestShq(t *testing.T) {
	for in, want := range map[string]string{"/a/b-c_d.e": "/a/b-c_d.e", "a b": "'a b'", "it's": `'it'\''s'`, "": "''"} {
		if got := shq(in); got != want {
			t.Errorf("shq(%q) = %s, want %s", in, got, want)
		}
	}
}

func TestStatTicks(t *testing.T) {
	stat := "1234 (uwsgi (x) y) S 1 2 3 4 5 6 7 8 9 10 100 20 3 4 20 0 1 0 5 6 7"
	if got := statTicks(stat); got != 127 {
		t.Errorf("got %d, want 127", got)
	}
}
