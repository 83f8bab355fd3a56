package sandbox

import (
	"context"
	"fmt"
	"os/exec"
	"sort"
	"strings"
)

// OCFTester prepares agent's sandbox under dir, runs resource-agents'
// ocf-tester on the agent at agentPath (a symlink or the binary's
// `stackha <agent>` path) as resource instance, and undoes the sandbox. It
// returns ocf-tester's output; the error says why it did not pass.
func OCFTester(ctx context.Context, agent, instance, agentPath, dir string) ([]byte, error) {
	f, ok := Lookup(agent)
	if !ok {
		return nil, fmt.Errorf("no sandbox registered for %s (is its <x>test package imported?)", agent)
	}
	sb, err := f(ctx, dir)
	if err != nil {
		return nil, fmt.Errorf("%s sandbox: %w", agent, err)
	}
	if sb.Cleanup != nil {
		defer sb.Cleanup()
	}
	return RunOCFTester(ctx, instance, agentPath, sb.Params)
}

// RunOCFTester runs ocf-tester on the agent at agentPath as resource
// instance with params (in a sandbox the caller prepared).
func RunOCFTester(ctx context.Context, instance, agentPath string, params map[string]string) ([]byte, error) {
	args := []string{"-n", instance}
	var keys []string
	for k := range params {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		args = append(args, "-o", k+"="+params[k])
	}
	args = append(args, agentPath)
	out, err := exec.CommandContext(ctx, "ocf-tester", args...).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "passed all tests") {
		return out, fmt.Errorf("ocf-tester %s: %v", strings.Join(args, " "), err)
	}
	return out, nil
}
