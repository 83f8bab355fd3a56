package render

import (
	"strconv"
	"time"
)

// The ranges of the topology's numbers. Every number and duration a
// topology gives is checked against one of these (0, where a field's
// comment says so, means its default or "none" and is not): a value out
// of range is refused with the field, the value and the range named.
// crm/README.md lists them.
const (
	// Monitors of the vip, haproxy and API resources, both depths: at
	// least a second (the shortest default); a day at most, or a failure
	// goes unseen that long.
	minMonitor, maxMonitor = Duration(time.Second), Duration(24 * time.Hour)
	// A fencing device's status check: no more often than every 10 s (a
	// BMC serves few sessions; a real fence must not wait for a check).
	minFenceMonitor = Duration(10 * time.Second)

	// haproxy's health checks: inter, fastinter, downinter.
	minCheckInter, maxCheckInter = Duration(100 * time.Millisecond), Duration(time.Hour)
	// haproxy's timeout connect and timeout check: answers on the LAN.
	minShortTimeout, maxShortTimeout = Duration(10 * time.Millisecond), Duration(time.Minute)
	// haproxy's timeout client and timeout server (every backend's and a
	// service's own): the slowest legitimate call, up to a day.
	minLongTimeout, maxLongTimeout = Duration(time.Second), Duration(24 * time.Hour)
	// haproxy's maxconn per frontend: the file descriptors one process may
	// have (fs.nr_open's default is 1048576).
	minMaxConn, maxMaxConn = 1, 1000000
	// haproxy's rise and fall: checks in a row.
	minChecks, maxChecks = 1, 100

	// Pacemaker's scores stop at INFINITY, 1000000: stickiness and
	// migration-threshold (0 turns the threshold off).
	maxScore = 1000000
	// cluster.failure_timeout: 0 (failures never expire) or a second to a
	// week.
	minFailureTimeout, maxFailureTimeout = Duration(time.Second), Duration(7 * 24 * time.Hour)

	// fencing.priority_delay: a fence of the VIP holder waits this long,
	// also when it crashed; within Pacemaker's default stonith-timeout.
	minPriorityDelay, maxPriorityDelay = Duration(time.Second), Duration(time.Minute)
)

// human writes d in the largest unit that holds it whole (h, m, s, ms),
// as a person would write it in the topology: 2562047h, 10m, 90s, 250ms.
func (d Duration) human() string {
	v := time.Duration(d)
	if v == 0 {
		return "0"
	}
	for _, u := range []struct {
		unit time.Duration
		name string
	}{{time.Hour, "h"}, {time.Minute, "m"}, {time.Second, "s"}} {
		if v%u.unit == 0 {
			return strconv.FormatInt(int64(v/u.unit), 10) + u.name
		}
	}
	return strconv.FormatInt(int64(v/time.Millisecond), 10) + "ms"
}

// span refuses v outside lo-hi; field is its place in the file.
func (x *resolver) span(field string, v, lo, hi Duration) {
	if v < lo || v > hi {
		x.bad.add(field, "%s is out of range %s-%s", v.human(), lo.human(), hi.human())
	}
}

// between refuses v outside lo-hi.
func (x *resolver) between(field string, v, lo, hi int) {
	if v < lo || v > hi {
		x.bad.add(field, "%d is out of range %d-%d", v, lo, hi)
	}
}
