package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// start is one command of the floor line.
type start struct {
	name string
	args []string
	env  []string
	code int
}

// printFloor prints what starting a process costs on this machine: `true`,
// the smallest static Go program, one that only links net/http (the floor
// of a binary that holds the API agents' HTTPS probes), `stackha vip usage` (the whole binary's
// start-up and nothing else) and vip's monitor (of each stackha build
// given: vip, and the -alt build), in turns, with wall and CPU
// time, page faults and, when valgrind is installed, the instructions each
// executes (callgrind: the same count on a loaded machine as on an idle
// one, so start-up work can be compared across runs and machines).
func printFloor(vips []agent, env, monitorEnv []string, runs int) error {
	starts := []start{{name: "true", args: []string{"/bin/true"}, env: env}}
	// floors[i]: the index in starts of go-hello and go-hello+net/http, or 0.
	var floors [2]int
	for i, name := range []string{"go-hello", "go-hello+net/http"} {
		hello, err := buildHello(name)
		if err != nil {
			fmt.Fprintf(os.Stderr, "bench: no %s to compare: %v\n", name, err)
			continue
		}
		defer os.RemoveAll(filepath.Dir(hello))
		floors[i] = len(starts)
		starts = append(starts, start{name: name, args: []string{hello}, env: env})
	}
	first := len(starts) // stackha's rows: usage and monitor of each build
	for _, v := range vips {
		suffix := ""
		if v.name != "vip" {
			suffix = " (" + v.name + ")"
		}
		starts = append(starts,
			start{name: "stackha vip usage" + suffix, args: []string{v.path, "usage"}, env: env},
			start{name: "stackha vip monitor" + suffix, args: []string{v.path, "monitor"}, env: monitorEnv})
	}
	samples := make([][]sample, len(starts))
	// Turns, as for the agents: the machine's load weighs on each alike.
	for j := 0; j < runs+3; j++ {
		for i, s := range starts {
			x, err := execArgs(s.args, s.env, s.code)
			if err != nil {
				return err
			}
			if j >= 3 {
				samples[i] = append(samples[i], x)
			}
		}
	}
	_, vgErr := exec.LookPath("valgrind")
	load, _ := os.ReadFile("/proc/loadavg")
	fmt.Printf("\nProcess start on this machine (median of %d, the commands taking turns; load average %s; instructions: valgrind --tool=callgrind, median of 3):\n\n",
		runs, strings.Join(strings.Fields(string(load))[:3], " "))
	fmt.Println("| command | median wall | median CPU | page faults | instructions |")
	fmt.Println("|---|---:|---:|---:|---:|")
	instr := make([]int64, len(starts))
	for i, s := range starts {
		in := "(no valgrind)"
		if vgErr == nil {
			n, err := instructions(s)
			if err != nil {
				return fmt.Errorf("callgrind %s: %w", s.name, err)
			}
			instr[i] = n
			in = thousands(n)
		}
		fmt.Printf("| `%s` | %s | %s | %d | %s |\n", s.name, ms(median(samples[i], wallOf)), ms(median(samples[i], cpuOf)),
			medianFaults(samples[i]), in)
	}
	// The start-up aim (docs/benchmarks.md): an agent run at the cost of an
	// empty Go program; the net/http floor is what no binary holding the API
	// agents can go below.
	fmt.Println()
	for _, f := range floors {
		if f == 0 {
			continue
		}
		h := samples[f]
		for i := first + 1; i < len(starts); i += 2 {
			m := samples[i]
			line := fmt.Sprintf("`%s` / `%s`: %.2fx wall, %.2fx CPU, %.2fx page faults", starts[i].name, starts[f].name,
				ratio(median(m, wallOf), median(h, wallOf)), ratio(median(m, cpuOf), median(h, cpuOf)),
				float64(medianFaults(m))/float64(max(medianFaults(h), 1)))
			if vgErr == nil {
				line += fmt.Sprintf(", %.2fx instructions", float64(instr[i])/float64(max(instr[f], 1)))
			}
			fmt.Println(line + ".")
		}
	}
	return nil
}

func ratio(a, b time.Duration) float64 { return float64(a) / float64(max(b, time.Microsecond)) }

func medianFaults(ss []sample) int64 {
	v := make([]int64, len(ss))
	for i, s := range ss {
		v[i] = s.faults
	}
	slices.Sort(v)
	return v[len(v)/2]
}

// instructions counts what one run of s executes under callgrind (user
// space only; the kernel's part of exec, page faults and exit is not in
// it). Go's asynchronous preemption signals are turned off for every
// program alike: callgrind cannot follow them.
func instructions(s start) (int64, error) {
	var counts []int64
	for range 3 {
		cmd := exec.Command("valgrind", append([]string{"--tool=callgrind", "--callgrind-out-file=/dev/null"}, s.args...)...)
		cmd.Env = append(append([]string{}, s.env...), "GODEBUG=asyncpreemptoff=1")
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Run(); err != nil && cmd.ProcessState.ExitCode() != s.code {
			return 0, fmt.Errorf("%v\n%s", err, stderr.String())
		}
		n, err := collected(stderr.String())
		if err != nil {
			return 0, err
		}
		counts = append(counts, n)
	}
	slices.Sort(counts)
	return counts[1], nil
}

// collected reads callgrind's "Collected : N" line.
func collected(out string) (int64, error) {
	for _, line := range strings.Split(out, "\n") {
		if _, after, ok := strings.Cut(line, "Collected :"); ok {
			return strconv.ParseInt(strings.TrimSpace(after), 10, 64)
		}
	}
	return 0, fmt.Errorf("no \"Collected\" line in callgrind's output:\n%s", out)
}

func thousands(n int64) string {
	s := strconv.FormatInt(n, 10)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}
