package vip

import (
	"context"
	"io"
	"testing"
	"time"

	"github.com/stackha/stackha/internal/testutil/require"
	"github.com/stackha/stackha/internal/testutil/viptest"
	"github.com/stackha/stackha/ocf"
	"github.com/stackha/stackha/ocf/ocftest"
)

// BenchmarkMonitor is one monitor handler in process (no process start, no
// runtime), with the how-to's parameters (ip, cidr_netmask), against a
// lab address: what the agent itself costs.
func BenchmarkMonitor(b *testing.B) {
	require.Root(b)
	l, err := viptest.NewLab("b")
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	a, _ := ocf.Lookup("vip")
	req := func(action string, interval time.Duration) *ocf.Request {
		p, err := ocftest.Params(&Meta, map[string]string{"ip": "192.0.2.70", "cidr_netmask": "24", "network_namespace": l.NS, "arp_count": "1"})
		if err != nil {
			b.Fatal(err)
		}
		r := &ocf.Request{Agent: "vip", Action: action, Instance: "shv-bench-" + l.NS, Params: p, Interval: interval,
			Timeout: 20 * time.Second, Log: ocf.NewLogger(ocf.LogConfig{Agent: "vip", Stderr: io.Discard})}
		if r.Config, err = configure(r); err != nil {
			b.Fatal(err)
		}
		return r
	}
	ctx := context.Background()
	if err := a.Handlers["start"](ctx, req("start", 0)); err != nil {
		b.Fatal(err)
	}
	r := req("monitor", 10*time.Second)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := a.Handlers["monitor"](ctx, r); err != nil {
			b.Fatal(err)
		}
	}
}
