// Package watch is the cluster harness's split-brain watcher: from the
// client's network namespace it asks, every Interval (50 ms), who holds the
// VIP (an ARP who-has on the client's interface) and counts the distinct
// MAC addresses that answer within the sample window. Two or more answers
// in one sample is split brain: the invariant the harness checks is that
// it never happens. IPv4 only.
//
//	w, err := watch.Start(ctx, watch.Options{NetNS: "shc-client", Interface: "eth0", VIP: vip})
//	... the fault ...
//	res, err := w.Stop()
//	// res.Samples, res.SplitBrain (samples with 2+ MACs), res.NoAnswer,
//	// res.MACs (every MAC seen), res.MaxHolders, res.SplitTimes
//
// A sample counts only replies addressed to the watcher (target MAC and
// IP its own), so gratuitous ARPs from a node taking the VIP are not
// answers. The watcher stops by itself when ctx ends or after MaxDuration;
// Stop returns what it counted until then. Its socket holds the client's
// namespace: Stop it before tearing the namespace down. InterfaceMAC names
// the holders (a node's MAC on the service network).
package watch

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/mdlayher/arp"
	"golang.org/x/sys/unix"
)

// Options configure a watcher.
type Options struct {
	// NetNS is the client's network namespace: a path (/run/netns/x,
	// /proc/<pid>/ns/net) or a name under /run/netns.
	NetNS string
	// Interface is the client's interface on the service network ("eth0"
	// when empty). It needs an IPv4 address.
	Interface string
	// VIP is the address watched (IPv4).
	VIP netip.Addr
	// Interval is the sample period and window (50 ms when zero; 10 ms to
	// 1 s).
	Interval time.Duration
	// MaxDuration stops the watcher even if ctx never ends (30 min when
	// zero).
	MaxDuration time.Duration
}

// Result is what a watcher counted.
type Result struct {
	Samples    int         // who-has requests sent
	SplitBrain int         // samples answered by two or more MACs
	NoAnswer   int         // samples nobody answered
	MaxHolders int         // most MACs answering one sample
	MACs       []string    // every MAC that answered, sorted
	SplitTimes []time.Time // when split-brain samples were taken (the first 100)
	SendErrors int         // requests that could not be sent
}

// maxSplitTimes bounds Result.SplitTimes.
const maxSplitTimes = 100

// Watcher samples until Stop, its context's end or MaxDuration.
type Watcher struct {
	cancel context.CancelFunc
	done   chan struct{}
	mu     sync.Mutex
	res    Result
	macs   map[string]bool
	err    error
}

// nsPath turns a namespace name into its path.
func nsPath(ns string) (string, error) {
	if ns == "" {
		return "", errors.New("watch: no network namespace given")
	}
	if strings.Contains(ns, "/") {
		return ns, nil
	}
	if ns == "." || ns == ".." {
		return "", fmt.Errorf("watch: bad namespace name %q", ns)
	}
	return filepath.Join("/run/netns", ns), nil
}

// Start opens the ARP socket in the client's namespace and starts
// sampling.
func Start(ctx context.Context, o Options) (*Watcher, error) {
	if !o.VIP.Is4() {
		return nil, fmt.Errorf("watch: VIP %v is not an IPv4 address", o.VIP)
	}
	if o.Interface == "" {
		o.Interface = "eth0"
	}
	if o.Interval == 0 {
		o.Interval = 50 * time.Millisecond
	}
	if o.Interval < 10*time.Millisecond || o.Interval > time.Second {
		return nil, fmt.Errorf("watch: interval %v outside 10ms..1s", o.Interval)
	}
	if o.MaxDuration <= 0 {
		o.MaxDuration = 30 * time.Minute
	}
	path, err := nsPath(o.NetNS)
	if err != nil {
		return nil, err
	}
	c, err := dialIn(path, o.Interface)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, o.MaxDuration)
	w := &Watcher{cancel: cancel, done: make(chan struct{}), macs: map[string]bool{}}
	go func() {
		defer close(w.done)
		defer c.Close()
		w.loop(ctx, c, o)
	}()
	return w, nil
}

// inNS runs f on a locked thread that entered the network namespace at
// path and is never unlocked: the runtime ends that thread with its
// goroutine, so no other goroutine ever runs in that namespace.
func inNS(path string, f func() error) error {
	ch := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			ch <- fmt.Errorf("watch: opening namespace %s: %w", path, err)
			return
		}
		err = unix.Setns(fd, unix.CLONE_NEWNET)
		unix.Close(fd)
		if err != nil {
			ch <- fmt.Errorf("watch: entering namespace %s: %w", path, err)
			return
		}
		ch <- f()
	}()
	return <-ch
}

// InterfaceMAC returns the MAC address of interface ifname in the network
// namespace netns (a path or a name under /run/netns), to name the holders
// in Result.MACs.
func InterfaceMAC(netns, ifname string) (string, error) {
	path, err := nsPath(netns)
	if err != nil {
		return "", err
	}
	var mac string
	err = inNS(path, func() error {
		ifi, err := net.InterfaceByName(ifname)
		if err != nil {
			return fmt.Errorf("watch: interface %s in %s: %w", ifname, path, err)
		}
		mac = ifi.HardwareAddr.String()
		return nil
	})
	return mac, err
}

// dialIn opens the ARP client inside the namespace at path; the socket
// stays in the namespace it was made in.
func dialIn(path, ifname string) (*arp.Client, error) {
	var c *arp.Client
	err := inNS(path, func() error {
		ifi, err := net.InterfaceByName(ifname)
		if err != nil {
			return fmt.Errorf("watch: interface %s in %s: %w", ifname, path, err)
		}
		c, err = arp.Dial(ifi)
		if err != nil {
			return fmt.Errorf("watch: ARP socket on %s in %s: %w", ifname, path, err)
		}
		return nil
	})
	return c, err
}

func (w *Watcher) loop(ctx context.Context, c *arp.Client, o Options) {
	own := c.HardwareAddr()
	tick := time.NewTicker(o.Interval)
	defer tick.Stop()
	failures := 0
	for {
		// Replies that came after the last window are dropped, not counted
		// in this one: a late answer from a former holder is no holder now.
		if err := drain(c); err != nil {
			w.fail(err)
			return
		}
		t0 := time.Now()
		holders := map[string]bool{}
		sent := c.Request(o.VIP) == nil
		if sent {
			failures = 0
			c.SetReadDeadline(t0.Add(o.Interval * 9 / 10))
			for n := 0; n < 64; n++ { // bounded: a flood cannot hold a sample
				p, _, err := c.Read()
				if err != nil {
					if !errors.Is(err, os.ErrDeadlineExceeded) {
						w.fail(fmt.Errorf("watch: reading ARP: %w", err))
						return
					}
					break
				}
				if p.Operation == arp.OperationReply && p.SenderIP == o.VIP &&
					slices.Equal(p.TargetHardwareAddr, own) {
					holders[p.SenderHardwareAddr.String()] = true
				}
			}
		} else if failures++; failures > 100 {
			w.fail(errors.New("watch: 100 ARP requests in a row could not be sent"))
			return
		}
		w.record(t0, sent, holders)
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// drain reads (for about a millisecond, at most 64 packets) what is
// already queued on the socket.
func drain(c *arp.Client) error {
	c.SetReadDeadline(time.Now().Add(time.Millisecond))
	for n := 0; n < 64; n++ {
		if _, _, err := c.Read(); err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) {
				return nil
			}
			return fmt.Errorf("watch: reading ARP: %w", err)
		}
	}
	return nil
}

func (w *Watcher) record(t time.Time, sent bool, holders map[string]bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !sent {
		w.res.SendErrors++
		return
	}
	w.res.Samples++
	switch {
	case len(holders) == 0:
		w.res.NoAnswer++
	case len(holders) > 1:
		w.res.SplitBrain++
		if len(w.res.SplitTimes) < maxSplitTimes {
			w.res.SplitTimes = append(w.res.SplitTimes, t)
		}
	}
	w.res.MaxHolders = max(w.res.MaxHolders, len(holders))
	for m := range holders {
		w.macs[m] = true
	}
}

func (w *Watcher) fail(err error) {
	w.mu.Lock()
	w.err = err
	w.mu.Unlock()
}

// Result returns what the watcher counted so far.
func (w *Watcher) Result() Result {
	w.mu.Lock()
	defer w.mu.Unlock()
	r := w.res
	r.SplitTimes = slices.Clone(r.SplitTimes)
	r.MACs = make([]string, 0, len(w.macs))
	for m := range w.macs {
		r.MACs = append(r.MACs, m)
	}
	slices.Sort(r.MACs)
	return r
}

// Stop ends the sampling and returns the counts, with the error that
// ended it early, if one did.
func (w *Watcher) Stop() (Result, error) {
	w.cancel()
	<-w.done
	w.mu.Lock()
	err := w.err
	w.mu.Unlock()
	return w.Result(), err
}

// String is a one-line summary for logs and result tables.
func (r Result) String() string {
	return fmt.Sprintf("%d samples, %d split-brain, %d unanswered, holders %s", r.Samples, r.SplitBrain, r.NoAnswer, strings.Join(r.MACs, " "))
}
