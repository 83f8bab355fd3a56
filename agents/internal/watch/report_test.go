package watch

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"
)

// fakeLog counts the lines a reporter writes.
type fakeLog struct{ lines []string }

func (l *fakeLog) Infof(f string, a ...any)  { l.lines = append(l.lines, fmt.Sprintf(f, a...)) }
func (l *fakeLog) Warnf(f string, a ...any)  { l.lines = append(l.lines, fmt.Sprintf(f, a...)) }
func (l *fakeLog) Errorf(f string, a ...any) { l.lines = append(l.lines, fmt.Sprintf(f, a...)) }

// rig is a reporter with a fake lock, record, command and clock.
type rig struct {
	*Reporter
	now     time.Time
	owns    bool
	ownsErr error
	lockErr error
	execErr error
	locked  bool
	calls   [][]string
	log     fakeLog
}

func newRig() *rig {
	g := &rig{now: time.Unix(1000, 0), owns: true}
	g.Reporter = &Reporter{
		Flags: Flags{Resource: "vip-api", Name: "vip-api", Node: "node1"},
		Owns: func() (bool, error) {
			if !g.locked {
				return false, errors.New("record read without the lock")
			}
			return g.owns, g.ownsErr
		},
		Lock: func(ctx context.Context, name, action string) (func(), error) {
			if g.lockErr != nil {
				return nil, g.lockErr
			}
			g.locked = true
			return func() { g.locked = false }, nil
		},
		Exec: func(ctx context.Context, argv []string) ([]byte, error) {
			if !g.locked {
				return nil, errors.New("reported without the lock")
			}
			g.calls = append(g.calls, argv)
			return []byte("oops\x1b[31m"), g.execErr
		},
		Now: func() time.Time { return g.now },
	}
	g.Reporter.Log = &g.log
	return g
}

func TestReport(t *testing.T) {
	want := []string{"crm_resource", "--fail", "--resource", "vip-api", "--node", "node1"}
	for _, tc := range []struct {
		name  string
		setup func(*rig)
		// steps: seconds to advance before each report
		steps []int
		want  []Outcome
		calls int
	}{
		{name: "one failure is reported", steps: []int{0}, want: []Outcome{Reported}, calls: 1},
		{name: "stop has begun: the record names no watcher", setup: func(g *rig) { g.owns = false },
			steps: []int{0}, want: []Outcome{NotOurs}},
		{name: "the record cannot be read", setup: func(g *rig) { g.ownsErr = errors.New("bad") },
			steps: []int{0}, want: []Outcome{NotOurs}},
		{name: "the lock is held to the end", setup: func(g *rig) { g.lockErr = errors.New("busy") },
			steps: []int{0}, want: []Outcome{Failed}},
		{name: "crm_resource missing or the CIB unreachable", setup: func(g *rig) { g.execErr = errors.New("exit status 102") },
			steps: []int{0, 11}, want: []Outcome{Failed, Failed}, calls: 2},
		{name: "a second report too soon is limited", steps: []int{0, 1, 9}, want: []Outcome{Reported, Limited, Reported}, calls: 2},
		{name: "at most MaxReports", steps: []int{0, 10, 10, 10, 100}, want: []Outcome{Reported, Reported, Reported, Limited, Limited}, calls: MaxReports},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := newRig()
			if tc.setup != nil {
				tc.setup(g)
			}
			for i, s := range tc.steps {
				g.now = g.now.Add(time.Duration(s) * time.Second)
				if got := g.Report(context.Background(), "the address was removed"); got != tc.want[i] {
					t.Fatalf("report %d: %s, want %s", i, got, tc.want[i])
				}
				if g.locked {
					t.Fatalf("report %d left the lock held", i)
				}
			}
			if len(g.calls) != tc.calls {
				t.Fatalf("crm_resource ran %d times, want %d", len(g.calls), tc.calls)
			}
			for _, c := range g.calls {
				if !slices.Equal(c, want) {
					t.Fatalf("ran %q, want %q", c, want)
				}
			}
			for _, l := range g.log.lines {
				if slices.ContainsFunc([]byte(l), func(b byte) bool { return b < ' ' }) {
					t.Fatalf("log line with a control byte: %q", l)
				}
			}
		})
	}
}

func TestReportLogIsCapped(t *testing.T) {
	g := newRig()
	g.lockErr = errors.New("busy")
	for range 3 * MaxLogLines {
		g.Report(context.Background(), "x")
	}
	if len(g.log.lines) != MaxLogLines {
		t.Fatalf("%d lines logged, want %d", len(g.log.lines), MaxLogLines)
	}
}

func TestFlagsAndNode(t *testing.T) {
	for _, tc := range []struct {
		f  Flags
		ok bool
	}{
		{Flags{"vip-api", "vip-api", "node1"}, true},
		{Flags{"haproxy:0", "haproxy:0", "ctl-1.example"}, true},
		{Flags{"", "x", "node1"}, false},
		{Flags{"x", "../x", "node1"}, false},
		{Flags{"x", "x", ""}, false},
		{Flags{"x", "x", "node 1"}, false},
		{Flags{"x", "x", "node\n1"}, false},
	} {
		if err := tc.f.Check(); (err == nil) != tc.ok {
			t.Errorf("%+v: %v, want ok=%t", tc.f, err, tc.ok)
		}
	}
}
