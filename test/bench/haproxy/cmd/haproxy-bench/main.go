// Command haproxy-bench runs the haproxy agent's benchmark (make
// bench-haproxy): see package haproxy (test/bench/haproxy).
package main

import (
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/stackha/stackha/test/bench/haproxy"
)

func main() {
	o := haproxy.Options{Out: os.Stdout}
	flag.StringVar(&o.Stackha, "stackha", "bin/stackha", "the stackha binary")
	flag.StringVar(&o.Haproxy, "haproxy", "/usr/sbin/haproxy", "the haproxy binary")
	flag.IntVar(&o.Reloads, "reloads", 20, "reloads per method")
	flag.DurationVar(&o.Every, "every", 300*time.Millisecond, "pause between reloads")
	flag.IntVar(&o.Rate, "rate", 500, "requests per second offered")
	flag.IntVar(&o.Clients, "clients", 16, "concurrent clients")
	flag.IntVar(&o.Monitors, "monitors", 30, "monitor calls timed per check")
	flag.Parse()
	if err := haproxy.Run(o); err != nil {
		fmt.Fprintln(os.Stderr, "haproxy-bench:", err)
		os.Exit(1)
	}
}
