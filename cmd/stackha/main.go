// Command stackha is every stackha agent in one static binary: installed
// once, symlinked as each agent under /usr/lib/ocf/resource.d/stackha/.
package main

import (
	_ "github.com/stackha/stackha/agents/all"
	"github.com/stackha/stackha/ocf"
)

func main() { ocf.Main() }
