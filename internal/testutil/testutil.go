// Package testutil holds the small helpers that tests and benchmarks share:
// medians and quantiles, golden files, free loopback ports. Its
// subpackages are the one home of the rest of the test support: the
// registry of agent sandboxes (sandbox) and each agent's lab and sandbox
// (viptest, haproxytest, openstacktest). All of it is imported only by
// tests, test harnesses and benchmark programs, never by the shipped
// binary (test/install checks that).
package testutil

import (
	"net"
	"sort"
	"time"
)

// Median is the middle of ds (the mean of the two middle values for an even
// count); 0 for none. ds is not modified.
func Median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := sorted(ds)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// Quantile is the value at q (0..1) of ds, nearest rank; 0 for none.
func Quantile(ds []time.Duration, q float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	if q < 0 {
		q = 0
	}
	if q > 1 {
		q = 1
	}
	s := sorted(ds)
	return s[int(q*float64(len(s)-1)+0.5)]
}

func sorted(ds []time.Duration) []time.Duration {
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s
}

// FreePorts asks the kernel for n distinct free TCP ports on 127.0.0.1, all
// held at once so that none is handed out twice.
func FreePorts(n int) ([]int, error) {
	var ports []int
	for i := 0; i < n; i++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		defer l.Close()
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// FreePort is one free TCP port on 127.0.0.1.
func FreePort() (int, error) {
	ps, err := FreePorts(1)
	if err != nil {
		return 0, err
	}
	return ps[0], nil
}
