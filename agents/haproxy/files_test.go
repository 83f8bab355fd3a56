package haproxy

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRemoveOnlyWhatItShouldBe(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	os.WriteFile(file, []byte("root:x:0:0\n"), 0o644)
	if err := removeSocket(file); err == nil || !strings.Contains(err.Error(), "not a socket") {
		t.Errorf("removeSocket on a file: %v", err)
	}
	sock := filepath.Join(dir, "s.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	l.(*net.UnixListener).SetUnlinkOnClose(false)
	l.Close()
	if err := removeSocket(sock); err != nil {
		t.Errorf("removeSocket on a socket: %v", err)
	}
	if err := removeSocket(sock); err != nil {
		t.Errorf("removeSocket on nothing: %v", err)
	}
	if err := removePidfile(file, 0); err == nil || !strings.Contains(err.Error(), "not a pid file") {
		t.Errorf("removePidfile on a file that is not a pid file: %v", err)
	}
	pid := filepath.Join(dir, "p.pid")
	os.WriteFile(pid, []byte("123\n124\n"), 0o644)
	if err := removePidfile(pid, 99); err == nil || !strings.Contains(err.Error(), "not this haproxy") {
		t.Errorf("removePidfile naming another master: %v", err)
	}
	link := filepath.Join(dir, "link.pid")
	os.Symlink(pid, link)
	if err := removePidfile(link, 0); err == nil {
		t.Error("removePidfile followed a link")
	}
	if err := removePidfile(pid, 123); err != nil {
		t.Errorf("removePidfile of ours: %v", err)
	}
	for _, p := range []string{file, link} {
		if _, err := os.Lstat(p); err != nil {
			t.Errorf("%s removed: %v", p, err)
		}
	}
	if _, err := os.Lstat(pid); err == nil {
		t.Error("our pid file left")
	}
}
