// Command stackha is every stackha agent in one static binary: installed
// once, symlinked as each agent under /usr/lib/ocf/resource.d/stackha/. An
// agent run (through its symlink or as `stackha <agent> <action>`) and a
// helper process go straight to the OCF runtime; anything else is the
// command line (package cli).
package main

import (
	_ "github.com/stackha/stackha/agents/all"
	"github.com/stackha/stackha/cmd/stackha/cli"
	"github.com/stackha/stackha/ocf"
)

func main() { ocf.Main(cli.Run) }
