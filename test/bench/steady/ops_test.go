package steady

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

const sampleCRM = `# a comment \
property cib-bootstrap-options: \
	stonith-enabled=false

primitive api-vip ocf:stackha:vip \
	params ip=192.0.2.45 cidr_netmask=24 \
	op start interval=0s timeout=20s \
	op monitor interval=5s timeout=20s
primitive old-vip ocf:heartbeat:IPaddr2 \
	op monitor interval=10s
primitive haproxy ocf:stackha:haproxy \
	params config=/etc/haproxy/haproxy.cfg \
	op monitor interval=0 timeout=20s \
	op monitor interval=3s timeout=20s \
	op monitor interval=1min timeout=30s OCF_CHECK_LEVEL=10 \
	meta target-role=Started
clone haproxy-clone haproxy \
	meta interleave=true
primitive keystone ocf:stackha:keystone \
	params rule 0: #uname eq n1 url=http://192.0.2.6:5000/ \
	op monitor interval=2500ms timeout=4s OCF_CHECK_LEVEL=0
`

func TestParseCRM(t *testing.T) {
	got, err := ParseCRM(sampleCRM, "stackha")
	if err != nil {
		t.Fatal(err)
	}
	want := []Monitor{
		{Primitive: "api-vip", Agent: "vip", Interval: 5 * time.Second, Timeout: 20 * time.Second},
		{Primitive: "haproxy", Agent: "haproxy", Interval: 3 * time.Second, Timeout: 20 * time.Second},
		{Primitive: "haproxy", Agent: "haproxy", Interval: time.Minute, Timeout: 30 * time.Second, Depth: 10, DepthSet: true},
		{Primitive: "keystone", Agent: "keystone", Interval: 2500 * time.Millisecond, Timeout: 4 * time.Second, DepthSet: true},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got  %+v\nwant %+v", got, want)
	}
	if k := got[2].Key(); k != "haproxy/10" {
		t.Errorf("Key = %q", k)
	}
	if k := got[3].Key(); k != "keystone" {
		t.Errorf("Key = %q", k)
	}
}

func TestParseCRMErrors(t *testing.T) {
	for _, tc := range []struct{ name, text, want string }{
		{"no stackha primitive", "primitive v ocf:heartbeat:IPaddr2 op monitor interval=5s\n", "no recurring monitor"},
		{"only probes", "primitive v ocf:stackha:vip op monitor interval=0\n", "no recurring monitor"},
		{"bad interval", "primitive v ocf:stackha:vip \\\n op monitor interval=5x\n", "unknown unit"},
		{"bad depth", "primitive v ocf:stackha:vip op monitor interval=5s OCF_CHECK_LEVEL=ten\n", "OCF_CHECK_LEVEL"},
		{"depth out of range", "primitive v ocf:stackha:vip op monitor interval=5s OCF_CHECK_LEVEL=1000\n", "out of range"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseCRM(tc.text, "stackha")
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
		})
	}
}

func TestParseInterval(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Duration
		err  bool
	}{
		{"10", 10 * time.Second, false},
		{"10s", 10 * time.Second, false},
		{"10sec", 10 * time.Second, false},
		{"500ms", 500 * time.Millisecond, false},
		{"500msec", 500 * time.Millisecond, false},
		{"2m", 2 * time.Minute, false},
		{"2min", 2 * time.Minute, false},
		{"1h", time.Hour, false},
		{"1hr", time.Hour, false},
		{"0s", 0, false},
		{"", 0, true},
		{"s", 0, true},
		{"-5s", 0, true},
		{"1.5s", 0, true},
		{"5d", 0, true},
		{"25h", 0, true},
		{"99999999999999999999", 0, true},
	} {
		got, err := ParseInterval(tc.in)
		if (err != nil) != tc.err || got != tc.want {
			t.Errorf("ParseInterval(%q) = %v, %v; want %v, error %v", tc.in, got, err, tc.want, tc.err)
		}
	}
}

// The lab topology (crm/examples/seed.yaml) as render renders it today:
// the VIP, haproxy, and the API agents, each with a recurring monitor. The
// intervals are render's, not this test's.
func TestMonitorsOfSeed(t *testing.T) {
	ms, err := Monitors("../../../crm/examples/seed.yaml")
	if err != nil {
		t.Fatal(err)
	}
	count := map[string]int{}
	for _, m := range ms {
		if m.Interval <= 0 || m.Interval > 24*time.Hour {
			t.Errorf("%s: interval %v", m.Primitive, m.Interval)
		}
		count[m.Agent]++
	}
	if count[agentVIP] != 1 || count[agentHAProxy] < 1 {
		t.Errorf("monitors per agent: %v", count)
	}
	if n := len(APIAgents(ms)); n != 7 {
		t.Errorf("%d API agents in the lab topology, want 7: %v", n, APIAgents(ms))
	}
}
