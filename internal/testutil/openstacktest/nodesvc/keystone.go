package nodesvc

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/stackha/stackha/test/sysnode"
)

// ServiceUsers makes, in keystone k of the lab, the project "service" and
// one user per name (ServicePassword), each with role admin on it: what the
// install guides make for keystonemiddleware's auth_token. auth_token
// needs no catalog endpoint (it talks to auth_url), so none is made.
func ServiceUsers(ctx context.Context, l *sysnode.Lab, k sysnode.Keystone, names ...string) error {
	token, err := k.IssueToken(ctx, l)
	if err != nil {
		return err
	}
	c := l.HTTPClient(30 * time.Second)
	call := func(method, path string, body any, want int) (map[string]any, error) {
		var rd io.Reader
		if body != nil {
			b, _ := json.Marshal(body)
			rd = bytes.NewReader(b)
		}
		req, err := http.NewRequestWithContext(ctx, method, k.URL()+path, rd)
		if err != nil {
			return nil, err
		}
		req.Header.Set("X-Auth-Token", token)
		req.Header.Set("Content-Type", "application/json")
		resp, err := c.Do(req)
		if err != nil {
			return nil, err
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		if resp.StatusCode != want {
			return nil, fmt.Errorf("%s %s: %s, want %d: %s", method, path, resp.Status, want, strings.TrimSpace(string(b)))
		}
		var doc map[string]any
		if len(b) > 0 {
			if err := json.Unmarshal(b, &doc); err != nil {
				return nil, fmt.Errorf("%s %s: %w", method, path, err)
			}
		}
		return doc, nil
	}
	id := func(doc map[string]any, key string) string {
		if m, ok := doc[key].(map[string]any); ok {
			s, _ := m["id"].(string)
			return s
		}
		if l, ok := doc[key].([]any); ok && len(l) == 1 {
			if m, ok := l[0].(map[string]any); ok {
				s, _ := m["id"].(string)
				return s
			}
		}
		return ""
	}
	roles, err := call(http.MethodGet, "/roles?name=admin", nil, http.StatusOK)
	if err != nil {
		return err
	}
	role := id(roles, "roles")
	p, err := call(http.MethodPost, "/projects", map[string]any{"project": map[string]any{
		"name": "service", "domain_id": "default", "description": "service users"}}, http.StatusCreated)
	if err != nil {
		return err
	}
	project := id(p, "project")
	if role == "" || project == "" {
		return fmt.Errorf("keystone: role admin %q, project service %q", role, project)
	}
	for _, n := range names {
		u, err := call(http.MethodPost, "/users", map[string]any{"user": map[string]any{
			"name": n, "domain_id": "default", "password": ServicePassword, "default_project_id": project}}, http.StatusCreated)
		if err != nil {
			return err
		}
		if _, err := call(http.MethodPut, fmt.Sprintf("/projects/%s/users/%s/roles/%s", project, id(u, "user"), role), nil,
			http.StatusNoContent); err != nil {
			return err
		}
	}
	return nil
}
