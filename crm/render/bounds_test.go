package render

import (
	"fmt"
	"strings"
	"testing"
)

// TestBounds: every number and duration of the topology is refused outside
// its range, with the field, the value and the range named, and accepted
// at both ends of it.
func TestBounds(t *testing.T) {
	const (
		vip     = "vip: {address: 10.0.0.100, prefix: 24}\n"
		nodes   = "nodes:\n  - {name: a, address: 10.0.0.1}\n  - {name: b, address: 10.0.0.2}\n"
		fencing = "fencing: {devices: [{node: a, agent: fence_ipmilan, password_file: /etc/p}, {node: b, agent: fence_ipmilan, password_file: /etc/p}]}\n"
	)
	for _, tc := range []struct {
		field  string
		yaml   string   // the field's section, %s its value
		lo, hi string   // the range, as the message writes it
		bad    []string // each refused, as the message writes it
	}{
		{"vip.monitor_interval", "vip: {address: 10.0.0.100, monitor_interval: %s}\n", "1s", "24h", []string{"999ms", "25h", "2562047h"}},
		{"services[0].port", "services: [{name: keystone, port: %s}]\n", "1", "65535", []string{"-1", "65536"}},
		{"services[0].legacy_port", "services: [{name: keystone, legacy: true, legacy_port: %s}]\n", "1", "65535", []string{"-1", "65536"}},
		{"services[0].monitor_interval", "services: [{name: keystone, monitor_interval: %s}]\n", "1s", "24h", []string{"500ms", "25h"}},
		{"services[0].deep_monitor_interval", "services: [{name: keystone, monitor_depth: 20, credentials: /etc/c, deep_monitor_interval: %s}]\n",
			"1s", "24h", []string{"999ms", "2562047h"}},
		{"services[0].timeout_server", "services: [{name: keystone, timeout_server: %s}]\n", "1s", "24h", []string{"999ms", "25h"}},
		{"haproxy.maxconn", "haproxy: {maxconn: %s}\n", "1", "1000000", []string{"-1", "1000001", "9223372036854775807"}},
		{"haproxy.check.rise", "haproxy: {check: {rise: %s}}\n", "1", "100", []string{"-1", "101", "2147483648"}},
		{"haproxy.check.fall", "haproxy: {check: {fall: %s}}\n", "1", "100", []string{"-1", "101"}},
		{"haproxy.check.inter", "haproxy: {check: {inter: %s}}\n", "100ms", "1h", []string{"99ms", "61m"}},
		{"haproxy.check.fastinter", "haproxy: {check: {fastinter: %s}}\n", "100ms", "1h", []string{"1ms", "2h"}},
		{"haproxy.check.downinter", "haproxy: {check: {downinter: %s}}\n", "100ms", "1h", []string{"1ms", "2h"}},
		{"haproxy.timeouts.connect", "haproxy: {timeouts: {connect: %s}}\n", "10ms", "1m", []string{"9ms", "61s"}},
		{"haproxy.timeouts.check", "haproxy: {timeouts: {check: %s}}\n", "10ms", "1m", []string{"9ms", "61s"}},
		{"haproxy.timeouts.client", "haproxy: {timeouts: {client: %s}}\n", "1s", "24h", []string{"999ms", "25h"}},
		{"haproxy.timeouts.server", "haproxy: {timeouts: {server: %s}}\n", "1s", "24h", []string{"999ms", "25h"}},
		{"haproxy.monitor_interval", "haproxy: {monitor_interval: %s}\n", "1s", "24h", []string{"999ms", "25h"}},
		{"haproxy.deep_monitor_interval", "haproxy: {monitor_depth: 10, monitor_interval: 2s, deep_monitor_interval: %s}\n",
			"1s", "24h", []string{"999ms", "25h"}},
		{"cluster.stickiness", "cluster: {stickiness: %s}\n", "0", "1000000", []string{"-1", "1000001"}},
		{"cluster.migration_threshold", "cluster: {migration_threshold: %s}\n", "0", "1000000", []string{"-1", "1000001"}},
		{"cluster.failure_timeout", "cluster: {failure_timeout: %s}\n", "1s", "168h", []string{"999ms", "169h"}},
		{"fencing.priority_delay", "fencing: {priority_delay: %s, devices: [" + ipmi("a") + ", " + ipmi("b") + "]}\n",
			"1s", "1m", []string{"999ms", "61s", "2562047h"}},
		{"fencing.devices[0].monitor_interval", "fencing: {devices: [{node: a, agent: fence_ipmilan, password_file: /p, monitor_interval: %s}, " + ipmi("b") + "]}\n",
			"10s", "24h", []string{"9s", "25h"}},
		{"corosync.token", "corosync: {token: %s}\n", "100ms", "1m", []string{"99ms", "61s"}},
		{"corosync.token_coefficient", "corosync: {token_coefficient: %s}\n", "0", "1m", []string{"61s", "2562047h"}},
	} {
		t.Run(tc.field, func(t *testing.T) {
			topo := func(v string) string {
				s := fmt.Sprintf(tc.yaml, v)
				if !strings.HasPrefix(s, "vip:") {
					s = vip + s
				}
				if !strings.Contains(s, "fencing:") {
					s += fencing
				}
				return s + nodes
			}
			for _, v := range []string{tc.lo, tc.hi} {
				p, err := ParseBytes([]byte(topo(v)))
				if err == nil {
					_, err = Render(p)
				}
				if err != nil {
					t.Errorf("%s, the range's end, refused: %v", v, err)
				}
			}
			for _, v := range tc.bad {
				want := fmt.Sprintf("%s: %s is out of range %s-%s", tc.field, v, tc.lo, tc.hi)
				_, err := ParseBytes([]byte(topo(v)))
				if err == nil || !strings.Contains(err.Error(), want) {
					t.Errorf("%s: error %v, want %q", v, err, want)
				}
			}
		})
	}
}

// TestHuman: a duration in a message is written as a person writes it.
func TestHuman(t *testing.T) {
	for _, tc := range []struct {
		in   Duration
		want string
	}{{0, "0"}, {Duration(250e6), "250ms"}, {Duration(90e9), "90s"}, {Duration(600e9), "10m"}, {Duration(3600e9 * 2562047), "2562047h"}} {
		if got := tc.in.human(); got != tc.want {
			t.Errorf("%d: %s, want %s", tc.in, got, tc.want)
		}
	}
}
