package install

import (
	"os/exec"
	"regexp"
	"strings"
	"testing"
)

// testOnly matches a symbol of the module that only tests, the conformance
// walk and the benchmarks may link: the test-support packages, and
// anything named like a sandbox, a free-port finder or vip's network lab.
var testOnly = regexp.MustCompile(`^` + regexp.QuoteMeta(module) + `/(` +
	`internal/testutil[./]|internal/sandbox[./]|test/|agents/[^/]+/[a-z]+test[./]|` + // packages
	`.*(?i:sandbox)|.*FreePorts?([^a-z]|$)|.*(^|[^A-Za-z]|New)[Ll]ab([^a-z]|$))`) // names

func TestTestOnlyPattern(t *testing.T) {
	cases := []struct {
		sym  string
		want bool
	}{
		{module + "/internal/testutil.Median", true},
		{module + "/internal/sandbox.Register", true},
		{module + "/internal/testutil/sandbox.Register", true},
		{module + "/internal/testutil/viptest.init.0", true},
		{module + "/internal/testutil/openstacktest.SetupKeystone", true},
		{module + "/internal/sandbox..inittask", true},
		{module + "/agents/vip/viptest.init.0", true},
		{module + "/agents/haproxy/haproxytest.Sandbox.func1", true},
		{module + "/agents/openstack/openstacktest.KeystoneSandbox", true},
		{module + "/test/conformance.walk", true},
		{module + "/agents/openstack.FreePort", true},
		{module + "/agents/haproxy.FreePorts", true},
		{module + "/agents/openstack.GlanceSandbox.func1", true},
		{module + "/agents/openstack.sandboxes", true},
		{module + "/agents/vip.NewLab", true},
		{module + "/agents/vip.(*Lab).Close", true},
		{module + "/agents/vip.labSeq", true},
		{module + "/agents/vip.(*Config).Label", false},
		{module + "/agents/vip.checkLabel", false},
		{module + "/agents/vip.(*system).setAddrLabel", false},
		{module + "/ocf.Run", false},
		{module + "/agents/haproxy.parseStat", false},
		{module + "/agents/openstack.testableName", false},
		{"github.com/vishvananda/netlink.AddrLabel", false},
		{"testing.tRunner", false},
	}
	for _, c := range cases {
		if got := testOnly.MatchString(c.sym); got != c.want {
			t.Errorf("testOnly(%q) = %t, want %t", c.sym, got, c.want)
		}
	}
}

// Nothing test-only is linked into the binary every agent run loads. The
// shipped binary is stripped, so this builds the same package graph with
// the same tags, keeping the symbol table, and reads it with `go tool nm`.
func TestNoTestOnlySymbolsInBinary(t *testing.T) {
	bin := unstrippedBinary(t)
	out, err := exec.Command("go", "tool", "nm", bin).Output()
	if err != nil {
		t.Fatalf("go tool nm: %v", err)
	}
	var found []string
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		if len(f) >= 3 && testOnly.MatchString(f[len(f)-1]) {
			found = append(found, f[len(f)-1])
		}
	}
	if len(found) > 0 {
		t.Errorf("%d test-only symbols in the binary (move them to a _test.go file or a package under internal/testutil):\n  %s",
			len(found), strings.Join(found, "\n  "))
	}
}
