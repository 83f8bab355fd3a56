package openstack

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stackha/stackha/ocf"
)

// probe_timeout bounds the version request, so a hung service
// fails its monitor on its own limit, not at the operation's deadline.
func TestProbeTimeout(t *testing.T) {
	c, err := newConfig(t, "keystone", map[string]string{"url": silentServer(t), "probe_timeout": "200ms"})
	if err != nil {
		t.Fatal(err)
	}
	client, _ := newClient("")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	_, err = getVersions(ctx, client, c)
	if err == nil || ocf.CodeOf(err) != ocf.ErrGeneric {
		t.Fatalf("hung service: %v (%s), want exit 1", err, ocf.CodeOf(err))
	}
	if !strings.Contains(err.Error(), "probe_timeout 200ms") || strings.Contains(err.Error(), "operation's timeout") {
		t.Errorf("hung service: %q, want the probe timeout named as the cause", err)
	}
	if ctx.Err() != nil {
		t.Errorf("the operation's deadline passed: the probe timeout did not end the request")
	}

	// an operation shorter than probe_timeout: its deadline is the cause
	c.ProbeTimeout = time.Minute
	short, cancel2 := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel2()
	if _, err := getVersions(short, client, c); err == nil || !strings.Contains(err.Error(), "operation's timeout") {
		t.Errorf("short operation: %v, want the operation's timeout named", err)
	}
}

// OCF 1.1: a version document slower than degraded_ms is "degraded": 190
// to an OCF 1.1 caller, 0 to a 1.0 one.
func TestDegraded(t *testing.T) {
	fake := &fakeSystemd{units: map[string]*UnitState{"sho.service": loaded("active")}}
	useSystemd(t, fake, nil)
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(300 * time.Millisecond)
		w.WriteHeader(300)
		w.Write([]byte(keystoneDoc))
	}))
	t.Cleanup(slow.Close)
	params := map[string]string{"run_mode": "systemd", "unit": "sho.service", "url": slow.URL + "/", "degraded_ms": "50"}
	v11 := map[string]string{"OCF_RA_VERSION_MAJOR": "1", "OCF_RA_VERSION_MINOR": "1"}
	mon := runOpts{timeoutMS: 20000, intervalMS: 10000, env: v11}
	r := runAgent(t, "keystone", "monitor", params, mon)
	wantCode(t, "slow answer, 1.1 caller", r, ocf.RunningDegraded)
	if !strings.Contains(r.stderr, "slower than degraded_ms=50") {
		t.Errorf("no reason for the degraded state:\n%s", r.stderr)
	}
	wantCode(t, "slow answer, 1.0 caller", runAgent(t, "keystone", "monitor", params, runOpts{timeoutMS: 20000, intervalMS: 10000}), ocf.Success)
	params["degraded_ms"] = "120000"
	wantCode(t, "below the threshold", runAgent(t, "keystone", "monitor", params, mon), ocf.Success)
	params["degraded_ms"] = "0"
	wantCode(t, "threshold off", runAgent(t, "keystone", "monitor", params, mon), ocf.Success)
}

// OCF 1.1: exactly the parameters monitor alone reads, and the drain's
// (read by each stop and start, never by the running service), are
// reloadable, and reload-agent checks them without touching the service.
func TestReloadAgent(t *testing.T) {
	monitorOnly := []string{"url", "probe_timeout", "degraded_ms", "ca_file", "keystone_url", "credentials", "cloud", "auth_path"}
	drain := []string{"drain_timeout", "drain_file", "drain_checks"}
	for _, p := range Profiles {
		meta := declare(p)
		if _, ok := meta.Action("reload-agent"); !ok {
			t.Errorf("%s declares no reload-agent", p.Name)
		}
		for _, q := range meta.Parameters {
			reloadable := slices.Contains(monitorOnly, q.Name) || slices.Contains(drain, q.Name) && q.Unsupported == ""
			if q.Reloadable != reloadable {
				t.Errorf("%s: parameter %s reloadable=%v", p.Name, q.Name, q.Reloadable)
			}
			if (q.Type == "integer" || q.Type == "time") && q.Range == nil {
				t.Errorf("%s: numeric parameter %s has no range", p.Name, q.Name)
			}
		}
		if rm, _ := meta.Parameter("run_mode"); !slices.Equal(rm.Options, []string{"systemd", "process"}) {
			t.Errorf("%s: run_mode options %v", p.Name, rm.Options)
		}
	}
	fake := &fakeSystemd{units: map[string]*UnitState{"sho.service": loaded("active")}}
	useSystemd(t, fake, nil)
	params := map[string]string{"run_mode": "systemd", "unit": "sho.service", "url": "http://127.0.0.1:1/", "probe_timeout": "1s"}
	wantCode(t, "reload-agent", runAgent(t, "keystone", "reload-agent", params, runOpts{timeoutMS: 10000}), ocf.Success)
	if len(fake.calls) != 0 {
		t.Errorf("reload-agent drove systemd: %v", fake.calls)
	}
	params["probe_timeout"] = "1ms"
	wantCode(t, "reload-agent, bad value", runAgent(t, "keystone", "reload-agent", params, runOpts{timeoutMS: 10000}), ocf.ErrConfigured, "probe_timeout")
}

// OCF 1.1: validate-all at level 0 checks the parameters only; at 10
// (the default) this node too.
func TestValidateLevels(t *testing.T) {
	params := map[string]string{"run_mode": "process", "binary": "/nonexistent/uwsgi", "user": "root"}
	level0 := runOpts{timeoutMS: 10000, env: map[string]string{"OCF_CHECK_LEVEL": "0"}}
	wantCode(t, "level 0, program missing", runAgent(t, "keystone", "validate-all", params, level0), ocf.Success)
	wantCode(t, "level 10 (unset), program missing", runAgent(t, "keystone", "validate-all", params, runOpts{timeoutMS: 10000}), ocf.ErrInstalled, "/nonexistent/uwsgi")
	params["pidfile"] = "/../../etc/passwd"
	wantCode(t, "level 0, bad parameter", runAgent(t, "keystone", "validate-all", params, level0), ocf.ErrConfigured, "clean absolute path")
	// a test server is refused at every level: the parameters say it
	delete(params, "pidfile")
	params["binary"] = "/usr/bin/keystone-wsgi-public"
	wantCode(t, "level 0, test server", runAgent(t, "keystone", "validate-all", params, level0), ocf.ErrConfigured, "pbr's single-threaded test server")
}
