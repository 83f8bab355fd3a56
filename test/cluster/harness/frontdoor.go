package harness

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os/exec"
	"strconv"
	"strings"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// maxMetrics bounds a node's metrics page (haproxy's exporter writes a
// few hundred kilobytes for the harness's frontends and backends).
const maxMetrics = 8 << 20

// Metrics scrapes node n's haproxy metrics (its own address, StatsPort)
// from the client namespace and parses them as Prometheus's text format.
func (cl *Client) Metrics(ctx context.Context, n *Node) (map[string]*dto.MetricFamily, error) {
	req, err := http.NewRequest(http.MethodGet, "http://"+net.JoinHostPort(n.Addr, strconv.Itoa(StatsPort))+"/metrics", nil)
	if err != nil {
		return nil, err
	}
	resp, err := cl.DoLimit(ctx, req, 5*time.Second, maxMetrics)
	if err != nil {
		return nil, fmt.Errorf("metrics of %s: %w", n.Name, err)
	}
	if resp.Status != http.StatusOK {
		return nil, fmt.Errorf("metrics of %s: HTTP %d", n.Name, resp.Status)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(resp.Body))
	if err != nil {
		return nil, fmt.Errorf("metrics of %s: %w", n.Name, err)
	}
	return fams, nil
}

// WorkerStart is when node n's haproxy worker that answers its metrics
// started (haproxy_process_start_time_seconds, to the second): a seamless
// reload replaces the worker.
func (cl *Client) WorkerStart(ctx context.Context, n *Node) (time.Time, error) {
	fams, err := cl.Metrics(ctx, n)
	if err != nil {
		return time.Time{}, err
	}
	f := fams["haproxy_process_start_time_seconds"]
	if f == nil || len(f.GetMetric()) != 1 || f.GetMetric()[0].GetGauge() == nil {
		return time.Time{}, fmt.Errorf("metrics of %s: no haproxy_process_start_time_seconds gauge", n.Name)
	}
	return time.Unix(int64(f.GetMetric()[0].GetGauge().GetValue()), 0), nil
}

// InClient runs a command in the client's network namespace (its files
// and users are the machine's), bounded by limit; it returns the combined
// output and the error.
func InClient(ctx context.Context, limit time.Duration, env []string, name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	cmd := exec.CommandContext(ctx, "nsenter", append([]string{"--net=" + ClientNetNS(), "--", name}, args...)...)
	cmd.Env = env
	cmd.WaitDelay = 2 * time.Second
	out, err := cmd.CombinedOutput()
	return string(out), err
}
