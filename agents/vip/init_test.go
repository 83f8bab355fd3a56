package vip

import (
	"os/exec"
	"regexp"
	"strconv"
	"testing"
)

// vip's init only registers the agent and its helper: a budget on what
// GODEBUG=inittrace=1 reports for the package in `stackha vip usage`
// (allocations and bytes, not time). Before this budget it was 14
// allocations and 2264 bytes (netip.MustParseAddr, a map of ARP senders,
// a CLI command).
func TestInitBudget(t *testing.T) {
	bin := stackhaBinary(t)
	cmd := exec.Command(bin, "vip", "usage")
	cmd.Env = []string{"GODEBUG=inittrace=1"}
	out, _ := cmd.CombinedOutput()
	m := regexp.MustCompile(`init github\.com/stackha/stackha/agents/vip @\S+ ms, \S+ ms clock, (\d+) bytes, (\d+) allocs`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("no init line for agents/vip in:\n%s", out)
	}
	bytes, _ := strconv.Atoi(string(m[1]))
	allocs, _ := strconv.Atoi(string(m[2]))
	// 6: the agent, the helper, and the runtime's registries, which are made
	// on the first registration and so counted against whichever agent
	// registers first.
	const maxAllocs, maxBytes = 6, 1024
	if allocs > maxAllocs || bytes > maxBytes {
		t.Fatalf("vip's init makes %d allocations, %d bytes; the budget is %d and %d: build tables on first use", allocs, bytes, maxAllocs, maxBytes)
	}
}
