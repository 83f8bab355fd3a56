package vip

import (
	"os"
	"os/exec"
	"testing"
	"time"
)

// TestMain lets the test binary stand in for a background announcer: run
// as `<test binary> vip-announce ...`, it just waits to be ended.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == announceCmd {
		time.Sleep(time.Minute)
		os.Exit(0)
	}
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// A pid is only ours when its command line is our announcer's for this very
// address and namespace, and its executable is our binary.
func TestIsOurAnnouncer(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cfg := &Config{IP: testIP4, Netns: "shv-x"}
	args := announcerArgs(self, cfg, "shv0", 3, time.Second)
	cmd := &exec.Cmd{Path: self, Args: args}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	pid := cmd.Process.Pid
	// /proc shows the new command line once exec is done.
	deadline := time.Now().Add(10 * time.Second)
	for !isOurAnnouncer(pid, self, cfg) {
		if time.Now().After(deadline) {
			t.Fatalf("pid %d running %v is not recognised", pid, args)
		}
		time.Sleep(10 * time.Millisecond)
	}
	other := &Config{IP: testIP6, Netns: "shv-x"}
	otherNS := &Config{IP: testIP4, Netns: ""}
	for name, ok := range map[string]bool{
		"other address":   isOurAnnouncer(pid, self, other),
		"other namespace": isOurAnnouncer(pid, self, otherNS),
		"other binary":    isOurAnnouncer(pid, "/bin/sleep", cfg),
		"no binary":       isOurAnnouncer(pid, "", cfg),
		"our own pid":     isOurAnnouncer(os.Getpid(), self, cfg),
		"no such pid":     isOurAnnouncer(1<<30, self, cfg),
	} {
		if ok {
			t.Errorf("%s: taken for our announcer", name)
		}
	}
}
