package install

import (
	"bytes"
	"fmt"
	"os/exec"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// The budget of package initialisation an agent run pays before main, as
// GODEBUG=inittrace=1 reports it for `stackha vip usage` (allocations and
// bytes, never times: they are exact and the same on every run of one
// build). Set from the binary after the start-up rounds docs/benchmarks.md
// describes (go1.26.8: 693 allocations, 106,944 bytes, the API agents' declarations
// built on first use; 694 and 155,808 before that, 1121 and 236,080 before
// the first round), with a little room. To re-measure:
//
//	make build && GODEBUG=inittrace=1 bin/stackha vip usage 2>&1 >/dev/null |
//	  awk '/^init/{b+=$(NF-3); a+=$(NF-1)} END{print a" allocs", b" bytes"}'
//
// Lower the budget when a package stops working at init; raise it only
// with a reason in the commit (a new dependency whose init cannot be
// avoided).
const (
	initAllocBudget = 720
	initByteBudget  = 112 << 10
)

var initLine = regexp.MustCompile(`^init (\S+) @\S+ ms, \S+ ms clock, (\d+) bytes, (\d+) allocs$`)

type initCost struct {
	pkg           string
	bytes, allocs int
}

// parseInitTrace reads GODEBUG=inittrace=1 output; other lines are ignored.
func parseInitTrace(out string) []initCost {
	var costs []initCost
	for _, line := range strings.Split(out, "\n") {
		m := initLine.FindStringSubmatch(strings.TrimSpace(line))
		if m == nil {
			continue
		}
		b, _ := strconv.Atoi(m[2])
		a, _ := strconv.Atoi(m[3])
		costs = append(costs, initCost{m[1], b, a})
	}
	return costs
}

func TestParseInitTrace(t *testing.T) {
	out := "init runtime @0.032 ms, 0.37 ms clock, 0 bytes, 0 allocs\n" +
		"usage: vip {...}\n" +
		"init go.yaml.in/yaml/v3 @50 ms, 0.12 ms clock, 25736 bytes, 276 allocs\n"
	got := parseInitTrace(out)
	want := []initCost{{"runtime", 0, 0}, {"go.yaml.in/yaml/v3", 25736, 276}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
}

func TestInitWorkBudget(t *testing.T) {
	bin := unstrippedBinary(t)
	cmd := exec.Command(bin, "vip", "usage")
	cmd.Env = append(cmd.Environ(), "GODEBUG=inittrace=1")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("stackha vip usage: %v\n%s", err, stderr.String())
	}
	costs := parseInitTrace(stderr.String())
	if len(costs) == 0 {
		t.Fatalf("no inittrace lines in:\n%s", stderr.String())
	}
	var bytesTotal, allocs int
	for _, c := range costs {
		bytesTotal += c.bytes
		allocs += c.allocs
	}
	sort.Slice(costs, func(i, j int) bool { return costs[i].allocs > costs[j].allocs })
	var top strings.Builder
	for _, c := range costs[:min(15, len(costs))] {
		if c.allocs > 0 {
			fmt.Fprintf(&top, "  %-50s %5d allocs %8d bytes\n", c.pkg, c.allocs, c.bytes)
		}
	}
	t.Logf("init work of `stackha vip usage`: %d allocations, %d bytes in %d packages; the most:\n%s", allocs, bytesTotal, len(costs), top.String())
	if allocs > initAllocBudget || bytesTotal > initByteBudget {
		t.Errorf("init work over budget: %d allocations (budget %d), %d bytes (budget %d); build tables, regexps and templates on first use. The most:\n%s",
			allocs, initAllocBudget, bytesTotal, initByteBudget, top.String())
	}
}
