// Command fence_shc is the cluster harness's test-only fence agent: the
// fence-agents protocol over the harness's power switch (see package
// fence). Not for production: it can only power harness nodes.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/stackha/stackha/test/cluster/fence"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	code := fence.Main(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
