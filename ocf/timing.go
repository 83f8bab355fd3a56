package ocf

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/stackha/stackha/metadata"
)

// opTiming reads the operation's interval and timeout from the CRM_meta_*
// attributes (milliseconds). A timeout outside MinTimeout..MaxTimeout, or
// one that does not parse, falls back to the declared timeout (else
// DefaultTimeout); an interval that does not parse counts as 0 (a probe),
// one above MaxInterval as MaxInterval. Each fallback comes with a warning
// for the log. Within these bounds no duration arithmetic can wrap.
func opTiming(meta map[string]string, declared time.Duration) (interval, timeout time.Duration, warnings []string) {
	if declared < MinTimeout || declared > MaxTimeout {
		declared = DefaultTimeout
	}
	timeout = declared
	if v, ok := meta["timeout"]; ok && v != "" {
		d, err := msAttr(v, MinTimeout, MaxTimeout)
		if err != nil {
			warnings = append(warnings, fmt.Sprintf("CRM_meta_timeout: %v; using the declared timeout %s", err, declared))
		} else {
			timeout = d
		}
	}
	if v, ok := meta["interval"]; ok && v != "" {
		d, err := msAttr(v, 0, MaxInterval)
		interval = d
		if err != nil {
			warnings = append(warnings, fmt.Sprintf("CRM_meta_interval: %v; using %s", err, d))
		}
	}
	return interval, timeout, warnings
}

// msAttr reads a number of milliseconds within lo..hi. Out of range it
// returns the nearer bound with an error; unparsable, 0 with an error.
func msAttr(s string, lo, hi time.Duration) (time.Duration, error) {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%s is not a number of milliseconds", quote(s))
	}
	switch {
	case n < lo.Milliseconds():
		return lo, fmt.Errorf("%d ms is below %s", n, lo)
	case n > hi.Milliseconds():
		return hi, fmt.Errorf("%d ms is above %s", n, hi)
	}
	return time.Duration(n) * time.Millisecond, nil
}

// checkLevel is OCF_CHECK_LEVEL. For validate-all an unset (or unreadable)
// level is 10, the full check: parameters and this node; 0 checks the
// parameters only.
//
// What Pacemaker 2.1.5's `crm_resource --validate --class ocf --provider P
// --agent A --option k=v` passes to validate-all (seen with a script agent
// that dumped its environment): no OCF_CHECK_LEVEL for plain --validate,
// OCF_CHECK_LEVEL=N for --validate=N; OCF_RA_VERSION_MAJOR=1 and
// OCF_RA_VERSION_MINOR=1; OCF_RESOURCE_INSTANCE=test;
// OCF_RESKEY_CRM_meta_timeout=20000; OCF_RESKEY_crm_feature_set (not a
// parameter of ours, so ignored); and each --option as OCF_RESKEY_k. It
// prints the agent's ocf-exit-reason and exits with the agent's code.
// pcs 0.11's `pcs resource create ... --agent-validation` runs the same
// validate-all without OCF_CHECK_LEVEL, so it gets level 10 here too.
// meta-data from crm_resource --show-metadata, `crm ra info` (crmsh 4.4)
// and `pcs resource describe` comes with OCF_RA_VERSION_MAJOR=1,
// OCF_RA_VERSION_MINOR=1: all three get OCF 1.1 (see CallerOCF11).
func checkLevel(env Env, action string) int {
	v := get(env, "OCF_CHECK_LEVEL")
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		if action == "validate-all" {
			return 10
		}
		return 0
	}
	return n
}

// xml11 renders OCF 1.1 meta-data.
var xml11 = (*metadata.Agent).XML11

// metaData prints the agent's meta-data as name: OCF 1.1 for a caller that
// announced it (CallerOCF11), 1.0 otherwise (ocf-tester and ra-api-1.dtd
// know only 1.0). An alias says which agent replaces it.
func metaData(a *Agent, name string, env Env, s Streams) Code {
	m := a.Meta
	m.Name = name
	m.Version = Version // one version: the package's, stackha version's, every agent's
	if name != a.Meta.Name {
		m.ReplacedWith = a.Meta.Name
	}
	render := (*metadata.Agent).XML
	if CallerOCF11(env) {
		render = xml11
	}
	b, err := render(&m)
	if err != nil {
		return exitReason(s.Stderr, env, ErrGeneric, err.Error())
	}
	if _, err := s.Stdout.Write(b); err != nil {
		return exitReason(s.Stderr, env, ErrGeneric, "writing meta-data: "+err.Error())
	}
	return Success
}

// Sleep waits d, or until ctx ends (its error then); d <= 0 returns at
// once. Every agent's polling waits through it.
func Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
