package instance

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stackha/stackha/internal/testutil/require"
	"golang.org/x/sys/unix"
)

// The environment of the exchange helper: the two names it swaps, over
// and over, with renameat2(RENAME_EXCHANGE).
const (
	exchangeA = "STACKHA_INSTANCE_TEST_A"
	exchangeB = "STACKHA_INSTANCE_TEST_B"
)

// exchangeHelper swaps $A and $B until it is killed; it says "ready" once
// the first swap is done.
func exchangeHelper() int {
	a, b := os.Getenv(exchangeA), os.Getenv(exchangeB)
	for n := 0; ; n++ {
		if err := unix.Renameat2(unix.AT_FDCWD, a, unix.AT_FDCWD, b, unix.RENAME_EXCHANGE); err != nil {
			fmt.Fprintln(os.Stderr, "exchange:", err)
			return 1
		}
		if n == 0 {
			fmt.Println("ready")
		}
	}
}

// A service user who can write a directory root works in swaps one of its
// subdirectories with a link to a directory of root's, as fast as it can,
// while root creates directories and files there: nothing is ever created
// through the link, whichever moment the swap hits.
func TestMkdirAllRaceWithALinkSwap(t *testing.T) {
	require.Root(t)
	base := publicDir(t)
	bin := helperBinary(t, base)
	evil := filepath.Join(base, "evil")  // the service's directory
	target := filepath.Join(base, "etc") // root's: the link points there
	for _, d := range []string{evil, target, filepath.Join(evil, "x")} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(target, filepath.Join(evil, "y")); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{evil, filepath.Join(evil, "x"), filepath.Join(evil, "y")} {
		if err := os.Lchown(p, nobody, nobody); err != nil {
			t.Fatal(err)
		}
	}

	cmd := exec.Command(bin, "-test.run=^$")
	cmd.Env = append(os.Environ(), helperEnv+"=exchange",
		exchangeA+"="+filepath.Join(evil, "x"), exchangeB+"="+filepath.Join(evil, "y"))
	cmd.Dir = base
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: nobody, Gid: nobody}}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	ready := make(chan bool, 1)
	go func() {
		line, _ := bufio.NewReader(out).ReadString('\n')
		ready <- line == "ready\n"
		exited <- cmd.Wait()
	}()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-exited
	})
	select {
	case ok := <-ready:
		if !ok {
			t.Fatalf("the helper did not start swapping: %s", stderr.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the helper did not start swapping in 10 s")
	}

	service := Trust{UID: nobody, GID: nobody}
	var made, refused int
	for i := 0; i < 1000; i++ {
		d, err := MkdirAll(filepath.Join(evil, "x", "sub"), service, 0o755)
		if err == nil {
			if err := d.WriteAtomic("f", []byte("root's\n"), 0o644); err != nil {
				t.Errorf("WriteAtomic in a directory opened: %v", err)
			}
			d.Close()
			made++
		} else {
			refused++
		}
		f, _, err := OpenPath(filepath.Join(evil, "x", "g"), unix.O_WRONLY|unix.O_CREAT, 0o644, service)
		if err == nil {
			f.Close()
			made++
		} else {
			refused++
		}
		f, _, err = OpenPath(filepath.Join(evil, "x", "sub", "f"), unix.O_RDONLY, 0, service)
		if err == nil {
			f.Close()
		}
	}
	select {
	case err := <-exited:
		t.Fatalf("the helper stopped before the end: %v: %s", err, stderr.String())
	default:
	}
	t.Logf("%d creations, %d refusals", made, refused)
	if made == 0 {
		t.Error("nothing was ever created: the test tested nothing")
	}
	ents, err := os.ReadDir(target)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		t.Errorf("%s was created through the link", filepath.Join(target, e.Name()))
	}
}
