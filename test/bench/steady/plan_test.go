package steady

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/stackha/stackha/internal/testutil"
)

func seedLike() []Monitor {
	return []Monitor{
		{Primitive: "api-vip", Agent: "vip", Interval: 5 * time.Second},
		{Primitive: "haproxy", Agent: "haproxy", Interval: 5 * time.Second},
		{Primitive: "haproxy", Agent: "haproxy", Interval: 30 * time.Second, Depth: 10, DepthSet: true},
		{Primitive: "keystone", Agent: "keystone", Interval: 10 * time.Second, DepthSet: true},
		{Primitive: "nova-api", Agent: "nova-api", Interval: 10 * time.Second, DepthSet: true},
		{Primitive: "glance-api", Agent: "glance-api", Interval: 20 * time.Second, DepthSet: true},
		{Primitive: "heat-api", Agent: "heat-api", Interval: 10 * time.Second, DepthSet: true},
	}
}

// host of the table's tests: nova-api cannot run, heat-api runs on glance's.
func host(a string) (string, bool) {
	switch a {
	case "nova-api":
		return "", false
	case "heat-api":
		return "glance-api", true
	}
	return a, true
}

func TestPlan(t *testing.T) {
	rows := Plan(seedLike(), func(a string) (string, bool) {
		switch a {
		case "keystone":
			return "", true
		case "glance-api":
			return "glance-api", true
		case "heat-api":
			return "glance-api", true
		}
		return "", false
	})
	var got [][3]string
	for _, r := range rows {
		got = append(got, [3]string{r.Ours, r.Old, r.StoodIn})
	}
	want := [][3]string{
		{"vip", OldIPaddr2, ""},
		{"haproxy", OldInitStatus, ""},
		{"haproxy/10", OldInitStatus, ""},
		{"api:keystone", OldTokenIssue, ""},
		{"api:keystone", OldTokenIssue, "keystone"},
		{"api:glance-api", OldTokenIssue, ""},
		{"api:heat-api", OldTokenIssue, "glance-api"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got  %v\nwant %v", got, want)
	}
	wantChecks := []string{OldIPaddr2, "api:glance-api", "api:heat-api", "api:keystone", "haproxy", "haproxy/10", OldInitStatus, OldTokenIssue, "vip"}
	if c := Checks(rows); !reflect.DeepEqual(c, wantChecks) {
		t.Fatalf("Checks = %v, want %v", c, wantChecks)
	}
	if a := APIAgents(seedLike()); !reflect.DeepEqual(a, []string{"keystone", "nova-api", "glance-api", "heat-api"}) {
		t.Fatalf("APIAgents = %v", a)
	}
	m, err := Interval(rows, "haproxy/10")
	if err != nil || m.Interval != 30*time.Second || m.Depth != 10 {
		t.Fatalf("Interval(haproxy/10) = %+v, %v", m, err)
	}
	if _, err := Interval(rows, "nothing"); err == nil {
		t.Fatal("Interval of an unknown check: no error")
	}
}

func TestSplitKey(t *testing.T) {
	for key, want := range map[string]struct {
		a string
		d int
	}{"vip": {"vip", 0}, "haproxy/10": {"haproxy", 10}, "keystone/20": {"keystone", 20}} {
		a, d := splitKey(key)
		if a != want.a || d != want.d {
			t.Errorf("splitKey(%q) = %q, %d", key, a, d)
		}
	}
}

func TestPerHour(t *testing.T) {
	for _, tc := range []struct {
		call, every, want time.Duration
	}{
		{time.Millisecond, 10 * time.Second, 360 * time.Millisecond},
		{2 * time.Millisecond, 5 * time.Second, 1440 * time.Millisecond},
		{time.Second, time.Minute, time.Minute},
		{3 * time.Millisecond, 0, 0},
	} {
		if got := PerHour(tc.call, tc.every); got != tc.want {
			t.Errorf("PerHour(%v, %v) = %v, want %v", tc.call, tc.every, got, tc.want)
		}
	}
}

func results() map[string]Result {
	return map[string]Result{
		"vip":            {CPU: 2 * time.Millisecond},
		OldIPaddr2:       {CPU: 20 * time.Millisecond},
		"haproxy":        {CPU: 3 * time.Millisecond},
		"haproxy/10":     {CPU: 4 * time.Millisecond},
		OldInitStatus:    {CPU: time.Millisecond},
		"api:keystone":   {CPU: 4 * time.Millisecond, Service: time.Millisecond},
		"api:glance-api": {CPU: 5 * time.Millisecond, Service: 2 * time.Millisecond},
		"api:heat-api":   {CPU: 6 * time.Millisecond, Service: 3 * time.Millisecond},
		OldTokenIssue:    {CPU: time.Second, Service: 100 * time.Millisecond},
	}
}

func TestTotals(t *testing.T) {
	rows := Plan(seedLike(), host)
	ours, old, err := Totals(rows, results())
	if err != nil {
		t.Fatal(err)
	}
	// per hour: 720 calls at 5 s, 360 at 10 s, 180 at 20 s, 120 at 30 s
	wantOurs := Sum{
		Checks:   720*2*time.Millisecond + 720*3*time.Millisecond + 120*4*time.Millisecond + 2*360*4*time.Millisecond + 180*5*time.Millisecond + 360*6*time.Millisecond,
		Services: 2*360*time.Millisecond + 180*2*time.Millisecond + 360*3*time.Millisecond,
	}
	wantOld := Sum{
		Checks:   720*20*time.Millisecond + (720+120)*time.Millisecond + (3*360+180)*time.Second,
		Services: (3*360 + 180) * 100 * time.Millisecond,
	}
	if ours != wantOurs || old != wantOld {
		t.Fatalf("Totals = %+v, %+v; want %+v, %+v", ours, old, wantOurs, wantOld)
	}
	if ours.Total() != wantOurs.Checks+wantOurs.Services {
		t.Fatal("Sum.Total")
	}
	res := results()
	delete(res, OldTokenIssue)
	if _, _, err := Totals(rows, res); err == nil || !strings.Contains(err.Error(), OldTokenIssue) {
		t.Fatalf("a missing result: err = %v", err)
	}
}

func TestRatio(t *testing.T) {
	if r := Ratio(10*time.Second, 4*time.Second); r != "2.5x" {
		t.Errorf("Ratio = %q", r)
	}
	if r := Ratio(time.Second, 0); r != "-" {
		t.Errorf("Ratio by 0 = %q", r)
	}
}

func TestTable(t *testing.T) {
	rows := Plan(seedLike(), host)
	got, err := Table(rows, results())
	if err != nil {
		t.Fatal(err)
	}
	testutil.Golden(t, "", []byte(got))
}

func TestMeasure(t *testing.T) {
	// a fake check whose calls cost 1, 2, 3, ... ms, and whose service
	// uses 5 ms per call; another check's turns must not count for it.
	var n int
	var served time.Duration
	a := Check{Key: "a",
		Run: func() (time.Duration, error) {
			n++
			served += 5 * time.Millisecond
			return time.Duration(n) * time.Millisecond, nil
		},
		Service: func() (time.Duration, error) { return served, nil },
	}
	b := Check{Key: "b", Run: func() (time.Duration, error) { served += time.Second; return 7 * time.Millisecond, nil }}
	res, err := Measure(context.Background(), []Check{a, b}, 5, 2)
	if err != nil {
		t.Fatal(err)
	}
	// measured calls of a: 3..7 ms (after 2 warm-up calls), median 5 ms
	if r := res["a"]; r.CPU != 5*time.Millisecond || r.Service != 5*time.Millisecond || r.Runs != 5 {
		t.Fatalf("a: %+v", r)
	}
	if r := res["b"]; r.CPU != 7*time.Millisecond || r.Service != 0 {
		t.Fatalf("b: %+v", r)
	}
	if n != 7 {
		t.Fatalf("a ran %d times, want 7", n)
	}
}

func TestMeasureErrors(t *testing.T) {
	boom := errors.New("boom")
	bad := Check{Key: "bad", Run: func() (time.Duration, error) { return 0, boom }}
	if _, err := Measure(context.Background(), []Check{bad}, 3, 0); !errors.Is(err, boom) {
		t.Fatalf("err = %v", err)
	}
	badService := Check{Key: "s", Run: func() (time.Duration, error) { return 0, nil },
		Service: func() (time.Duration, error) { return 0, boom }}
	if _, err := Measure(context.Background(), []Check{badService}, 3, 0); !errors.Is(err, boom) {
		t.Fatalf("err = %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	ok := Check{Key: "ok", Run: func() (time.Duration, error) { return 0, nil }}
	if _, err := Measure(ctx, []Check{ok}, 3, 0); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled: err = %v", err)
	}
	if _, err := Measure(context.Background(), []Check{ok}, 0, 0); err == nil {
		t.Fatal("0 runs: no error")
	}
}
