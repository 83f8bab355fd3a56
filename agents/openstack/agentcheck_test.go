package openstack

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/url"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stackha/stackha/instance"
	"github.com/stackha/stackha/ocf"
)

// The drain agent answers "ready" until drain begins, "drain" from then
// on, and nothing once its context ends.
func TestServeAgent(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ctx, cancel := context.WithCancel(context.Background())
	drain := make(chan os.Signal, 1)
	done := make(chan error, 1)
	go func() { done <- serveAgent(ctx, ln, drain) }()
	for i := 0; i < 3; i++ {
		if word, err := askAgent(ctx, addr); err != nil || word != agentReady {
			t.Fatalf("before the drain: %q, %v; want %q", word, err, agentReady)
		}
	}
	drain <- syscall.SIGUSR1
	var word string
	for t0 := time.Now(); word != agentDrain && time.Since(t0) < 5*time.Second; time.Sleep(10 * time.Millisecond) {
		if word, err = askAgent(ctx, addr); err != nil {
			t.Fatal(err)
		}
	}
	if word != agentDrain {
		t.Fatalf("after the drain began: %q, want %q", word, agentDrain)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("serve ended with %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("serve did not end with its context")
	}
	if _, err := askAgent(context.Background(), addr); err == nil {
		t.Error("the agent still answers after its end")
	}
}

// A peer that says nothing, or something else than a line, is no answer.
func TestAskAgentBounded(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Write(bytes.Repeat([]byte("x"), 200)) // no newline within the bound
			time.AfterFunc(5*time.Second, func() { c.Close() })
		}
	}()
	t0 := time.Now()
	if word, err := askAgent(context.Background(), ln.Addr().String()); err == nil {
		t.Errorf("an endless line was taken for an answer: %q", word)
	}
	if took := time.Since(t0); took > agentWait+time.Second {
		t.Errorf("askAgent took %s", took)
	}
}

func TestSplitListen(t *testing.T) {
	for _, tc := range []struct {
		in   string
		host string
		ok   bool
	}{
		{"192.0.2.11:18778", "192.0.2.11", true},
		{"[2001:db8::11]:18778", "2001:db8::11", true},
		{":18778", "", true},
		{"192.0.2.11:0", "", false},
		{"192.0.2.11:65536", "", false},
		{"192.0.2.11", "", false},
		{"192.0.2.11:x", "", false},
	} {
		host, _, err := splitListen(tc.in)
		if (err == nil) != tc.ok || (tc.ok && host != tc.host) {
			t.Errorf("%q: host %q, %v; want ok %v, host %q", tc.in, host, err, tc.ok, tc.host)
		}
	}
	u, _ := url.Parse("http://[2001:db8::11]:8778/")
	if got := agentListen(&Config{URL: u, DrainAgentPort: 18778}); got != "[2001:db8::11]:18778" {
		t.Errorf("agentListen: %s", got)
	}
}

// A record whose drain agent cannot be one start made is broken.
func TestRecordAgentChecked(t *testing.T) {
	self, err := instance.Identify(os.Getpid(), true)
	if err != nil {
		t.Fatal(err)
	}
	good := self
	good.Session = good.PID
	for _, tc := range []struct {
		name  string
		agent *instance.Identity
		has   string
	}{
		{"none", nil, ""},
		{"a session leader", &good, ""},
		{"not a session leader", &instance.Identity{PID: 4000, Session: 3999, Start: 9, Exe: "/usr/sbin/stackha"}, "not a session leader"},
		{"no program", &instance.Identity{PID: 4000, Session: 4000, Start: 9}, "not a session leader"},
		{"implausible", &instance.Identity{PID: 1, Session: 1, Start: 9, Exe: "/usr/sbin/stackha"}, "implausible"},
	} {
		r := record{Mode: ModeSystemd, Unit: "placement-api.service", Agent: tc.agent}
		err := r.check()
		if (tc.has == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.has)) {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.has)
		}
	}
}

// drain through the agent: a service without the healthcheck tells
// haproxy through its drain agent, and stops without a drain when that
// fails.
func TestDrainThroughAgent(t *testing.T) {
	t0 := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	u, _ := url.Parse("http://192.0.2.11:8778/")
	for _, tc := range []struct {
		name   string
		agent  error
		took   time.Duration
		logHas string
	}{
		{"told", nil, 2 * time.Second, "the drain agent on 192.0.2.11:18778 answers drain"},
		{"no agent", errors.New("no drain agent recorded"), 0, "no drain agent recorded; stopping without a drain"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := &Config{Profile: profile("placement-api"), Instance: "shd-placement", Port: 8778, URL: u,
				DrainTimeout: 20 * time.Second, DrainChecks: 2 * time.Second, DrainAgentPort: 18778}
			f := &fakeNode{conns: busyUntil(0, 0)}
			d := f.drainer(t0)
			asked := 0
			d.agent = func(context.Context, *Config) error { asked++; return tc.agent }
			d.disabled = func(context.Context, *Config) error { t.Error("the healthcheck was asked"); return nil }
			var logb bytes.Buffer
			d.drain(context.Background(), c, ocf.NewLogger(ocf.LogConfig{Agent: "test", Stderr: &logb}))
			var took time.Duration
			for _, s := range f.slept {
				took += s
			}
			if asked != 1 || took != tc.took || !strings.Contains(logb.String(), tc.logHas) {
				t.Errorf("agent asked %d times, slept %s; log %q, want %s and %q", asked, took, logb.String(), tc.took, tc.logHas)
			}
		})
	}
}
