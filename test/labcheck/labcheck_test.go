package labcheck

import (
	"os"
	"reflect"
	"runtime"
	"testing"

	"golang.org/x/sys/unix"
)

func TestUnescapeMount(t *testing.T) {
	for in, want := range map[string]string{
		`/var/tmp/shc`:         "/var/tmp/shc",
		`/var/tmp/a\040b`:      "/var/tmp/a b",
		`/x\134y`:              `/x\y`,
		`/bad\09`:              `/bad\09`,
		`/end\04`:              `/end\04`,
		`/var/lib/n1\011tab\n`: "/var/lib/n1\ttab\\n",
	} {
		if got := UnescapeMount(in); got != want {
			t.Errorf("UnescapeMount(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestMountsIn(t *testing.T) {
	info := `22 1 0:21 / /var/tmp/shc rw - tmpfs t rw
23 22 0:22 / /var/tmp/shc/ns rw - tmpfs t rw
24 1 0:23 / /var/tmp/shcx rw - tmpfs t rw
25 22 0:24 / /var/tmp/shc/a\040b rw - tmpfs t rw
`
	got := mountsIn(info, "/var/tmp/shc")
	want := []string{"/var/tmp/shc/a b", "/var/tmp/shc/ns", "/var/tmp/shc"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}

// TestThreads: a thread of this process that entered a namespace is found
// there, and nowhere once it left.
func TestThreads(t *testing.T) {
	self, err := Inode("/proc/self/ns/uts")
	if err != nil {
		t.Skipf("SKIP: %v", err)
	}
	if left := Threads(map[string]uint64{"uts:machine": self}); len(left) == 0 {
		t.Error("no thread of this process in its own UTS namespace")
	}
	if os.Geteuid() != 0 {
		t.Skip("SKIP: a new UTS namespace needs root")
	}
	ino := make(chan uint64)
	leave := make(chan struct{})
	go func() {
		runtime.LockOSThread() // the thread ends with the goroutine
		if err := unix.Unshare(unix.CLONE_NEWUTS); err != nil {
			ino <- 0
			return
		}
		i, _ := Inode("/proc/thread-self/ns/uts")
		ino <- i
		<-leave
	}()
	i := <-ino
	if i == 0 {
		t.Fatal("unshare failed")
	}
	if left := Threads(map[string]uint64{"uts:lab": i}); len(left) != 1 {
		t.Errorf("threads in the new namespace: %v, want this test's one", left)
	}
	close(leave)
}
