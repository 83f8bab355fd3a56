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

// TestPublishListening: the attribute is set to 1 when haproxy serves and
// 0 when stop begins, on the node Pacemaker names, each update bounded
// (stop's tighter); nothing without the parameter or a node name; a failed
// update is logged, quoted and capped, and nothing else.
func TestPublishListening(t *testing.T) {
	type call struct {
		node, name, value string
		limit             time.Duration
	}
	for _, tc := range []struct {
		name    string
		attr    string
		node    string
		serving bool
		fail    error
		out     string
		want    *call
		log     string
	}{
		{name: "serving", attr: "haproxy-listening", node: "node1", serving: true,
			want: &call{"node1", "haproxy-listening", "1", listenAttrTimeout}},
		{name: "stop", attr: "haproxy-listening", node: "node2",
			want: &call{"node2", "haproxy-listening", "0", listenAttrStopTimeout}},
		{name: "no parameter", node: "node1", serving: true},
		{name: "run by hand (no node)", attr: "haproxy-listening", serving: true},
		{name: "attrd fails", attr: "haproxy-listening", node: "node1", serving: true,
			fail: errors.New("exit status 102"), out: "Could not connect to attrd\x1b[31m",
			want: &call{"node1", "haproxy-listening", "1", listenAttrTimeout},
			log:  `node attribute haproxy-listening=1 on node1 not set (exit status 102): "Could not connect to attrd\x1b[31m"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got *call
			old := setNodeAttr
			defer func() { setNodeAttr = old }()
			setNodeAttr = func(ctx context.Context, node, name, value string) ([]byte, error) {
				dl, _ := ctx.Deadline()
				got = &call{node, name, value, time.Until(dl).Round(time.Second)}
				return []byte(tc.out), tc.fail
			}
			var logb bytes.Buffer
			meta := map[string]string{}
			if tc.node != "" {
				meta["on_node"] = tc.node
			}
			o := &op{settings: &settings{listenAttr: tc.attr}, log: ocf.NewLogger(ocf.LogConfig{Agent: "test", Stderr: &logb}),
				req: &ocf.Request{Action: "start", CRMMeta: meta}}
			o.publishListening(context.Background(), tc.serving)
			switch {
			case tc.want == nil && got != nil:
				t.Fatalf("updated %+v, want no update", *got)
			case tc.want != nil && (got == nil || *got != *tc.want):
				t.Fatalf("update %+v, want %+v", got, *tc.want)
			}
			if tc.log != "" && !strings.Contains(logb.String(), strings.ReplaceAll(tc.log, "\x1b", `\x1b`)) {
				t.Errorf("log %q, want %q", logb.String(), tc.log)
			}
		})
	}
}
