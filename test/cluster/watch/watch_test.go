package watch

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/netip"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stackha/stackha/internal/testutil/require"
)

func TestNSPath(t *testing.T) {
	for _, tc := range []struct{ in, want, err string }{
		{"shc-client", "/run/netns/shc-client", ""},
		{"/proc/1/ns/net", "/proc/1/ns/net", ""},
		{"", "", "no network namespace"},
		{"..", "", "bad namespace"},
	} {
		got, err := nsPath(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%q: %v", tc.in, err)
			}
			continue
		}
		if got != tc.want || err != nil {
			t.Errorf("%q: %q %v", tc.in, got, err)
		}
	}
}

func TestOptions(t *testing.T) {
	ctx := context.Background()
	vip := netip.MustParseAddr("192.0.2.100")
	for _, o := range []Options{
		{NetNS: "x", VIP: netip.MustParseAddr("2001:db8::1")},
		{NetNS: "x"},
		{NetNS: "x", VIP: vip, Interval: time.Millisecond},
		{NetNS: "x", VIP: vip, Interval: 2 * time.Second},
		{VIP: vip},
	} {
		if w, err := Start(ctx, o); err == nil {
			w.Stop()
			t.Errorf("%+v accepted", o)
		}
	}
}

func TestRecord(t *testing.T) {
	w := &Watcher{macs: map[string]bool{}}
	t0 := time.Now()
	for _, h := range [][]string{{"a"}, {}, {"a", "b"}, {"b"}, {"b", "c", "a"}, nil} {
		m := map[string]bool{}
		for _, x := range h {
			m[x] = true
		}
		w.record(t0, h != nil, m)
	}
	r := w.Result()
	if r.Samples != 5 || r.SplitBrain != 2 || r.NoAnswer != 1 || r.MaxHolders != 3 || r.SendErrors != 1 ||
		strings.Join(r.MACs, ",") != "a,b,c" || len(r.SplitTimes) != 2 {
		t.Fatalf("%+v", r)
	}
}

// netns is a private network namespace for one test.
func netns(t *testing.T, name string) string {
	t.Helper()
	if out, err := exec.Command("ip", "netns", "add", name).CombinedOutput(); err != nil {
		t.Fatalf("ip netns add %s: %v: %s", name, err, out)
	}
	t.Cleanup(func() { exec.Command("ip", "netns", "del", name).Run() })
	return name
}

func ip(t *testing.T, ns string, args ...string) {
	t.Helper()
	if out, err := exec.Command("ip", append([]string{"-n", ns}, args...)...).CombinedOutput(); err != nil {
		t.Fatalf("ip -n %s %s: %v: %s", ns, strings.Join(args, " "), err, out)
	}
}

// watchFor runs a watcher until it took n samples.
func watchFor(t *testing.T, ns string, vip netip.Addr, n int) Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	w, err := Start(ctx, Options{NetNS: ns, Interface: "br0", VIP: vip})
	if err != nil {
		t.Fatal(err)
	}
	for w.Result().Samples < n && ctx.Err() == nil {
		time.Sleep(50 * time.Millisecond)
	}
	r, err := w.Stop()
	if err != nil {
		t.Fatal(err)
	}
	if r.Samples < n {
		t.Fatalf("only %d samples: %v", r.Samples, r)
	}
	return r
}

// TestSplitBrain builds a client namespace with a bridge and two holder
// namespaces on it: while both hold the VIP every answered sample has two
// MACs; with one holder, none has.
func TestSplitBrain(t *testing.T) {
	require.Root(t)
	require.Command(t, "ip")
	b := make([]byte, 3)
	rand.Read(b)
	id := hex.EncodeToString(b)
	c, a, h := netns(t, "wtc-"+id), netns(t, "wta-"+id), netns(t, "wtb-"+id)
	ip(t, c, "link", "set", "lo", "up")
	ip(t, c, "link", "add", "br0", "type", "bridge")
	ip(t, c, "addr", "add", "192.0.2.1/24", "dev", "br0")
	ip(t, c, "link", "set", "br0", "up")
	for i, ns := range []string{a, h} {
		port := []string{"pa", "pb"}[i]
		ip(t, c, "link", "add", port, "type", "veth", "peer", "name", "eth0", "netns", ns)
		ip(t, c, "link", "set", port, "master", "br0", "up")
		ip(t, ns, "addr", "add", "192.0.2.100/24", "dev", "eth0")
		ip(t, ns, "link", "set", "eth0", "up")
	}
	vip := netip.MustParseAddr("192.0.2.100")

	two := watchFor(t, c, vip, 20)
	t.Logf("two holders: %v", two)
	if two.SplitBrain == 0 || len(two.MACs) != 2 || two.MaxHolders != 2 {
		t.Errorf("two holders, no split brain seen: %v", two)
	}
	for _, ns := range []string{a, h} {
		mac, err := InterfaceMAC(ns, "eth0")
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Contains(two.MACs, mac) {
			t.Errorf("%s's MAC %s not among the holders %v", ns, mac, two.MACs)
		}
	}

	ip(t, h, "addr", "del", "192.0.2.100/24", "dev", "eth0")
	one := watchFor(t, c, vip, 20)
	t.Logf("one holder: %v", one)
	if one.SplitBrain != 0 || len(one.MACs) != 1 || one.NoAnswer == one.Samples {
		t.Errorf("one holder: %v", one)
	}

	ip(t, a, "addr", "del", "192.0.2.100/24", "dev", "eth0")
	none := watchFor(t, c, vip, 5)
	if none.NoAnswer != none.Samples || len(none.MACs) != 0 {
		t.Errorf("no holder: %v", none)
	}

	// It stops by itself when its context ends.
	ctx, cancel := context.WithCancel(context.Background())
	w, err := Start(ctx, Options{NetNS: c, Interface: "br0", VIP: vip})
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	select {
	case <-w.done:
	case <-time.After(30 * time.Second):
		t.Fatal("the watcher outlived its context")
	}
	if _, err := w.Stop(); err != nil {
		t.Fatal(err)
	}
	// A missing interface or namespace is an error at Start.
	if _, err := Start(context.Background(), Options{NetNS: c, Interface: "nope0", VIP: vip}); err == nil {
		t.Error("missing interface accepted")
	}
	if _, err := Start(context.Background(), Options{NetNS: c + "-missing", VIP: vip}); err == nil {
		t.Error("missing namespace accepted")
	}
}
