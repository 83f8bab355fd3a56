package haproxy

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stackha/stackha/ocf"
)

// steadyLoad sends requests to port from a few clients, each on a new
// connection, until stop is called; stop returns the successes and the
// failures (with the first failure's text).
func (r *rig) steadyLoad(port int) (stop func() (ok, failed int64, first string)) {
	ctx, cancel := context.WithCancel(context.Background())
	var okN, failN atomic.Int64
	var firstErr atomic.Value
	var wg sync.WaitGroup
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				if _, err := r.get(port, ""); err != nil {
					failN.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
					continue
				}
				okN.Add(1)
				time.Sleep(2 * time.Millisecond)
			}
		}()
	}
	return func() (int64, int64, string) {
		cancel()
		wg.Wait()
		first, _ := firstErr.Load().(string)
		return okN.Load(), failN.Load(), first
	}
}

// reload-agent applies a change of config, check_level_10_backends and
// stop_timeout by a seamless reload: the master (and its pid) stays, a new
// worker serves the new configuration, and a client under load sees no
// failed request.
func TestReloadAgentAppliesParameters(t *testing.T) {
	r := newRig(t)
	r.must("start", ocf.Success)
	before := r.procList()
	other := filepath.Join(r.dir, "other.cfg")
	r.writeConfigTo(other, cfgOpts{SecondFrontend: true})

	stop := r.steadyLoad(r.fePort)
	time.Sleep(300 * time.Millisecond)
	r.must("reload-agent", ocf.Success, "STACKHA_OCF=1.1", "OCF_RESKEY_config="+other,
		"OCF_RESKEY_check_level_10_backends=shh-api", "OCF_RESKEY_stop_timeout=5s")
	time.Sleep(300 * time.Millisecond)
	ok, failed, first := stop()
	if failed != 0 || ok == 0 {
		t.Fatalf("under load across reload-agent: %d ok, %d failed (%s)", ok, failed, first)
	}
	t.Logf("%d requests, none failed, across reload-agent", ok)
	after := r.procList()
	if after.Master.PID != before.Master.PID || after.Workers[0].PID == before.Workers[0].PID {
		t.Fatalf("reload-agent did not reload in place: %+v -> %+v", before, after)
	}
	if _, err := r.get(r.fe2Port, ""); err != nil {
		t.Fatalf("the new configuration's frontend: %v", err)
	}
	with := []string{"OCF_RESKEY_config=" + other, "OCF_RESKEY_check_level_10_backends=shh-api"}
	eventually(t, 5*time.Second, "depth 10 with the new parameters", func() error {
		if code, out := r.run("monitor", append(with, "OCF_CHECK_LEVEL=10")...); code != ocf.Success {
			return fmt.Errorf("exit %d: %s", code, out)
		}
		return nil
	})
	// A backend that is not in the configuration: refused, haproxy as it was.
	code, out := r.run("reload-agent", "OCF_RESKEY_config="+other, "OCF_RESKEY_check_level_10_backends=nosuch")
	if code != ocf.ErrConfigured || !strings.Contains(out, "nosuch") {
		t.Fatalf("reload-agent with an unknown backend: %d %s", code, out)
	}
	if still := r.procList(); still.Workers[0].PID != after.Workers[0].PID {
		t.Fatal("a refused reload-agent replaced the worker")
	}
	r.must("stop", ocf.Success, with...)
}

// A backend that lost one of its two servers: degraded (190) for an OCF
// 1.1 caller, success for a 1.0 one; depth 0 does not look.
func TestDegradedBackend(t *testing.T) {
	r := newRig(t)
	r.must("start", ocf.Success)
	defer r.must("stop", ocf.Success)
	eventually(t, 5*time.Second, "depth 10, both servers up", func() error {
		if code, out := r.run("monitor", "OCF_CHECK_LEVEL=10", "STACKHA_OCF=1.1"); code != ocf.Success {
			return fmt.Errorf("exit %d: %s", code, out)
		}
		return nil
	})
	r.be[0].down()
	eventually(t, 5*time.Second, "degraded with s1 down", func() error {
		code, out := r.run("monitor", "OCF_CHECK_LEVEL=10", "STACKHA_OCF=1.1")
		if code != ocf.RunningDegraded || !strings.Contains(out, `"shh-api" ("s1" "DOWN")`) {
			return fmt.Errorf("exit %d: %s", code, out)
		}
		return nil
	})
	for _, tc := range []struct {
		env  []string
		want ocf.Code
	}{
		{[]string{"OCF_RA_VERSION_MAJOR=1", "OCF_RA_VERSION_MINOR=1"}, ocf.RunningDegraded},
		{nil, ocf.Success},
		{[]string{"OCF_RA_VERSION_MAJOR=1", "OCF_RA_VERSION_MINOR=0"}, ocf.Success},
		{[]string{"STACKHA_OCF=1.0", "OCF_RA_VERSION_MAJOR=1", "OCF_RA_VERSION_MINOR=1"}, ocf.Success},
	} {
		code, out := r.run("monitor", append(tc.env, "OCF_CHECK_LEVEL=10")...)
		if code != tc.want || !strings.Contains(out, `"s1" "DOWN"`) {
			t.Errorf("depth 10 with %v: %d, want %d: %s", tc.env, code, tc.want, out)
		}
	}
	r.must("monitor", ocf.Success, "STACKHA_OCF=1.1")
	r.be[1].down()
	eventually(t, 5*time.Second, "failed with both down", func() error {
		if code, out := r.run("monitor", "OCF_CHECK_LEVEL=10", "STACKHA_OCF=1.1"); code != ocf.ErrGeneric {
			return fmt.Errorf("exit %d: %s", code, out)
		}
		return nil
	})
}

// validate-all at level 0 checks only the parameters: no binary, no file,
// no haproxy -c; at 10 (and unset) also this node.
func TestValidateLevels(t *testing.T) {
	r := newRig(t)
	missing := []string{"OCF_RESKEY_binary=/nonexistent/haproxy", "OCF_RESKEY_config=/nonexistent/haproxy.cfg"}
	r.must("validate-all", ocf.Success, append(missing, "OCF_CHECK_LEVEL=0")...)
	r.must("validate-all", ocf.ErrInstalled, append(missing, "OCF_CHECK_LEVEL=10")...)
	r.must("validate-all", ocf.ErrInstalled, missing...)
	r.must("validate-all", ocf.ErrConfigured, "OCF_CHECK_LEVEL=0", "OCF_RESKEY_stop_timeout=9223372036854775807")
}
