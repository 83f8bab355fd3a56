package openstack

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"time"
	"unicode"

	"github.com/stackha/stackha/instance"
	"github.com/stackha/stackha/ocf"
)

// maxBody bounds what the agent reads of any answer.
const maxBody = 1 << 20

// reserve is kept back from the operation's deadline so that a probe that
// runs out of time is reported by the agent, with its own reason, before
// the runtime's watchdog: 50 ms and a twentieth of what is left, at most 1 s.
const reserve = 50 * time.Millisecond

func reserveFor(left time.Duration) time.Duration {
	r := reserve + left/20
	if r > time.Second {
		r = time.Second
	}
	return r
}

// newClient is an HTTP client for one action: no proxy from the
// environment, no connection reuse, the CA bundle if one is named, and no
// redirect followed (a version document is not behind one).
func newClient(caFile string) (*http.Client, error) {
	tr := &http.Transport{
		Proxy:             nil,
		DisableKeepAlives: true,
		DialContext:       (&net.Dialer{}).DialContext,
		TLSClientConfig:   &tls.Config{MinVersion: tls.VersionTLS12},
	}
	if caFile != "" {
		// Root decides whom to trust from it: a root-owned file no one else
		// can write, on a path of such directories, no link followed.
		pem, err := instance.ReadPath(caFile, maxCAFile, instance.RootOnly)
		if err != nil {
			return nil, ocf.Installed("ca_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, ocf.Configured("ca_file %s holds no PEM certificate", caFile)
		}
		tr.TLSClientConfig.RootCAs = pool
	}
	return &http.Client{
		Transport:     tr,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}, nil
}

// maxCAFile bounds what is read of ca_file (a bundle of every public CA is
// about 200 KiB).
const maxCAFile = 4 << 20

// answer is what came back from one request.
type answer struct {
	status      int
	statusText  string
	contentType string
	header      http.Header
	body        []byte
	took        time.Duration // from sending the request to the end of the body
}

// Why a request ran out of time: its own limit (probe_timeout) or the
// operation's deadline.
var (
	errProbeLimit = errors.New("probe_timeout")
	errDeadline   = errors.New("operation deadline")
)

// do sends one request bounded by limit (0: none) and by ctx less the
// reserve, and reads the answer. A request that runs out of time says "no
// answer in N ms" and which of the two bounds it hit.
func do(ctx context.Context, client *http.Client, req *http.Request, limit time.Duration) (*answer, error) {
	budget, cause := limit, errProbeLimit
	if dl, ok := ctx.Deadline(); ok {
		left := time.Until(dl)
		b := left - reserveFor(left)
		if b <= 0 {
			return nil, ocf.Generic("%s %s: no time left for a request", req.Method, redact(req.URL.String()))
		}
		if budget <= 0 || b < budget {
			budget, cause = b, errDeadline
		}
	}
	if budget > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeoutCause(ctx, budget, cause)
		defer cancel()
	}
	t0 := time.Now()
	resp, err := client.Do(req.WithContext(ctx))
	if err == nil {
		defer resp.Body.Close()
		var b []byte
		b, err = io.ReadAll(io.LimitReader(resp.Body, maxBody))
		if err == nil {
			return &answer{status: resp.StatusCode, statusText: resp.Status, contentType: resp.Header.Get("Content-Type"),
				header: resp.Header, body: b, took: time.Since(t0)}, nil
		}
	}
	where := req.Method + " " + redact(req.URL.String())
	switch {
	case context.Cause(ctx) == errProbeLimit:
		return nil, ocf.Generic("%s: no answer in %d ms (probe_timeout %s): the service hangs", where, time.Since(t0).Milliseconds(), limit)
	case errors.Is(err, context.DeadlineExceeded) || errors.Is(ctx.Err(), context.DeadlineExceeded):
		return nil, ocf.Generic("%s: no answer in %d ms (the operation's timeout is near)", where, time.Since(t0).Milliseconds())
	case errors.Is(err, syscall.ECONNREFUSED):
		return nil, ocf.Generic("%s: connection refused (nothing listens on %s)", where, req.URL.Host)
	case errors.Is(err, context.Canceled):
		return nil, ocf.Generic("%s: cancelled", where)
	}
	return nil, ocf.Generic("%s: %v", where, err)
}

// redact drops a query string (nothing secret goes there, but keep lines short).
func redact(u string) string {
	if i := strings.IndexByte(u, '?'); i >= 0 {
		return u[:i]
	}
	return u
}

// slowAnswer is the degraded state (OCF 1.1) of a version document that
// came slower than degraded_ms. The caller asks it last: degraded says
// every check passed.
func slowAnswer(c *Config, a *answer) error {
	if c.DegradedAfter > 0 && a.took > c.DegradedAfter {
		return ocf.Degraded("GET %s answered in %d ms, slower than degraded_ms=%d", redact(c.URL.String()),
			a.took.Milliseconds(), c.DegradedAfter.Milliseconds())
	}
	return nil
}

// getVersions runs depth 0: GET the version document at c.URL, within
// probe_timeout, and judge it as the profile says.
func getVersions(ctx context.Context, client *http.Client, c *Config) (*answer, error) {
	req, err := http.NewRequest(http.MethodGet, c.URL.String(), nil)
	if err != nil {
		return nil, ocf.Configured("url %s: %v", c.URL, err)
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "stackha/"+ocf.Version)
	a, err := do(ctx, client, req, c.ProbeTimeout)
	if err != nil {
		return nil, err
	}
	where := "GET " + redact(c.URL.String())
	switch c.Profile.Check {
	case Healthcheck:
		if a.status != http.StatusOK {
			return nil, ocf.Generic("%s: HTTP %s, want 200 from the healthcheck%s", where, a.statusText, excerpt(a))
		}
		return a, nil
	case VersionList:
		if a.status != http.StatusOK {
			return nil, ocf.Generic("%s: HTTP %s, want 200 with the list of metadata versions%s", where, a.statusText, excerpt(a))
		}
		if _, ok := ParseVersionList(a.body); !ok {
			return nil, ocf.Generic("%s: the answer is not a list of metadata versions%s", where, excerpt(a))
		}
		return a, nil
	}
	if a.status != http.StatusOK && a.status != http.StatusMultipleChoices {
		return nil, ocf.Generic("%s: HTTP %s, want 200 or 300 with a version document%s", where, a.statusText, excerpt(a))
	}
	if _, err := ParseVersions(a.body); err != nil {
		return nil, ocf.Generic("%s: HTTP %d but not a version document (%v)%s", where, a.status, err, excerpt(a))
	}
	return a, nil
}

// excerpt is the start of an answer's body, on one line, for a reason.
func excerpt(a *answer) string {
	s := strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) {
			return ' '
		}
		if !unicode.IsPrint(r) {
			return -1
		}
		return r
	}, string(a.body))
	s = strings.Join(strings.Fields(s), " ")
	if s == "" {
		return ""
	}
	if len(s) > 100 {
		s = s[:100] + "..."
	}
	ct := a.contentType
	if ct == "" {
		ct = "no Content-Type"
	}
	return fmt.Sprintf(": %s: %q", ct, s)
}

// ParseVersions reads an OpenStack version-discovery document and returns
// the ids of the versions it names. It accepts the shapes the services
// answer: {"versions": [...]} (nova, glance, cinder, neutron, placement,
// heat), {"versions": {"values": [...]}} (keystone) and {"version": {...}}
// (one version, e.g. keystone's /v3).
func ParseVersions(body []byte) ([]string, error) {
	var doc struct {
		Versions json.RawMessage `json:"versions"`
		Version  *versionEntry   `json:"version"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		return nil, errors.New("not JSON")
	}
	var entries []versionEntry
	if doc.Version != nil {
		entries = append(entries, *doc.Version)
	}
	if len(doc.Versions) > 0 && string(doc.Versions) != "null" {
		var list []versionEntry
		if err := json.Unmarshal(doc.Versions, &list); err != nil {
			var wrapped struct {
				Values []versionEntry `json:"values"`
			}
			if err := json.Unmarshal(doc.Versions, &wrapped); err != nil {
				return nil, errors.New(`"versions" is neither a list nor {"values": [...]}`)
			}
			list = wrapped.Values
		}
		entries = append(entries, list...)
	}
	var ids []string
	for _, e := range entries {
		if id := strings.TrimSpace(e.ID); id != "" {
			ids = append(ids, id)
		}
	}
	if len(ids) == 0 {
		return nil, errors.New("it names no version")
	}
	return ids, nil
}

type versionEntry struct {
	ID     string `json:"id"`
	Status string `json:"status"`
}

// metadataVersion is compiled on first use: nothing is built at start-up.
var metadataVersion = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^(\d{4}-\d{2}-\d{2}|\d+\.\d+|latest)$`)
})

// ParseVersionList reads nova's metadata version list ("1.0\n2007-01-19\n
// ...\nlatest"): every line a version, at least one line.
func ParseVersionList(body []byte) ([]string, bool) {
	var out []string
	for _, l := range strings.Split(strings.TrimSpace(string(body)), "\n") {
		l = strings.TrimSpace(l)
		if !metadataVersion().MatchString(l) {
			return nil, false
		}
		out = append(out, l)
	}
	return out, len(out) > 0
}
