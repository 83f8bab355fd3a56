package harness

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"
)

// statefulWorkers bounds the stateful tier's clients' requests in flight,
// as a service's connection pool does: with one every 250 ms and 10 s to
// answer, an open-ended client would pile up to 32 writes on a cluster that
// is slow (every node starting at once on two cores, fault 19), which
// keystone's workers go on serving after the client has given up, and the
// cluster can stay overloaded for minutes (measured: recovery from 45 s to
// more than 4 minutes with 32). A tick with every worker busy is skipped.
const statefulWorkers = 4

// StartProjectWriter starts creating a keystone project through the VIP
// every every, as admin (token), from the client namespace: a write each
// request (a row in keystone's database), named prefix-N, which haproxy
// never replays. An answer other than 201 fails; a 201 is a write the
// database acknowledged (ReadBack looks for it after the fault).
func StartProjectWriter(url, token, prefix string, every, timeout time.Duration) (*Prober, error) {
	h := http.Header{}
	h.Set("X-Auth-Token", token)
	return start(&Prober{URL: url + "/v3/projects", Every: every, Timeout: timeout, header: h, workers: statefulWorkers,
		bodyOf: func(seq int) (string, string) {
			name := fmt.Sprintf("%s-%d", prefix, seq)
			return fmt.Sprintf(`{"project":{"name":%q,"domain_id":"default"}}`, name), name
		}})
}

// StartHeatReader starts listing heat's stacks at url (through the VIP,
// the admin project's) every every, as admin (token): each answer is an
// RPC call from heat-api to a heat-engine through RabbitMQ and back.
func StartHeatReader(url, token string, every, timeout time.Duration) (*Prober, error) {
	h := http.Header{}
	h.Set("X-Auth-Token", token)
	return start(&Prober{URL: url, Every: every, Timeout: timeout, header: h, workers: statefulWorkers})
}

// ProjectID is the id of keystone's project name, asked through url.
func (c *Client) ProjectID(ctx context.Context, url, token, name string) (string, error) {
	return c.idOf(ctx, url, token, "projects", name)
}

// idOf is the id of the one keystone object of kind (projects, roles)
// named name, asked through url.
func (c *Client) idOf(ctx context.Context, url, token, kind, name string) (string, error) {
	req, err := http.NewRequest(http.MethodGet, url+"/v3/"+kind+"?name="+name, nil)
	if err != nil {
		return "", err
	}
	req.Header.Set("X-Auth-Token", token)
	resp, err := c.Do(ctx, req, 20*time.Second)
	if err != nil {
		return "", err
	}
	// {"<kind>": [{"id": ...}], "links": {...}}
	var doc map[string]json.RawMessage
	var list []struct {
		ID string `json:"id"`
	}
	if resp.Status != http.StatusOK || json.Unmarshal([]byte(resp.Body), &doc) != nil ||
		json.Unmarshal(doc[kind], &list) != nil || len(list) != 1 {
		return "", fmt.Errorf("%s %s: status %d, %d bytes", kind, name, resp.Status, len(resp.Body))
	}
	return list[0].ID, nil
}

// Acked are the names of what attempts created whose creation was
// acknowledged (201), whether or not a read after it answered.
func Acked(attempts []Attempt) []string {
	var names []string
	for _, a := range attempts {
		if a.Written && a.Key != "" {
			names = append(names, a.Key)
		}
	}
	return names
}

// ReadBack lists the projects whose name starts with prefix through url
// (keystone's inexact filter, one request) and returns those of want it
// does not find: acknowledged writes the database lost.
func (c *Client) ReadBack(ctx context.Context, url, token, prefix string, want []string) (lost []string, err error) {
	return c.missing(ctx, url+"/v3/projects?name__startswith="+prefix+"-", token, "projects", want)
}

// missing lists the objects at url (a JSON document whose key is a list
// of objects with a name) and returns the names of want it does not have.
func (c *Client) missing(ctx context.Context, url, token, key string, want []string) (lost []string, err error) {
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("X-Auth-Token", token)
	// Every object the writers made, up to 64 MiB (placement lists each
	// resource provider in about 400 bytes, and they add up over the
	// faults: the first bench run met the 1 MiB of an ordinary answer).
	resp, err := c.DoLimit(ctx, req, 60*time.Second, 64<<20)
	if err != nil {
		return nil, fmt.Errorf("reading back: %w", err)
	}
	if resp.Status != http.StatusOK {
		return nil, fmt.Errorf("reading back: status %d", resp.Status)
	}
	var doc map[string]json.RawMessage
	var list []struct {
		Name string `json:"name"`
	}
	if err := json.Unmarshal([]byte(resp.Body), &doc); err != nil {
		return nil, fmt.Errorf("reading back (%d bytes): %w", len(resp.Body), err)
	}
	if err := json.Unmarshal(doc[key], &list); err != nil {
		return nil, fmt.Errorf("reading back (%d bytes, %q): %w", len(resp.Body), key, err)
	}
	have := map[string]bool{}
	for _, p := range list {
		have[p.Name] = true
	}
	for _, w := range want {
		if !have[w] {
			lost = append(lost, w)
		}
	}
	return lost, nil
}
