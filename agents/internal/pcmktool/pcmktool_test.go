package pcmktool

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestCheckAttrName(t *testing.T) {
	for _, tc := range []struct {
		name string
		ok   bool
	}{
		{"haproxy-listening", true},
		{"a", true},
		{"x1.y_z-2", true},
		{"", false},
		{"1abc", false},
		{"-abc", false},
		{"has space", false},
		{"semi;colon", false},
		{"quote\"", false},
		{"dollar$x", false},
		{"ünï", false},
		{strings.Repeat("a", MaxAttrName), true},
		{strings.Repeat("a", MaxAttrName+1), false},
	} {
		if err := CheckAttrName(tc.name); (err == nil) != tc.ok {
			t.Errorf("CheckAttrName(%q) = %v, want ok %v", tc.name, err, tc.ok)
		}
	}
}

func TestAttrCommand(t *testing.T) {
	want := []string{"attrd_updater", "--node", "node1", "--name", "haproxy-listening", "--update", "1", "--delay", "0"}
	if got := AttrCommand("node1", "haproxy-listening", "1"); !slices.Equal(got, want) {
		t.Errorf("AttrCommand = %q, want %q", got, want)
	}
}

// TestRun: a tool's output is capped, a missing tool is an error, and the
// context bounds a tool that hangs.
func TestRun(t *testing.T) {
	dir := t.TempDir()
	tool := func(name, body string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	tool("chatty", "/usr/bin/head -c 100000 /dev/zero; echo done >&2")
	tool("hangs", "exec /bin/sleep 60")
	t.Setenv("PATH", dir)
	out, err := Run(context.Background(), []string{"chatty"})
	if err != nil || len(out) != MaxOutput {
		t.Errorf("chatty: %d bytes, %v; want %d bytes, no error", len(out), err, MaxOutput)
	}
	if _, err := Run(context.Background(), []string{"no-such-pacemaker-tool"}); err == nil {
		t.Error("a missing tool ran")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if _, err := Run(ctx, []string{"hangs"}); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("hangs: %v, want the deadline", err)
	}
}
