package install

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/stackha/stackha/internal/testutil"
)

// buildTags are the build tags of `make build` (the Makefile's TAGS):
//   - urfave_cli_no_docs leaves out the man/markdown generator and its
//     markdown parser;
//   - nethttpomithttp2 leaves out net/http's bundled HTTP/2 (hpack's
//     tables, the frame and header maps built at init, ~400 KB of code).
//     The only HTTP client in the binary (the API agents' probe) sets its
//     own TLSClientConfig and DialContext without ForceAttemptHTTP2, so it
//     never speaks HTTP/2 anyway.
const buildTags = "urfave_cli_no_docs nethttpomithttp2"

var unstripped struct {
	once sync.Once
	path string
	out  []byte
	err  error
}

// unstrippedBinary builds ./cmd/stackha as `make build` does (same tags,
// CGO_ENABLED=0, -trimpath) but keeps the symbol table; once per test run.
func unstrippedBinary(t *testing.T) string {
	t.Helper()
	root := testutil.RepoRoot(t)
	unstripped.once.Do(func() {
		dir, err := os.MkdirTemp("", "stackha-install-test-")
		if err != nil {
			unstripped.err = err
			return
		}
		unstripped.path = filepath.Join(dir, "stackha")
		build := exec.Command("go", "build", "-tags", buildTags, "-trimpath", "-o", unstripped.path, "./cmd/stackha")
		build.Dir = root
		build.Env = append(build.Environ(), "CGO_ENABLED=0")
		unstripped.out, unstripped.err = build.CombinedOutput()
	})
	if unstripped.err != nil {
		t.Fatalf("go build: %v\n%s", unstripped.err, unstripped.out)
	}
	return unstripped.path
}

func TestMain(m *testing.M) {
	code := m.Run()
	if unstripped.path != "" {
		os.RemoveAll(filepath.Dir(unstripped.path))
	}
	os.Exit(code)
}

// The tests build with the tags `make build` uses.
func TestMakefileTags(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(testutil.RepoRoot(t), "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^TAGS\s*\?=\s*(.*)$`).FindSubmatch(b)
	if m == nil {
		t.Fatal("no TAGS ?= line in the Makefile")
	}
	if got := strings.Join(strings.Fields(string(m[1])), " "); got != buildTags {
		t.Errorf("Makefile TAGS = %q, the tests build with %q: keep them the same", got, buildTags)
	}
}

// net/http's bundled HTTP/2 stays out of the binary (nethttpomithttp2).
func TestNoHTTP2InBinary(t *testing.T) {
	out, err := exec.Command("go", "tool", "nm", unstrippedBinary(t)).Output()
	if err != nil {
		t.Fatalf("go tool nm: %v", err)
	}
	var found []string
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		if len(f) < 3 {
			continue
		}
		// omithttp2.go's stubs (http2Transport, http2client...) stay;
		// the framer, the client connection and hpack must not.
		if sym := f[len(f)-1]; strings.Contains(sym, "http2Framer") || strings.Contains(sym, "http2ClientConn") || strings.Contains(sym, "http2/hpack.") {
			found = append(found, sym)
		}
	}
	if len(found) > 0 {
		t.Errorf("%d HTTP/2 symbols in the binary (built without the nethttpomithttp2 tag?), e.g. %s", len(found), found[0])
	}
}
