// Command mkpkg builds stackha's .deb and .rpm from one description
// (package packaging): `make deb`, `make rpm`.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/stackha/stackha/packaging"
)

func main() {
	bin := flag.String("bin", "bin/stackha", "the built stackha binary")
	version := flag.String("version", "", "the package version (packaging/version.sh)")
	formats := flag.String("format", "deb", "comma-separated: deb, rpm")
	out := flag.String("out", "bin", "output directory")
	root := flag.String("root", ".", "the source tree")
	epoch := flag.Int64("source-date-epoch", 0, "the time stamped on the package's files (seconds; SOURCE_DATE_EPOCH, e.g. the commit's time); 0: the newest changelog entry's")
	flag.Parse()
	if *version == "" {
		fmt.Fprintln(os.Stderr, "mkpkg: -version is required")
		os.Exit(2)
	}
	work, err := os.MkdirTemp("", "stackha-pkg-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "mkpkg:", err)
		os.Exit(1)
	}
	defer os.RemoveAll(work)
	spec := packaging.Spec{Version: *version, Binary: *bin, Root: *root, Work: work}
	if *epoch > 0 {
		spec.MTime = time.Unix(*epoch, 0).UTC()
	}
	for _, f := range strings.Split(*formats, ",") {
		path, err := packaging.Build(spec, strings.TrimSpace(f), *out)
		if err != nil {
			fmt.Fprintln(os.Stderr, "mkpkg:", err)
			os.Exit(1)
		}
		fmt.Println(filepath.Clean(path))
	}
}
