package harness

import (
	"context"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"
)

// Attempt is one request of the prober.
type Attempt struct {
	Start, End time.Time
	OK         bool   // answered 2xx or 3xx
	Node       string // who answered (X-Served-By)
	Err        string
	// Key names what a write of a ProjectWriter made (its project's
	// name): an OK attempt is a write the database acknowledged.
	Key string
	// Written: the write was acknowledged (201), whether or not the
	// read that follows it (Prober.then) answered.
	Written bool
}

// Prober requests a URL from the client namespace every Every, each
// request on a new connection and bounded by Timeout, and records every
// attempt. A tick when every worker is busy is skipped (and counted).
type Prober struct {
	URL     string
	Every   time.Duration
	Timeout time.Duration
	// Body, when set, makes every request a POST of it (JSON), a write
	// (StartWriter); else a GET.
	Body string
	// bodyOf, when set, makes each request a POST of bodyOf(seq), whose
	// Key is key(seq) (StartProjectWriter).
	bodyOf func(seq int) (body, key string)
	// then, when set, follows each acknowledged write of bodyOf(seq)
	// with a read of what it wrote: the attempt is OK only when that
	// read answers 200 (StartProviderWriter).
	then   func(seq int) *http.Request
	header http.Header // sent with each request
	seq    int
	// workers, when not 0, bounds the requests in flight (else enough
	// for one every Every through Timeout, at most 32).
	workers int

	client  *Client
	mu      sync.Mutex
	log     []Attempt
	skipped int
	stop    chan struct{}
	done    chan struct{}
	cond    chan struct{} // closed and replaced on each new attempt
}

// StartProber starts polling url from the client namespace.
func StartProber(url string, every, timeout time.Duration) (*Prober, error) {
	return start(&Prober{URL: url, Every: every, Timeout: timeout})
}

// StartWriter starts asking keystone (at url, the VIP) for a token every
// every from the client namespace: a write (keystone records the token's
// issue), which haproxy never replays. An answer other than 201 fails.
func StartWriter(url string, every, timeout time.Duration) (*Prober, error) {
	return start(&Prober{URL: url + "/v3/auth/tokens", Every: every, Timeout: timeout, Body: tokenRequest()})
}

func start(p *Prober) (*Prober, error) {
	every, timeout := p.Every, p.Timeout
	workers := int(timeout/every) + 2
	if workers > 32 {
		workers = 32
	}
	if p.workers != 0 {
		workers = p.workers
	}
	cl, err := NewClient(ClientNetNS(), workers)
	if err != nil {
		return nil, err
	}
	p.client, p.stop, p.done, p.cond = cl, make(chan struct{}), make(chan struct{}), make(chan struct{})
	go p.loop()
	return p, nil
}

func (p *Prober) loop() {
	defer close(p.done)
	t := time.NewTicker(p.Every)
	defer t.Stop()
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		select {
		case <-p.stop:
			return
		case <-t.C:
		}
		wg.Add(1)
		p.seq++
		body, key, seq := p.Body, "", p.seq
		if p.bodyOf != nil {
			body, key = p.bodyOf(seq)
		}
		ok := p.client.tryGo(func() {
			defer wg.Done()
			a := Attempt{Start: time.Now(), Key: key}
			req, _ := http.NewRequest(http.MethodGet, p.URL, nil)
			if body != "" {
				req, _ = http.NewRequest(http.MethodPost, p.URL, strings.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
			}
			for k, v := range p.header {
				req.Header[k] = v
			}
			resp, err := roundTrip(context.Background(), req, p.Timeout)
			a.End = time.Now()
			switch {
			case err != nil:
				a.Err = err.Error()
			case body != "" && resp.Status == http.StatusCreated:
				a.OK, a.Written, a.Node = true, true, resp.ServedBy
				if p.then != nil {
					a.OK, a.Err = p.readBack(seq, a.Start)
				}
			case body == "" && resp.Status >= 200 && resp.Status < 400:
				a.OK, a.Node = true, resp.ServedBy
			default:
				a.Err, a.Node = fmt.Sprintf("status %d", resp.Status), resp.ServedBy
			}
			p.record(a)
		})
		if !ok {
			wg.Done()
			p.mu.Lock()
			p.skipped++
			p.mu.Unlock()
		}
	}
}

// readBack is the read that follows write seq, within what is left of
// the attempt's timeout: OK on 200.
func (p *Prober) readBack(seq int, start time.Time) (bool, string) {
	left := p.Timeout - time.Since(start)
	if left <= 0 {
		return false, "no time left for the read after the write"
	}
	resp, err := roundTrip(context.Background(), p.then(seq), left)
	switch {
	case err != nil:
		return false, "read after the write: " + err.Error()
	case resp.Status != http.StatusOK:
		return false, fmt.Sprintf("read after the write: status %d", resp.Status)
	}
	return true, ""
}

func (p *Prober) record(a Attempt) {
	p.mu.Lock()
	p.log = append(p.log, a)
	close(p.cond)
	p.cond = make(chan struct{})
	p.mu.Unlock()
}

// Stop ends the polling (waits for requests in flight).
func (p *Prober) Stop() {
	select {
	case <-p.stop:
	default:
		close(p.stop)
	}
	<-p.done
	p.client.Close()
}

// Attempts returns the attempts that started at or after t, by start time.
func (p *Prober) Attempts(t time.Time) []Attempt {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []Attempt
	for _, a := range p.log {
		if !a.Start.Before(t) {
			out = append(out, a)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Start.Before(out[j].Start) })
	return out
}

// WaitFor waits for the first attempt started after t that satisfies ok
// (in completion order) and returns it.
func (p *Prober) WaitFor(ctx context.Context, t time.Time, ok func(Attempt) bool) (Attempt, error) {
	seen := 0
	for {
		p.mu.Lock()
		log, cond := p.log, p.cond
		p.mu.Unlock()
		for ; seen < len(log); seen++ {
			if a := log[seen]; !a.Start.Before(t) && ok(a) {
				return a, nil
			}
		}
		select {
		case <-cond:
		case <-ctx.Done():
			return Attempt{}, fmt.Errorf("waiting for a request through the VIP: %w", ctx.Err())
		}
	}
}

// Summary is what a run of requests looked like from the client.
type Summary struct {
	Total, Failed int
	// Outage is from the fault (t0) to the end of the first successful
	// request started after the last failed one; 0 when none failed.
	Outage time.Duration
	// Recovered is false when requests were still failing at the end.
	Recovered bool
	LastErr   string
	// ByNode counts the successful answers per node that answered.
	ByNode map[string]int
	// FirstFail and LastFail are when the first and the last failed
	// request started, from t0.
	FirstFail, LastFail time.Duration
	// MaxGap is the longest time between two successive answers (by the
	// time each ended): the longest span in which the VIP answered no
	// one, whatever failed or not meanwhile. With a request every 50 ms a
	// healthy cluster keeps it near 50 ms.
	MaxGap time.Duration
}

// Summarize sums up the attempts started at or after t0.
func Summarize(as []Attempt, t0 time.Time) Summary {
	s := Summary{Total: len(as), Recovered: true}
	var ends []time.Time
	for _, a := range as {
		if a.OK {
			ends = append(ends, a.End)
		}
	}
	sort.Slice(ends, func(i, j int) bool { return ends[i].Before(ends[j]) })
	for i := 1; i < len(ends); i++ {
		s.MaxGap = max(s.MaxGap, ends[i].Sub(ends[i-1]))
	}
	var lastFail time.Time
	for _, a := range as {
		if a.OK {
			if s.ByNode == nil {
				s.ByNode = map[string]int{}
			}
			s.ByNode[a.Node]++
		}
		if !a.OK {
			if s.Failed == 0 {
				s.FirstFail = a.Start.Sub(t0)
			}
			s.Failed++
			lastFail, s.LastErr = a.Start, a.Err
			s.LastFail = a.Start.Sub(t0)
		}
	}
	if s.Failed == 0 {
		return s
	}
	s.Recovered = false
	var firstOK time.Time
	for _, a := range as {
		if a.OK && a.Start.After(lastFail) && (firstOK.IsZero() || a.End.Before(firstOK)) {
			firstOK = a.End
		}
	}
	if !firstOK.IsZero() {
		s.Recovered, s.Outage = true, firstOK.Sub(t0)
	}
	return s
}
