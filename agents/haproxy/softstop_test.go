package haproxy

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stackha/stackha/ocf"
)

// TestSoftStop: stop lets sessions finish for stop_timeout unless this
// node's partition has lost quorum (a node cut from every network held
// its soft stop 30 s, docs/faults.md); quorum unknown keeps the soft stop;
// stop_timeout 0 asks nothing.
func TestSoftStop(t *testing.T) {
	for _, tc := range []struct {
		name    string
		timeout time.Duration
		quorum  bool
		err     error
		want    time.Duration
		asked   bool
		log     string
	}{
		{name: "quorum", timeout: 30 * time.Second, quorum: true, want: 30 * time.Second, asked: true},
		{name: "no quorum", timeout: 30 * time.Second, want: 0, asked: true, log: "no quorum: no soft stop"},
		{name: "unknown", timeout: 30 * time.Second, err: errors.New("crm_node --quorum: exit status 102"), want: 30 * time.Second, asked: true},
		{name: "no soft stop configured", timeout: 0, want: 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			asked := false
			old := quorate
			quorate = func(context.Context) (bool, error) { asked = true; return tc.quorum, tc.err }
			defer func() { quorate = old }()
			var logb bytes.Buffer
			o := &op{settings: &settings{stopTimeout: tc.timeout}, log: ocf.NewLogger(ocf.LogConfig{Agent: "test", Stderr: &logb})}
			if got := o.softStop(context.Background()); got != tc.want {
				t.Errorf("softStop = %s, want %s", got, tc.want)
			}
			if asked != tc.asked {
				t.Errorf("asked the controller: %v, want %v", asked, tc.asked)
			}
			if tc.log != "" && !strings.Contains(logb.String(), tc.log) {
				t.Errorf("log %q, want %q in it", logb.String(), tc.log)
			}
		})
	}
}
