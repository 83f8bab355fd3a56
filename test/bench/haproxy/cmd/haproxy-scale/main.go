// Command haproxy-scale runs the haproxy agent's cost-as-the-work-grows
// benchmark (make bench-haproxy-scale): see haproxy.RunScale.
package main

import (
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/stackha/stackha/test/bench/haproxy"
)

func main() {
	o := haproxy.ScaleOptions{Out: os.Stdout}
	sizes := flag.String("sizes", "10,100,1000", "numbers of backends (3 servers each)")
	flag.StringVar(&o.Stackha, "stackha", "bin/stackha", "the stackha binary")
	flag.StringVar(&o.Haproxy, "haproxy", "/usr/sbin/haproxy", "the haproxy binary")
	flag.IntVar(&o.Monitors, "monitors", 30, "depth-10 monitor calls timed per size")
	flag.Parse()
	for _, s := range strings.Split(*sizes, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 1 || n > 100000 {
			fmt.Fprintf(os.Stderr, "haproxy-scale: -sizes: %q is not a number of backends\n", s)
			os.Exit(2)
		}
		o.Sizes = append(o.Sizes, n)
	}
	if err := haproxy.RunScale(o); err != nil {
		fmt.Fprintln(os.Stderr, "haproxy-scale:", err)
		os.Exit(1)
	}
}
