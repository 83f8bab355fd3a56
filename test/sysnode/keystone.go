package sysnode

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"strings"
	"time"
)

// Keystone configures Debian 12's keystone unit (keystone.service: uwsgi
// from /etc/init.d/keystone, User=keystone) in a node.
type Keystone struct {
	// Addr is the only address keystone listens on (the node's).
	Addr netip.Addr
	// Password is the admin user's (KeystonePassword when empty).
	Password string
	// Processes, when above 0, sets uwsgi's processes through an ini of
	// the node's own read after Debian's (whose processes = 8 would
	// override a --processes given before it). 0 keeps Debian's 8.
	Processes int
}

// KeystonePort is keystone's port.
const KeystonePort = 5000

// KeystonePassword is the admin's password unless Keystone says otherwise.
const KeystonePassword = "sysnode-admin"

// Node-local keystone files.
const (
	keystoneConf   = "/etc/keystone/keystone.conf"
	keystoneIni    = "/etc/keystone/keystone-uwsgi.ini" // Debian's, as shipped
	keystoneOwnIni = "/etc/keystone/sysnode-uwsgi.ini"
	keystoneDB     = "/var/lib/keystone/keystone.db"
)

func (k Keystone) password() string {
	if k.Password == "" {
		return KeystonePassword
	}
	return k.Password
}

// URL is keystone's v3 endpoint on the node.
func (k Keystone) URL() string { return fmt.Sprintf("http://%s:%d/v3", k.Addr, KeystonePort) }

// Files are the node's own keystone files, for Spec.Files:
//   - /etc/keystone/keystone.conf: sqlite in the node's /var/lib/keystone
//     (its overlay), fernet tokens with the key repositories in
//     /etc/keystone, 4 bcrypt rounds (KEYSTONE-NOTES.md: a token then costs
//     about 0.14 s of server CPU instead of 0.45 s);
//   - /etc/default/keystone, which the init script sources after building
//     its own DAEMON_ARGS: the same arguments but --http-socket on the
//     node's address only (as shipped it binds every address, and haproxy
//     could not bind the VIP's port 5000 on the node), and the node's own
//     ini after Debian's when Processes is set.
//
// Debian's ini asks for an AppArmor profile (plugins = python3,apparmor;
// apparmor-profile = keystone), which this kernel lacks. Nothing overrides
// it: uwsgi's apparmor plugin changes profile only before it drops
// privileges (apply_apparmor_before_privileges_drop), that is when it
// starts as root; run as root by hand it stops there with
// "aa_change_profile(): Invalid argument". The unit starts it as the
// keystone user (User=keystone), so the hook never runs and uwsgi runs as
// shipped (TestKeystone checks that its log has no AppArmor line).
func (k Keystone) Files() map[string]File {
	args := fmt.Sprintf("--http-socket %s:%d --ini %s", k.Addr, KeystonePort, keystoneIni)
	files := map[string]File{
		keystoneConf: {Mode: 0o640, Owner: "root:keystone", Data: []byte(`# stackha sysnode: this node's own keystone
[DEFAULT]
log_dir = /var/log/keystone
[database]
connection = sqlite:///` + keystoneDB + `
[token]
provider = fernet
[fernet_tokens]
key_repository = /etc/keystone/fernet-keys/
[fernet_receipts]
key_repository = /etc/keystone/fernet-keys/
[credential]
key_repository = /etc/keystone/credential-keys/
[identity]
password_hash_rounds = 4
[oslo_policy]
policy_dirs = /etc/keystone/policy.d
`)},
	}
	if k.Processes > 0 {
		args += " --ini " + keystoneOwnIni
		files[keystoneOwnIni] = File{Data: []byte(fmt.Sprintf(
			"# stackha sysnode: read after Debian's keystone-uwsgi.ini (DAEMON_ARGS in /etc/default/keystone)\n[uwsgi]\nprocesses = %d\n", k.Processes))}
	}
	files["/etc/default/keystone"] = File{Data: []byte(fmt.Sprintf(
		"# stackha sysnode: keystone on this node's address only\nDAEMON_ARGS=\"%s\"\n", args))}
	return files
}

// Setup makes keystone's database and keys in the running node, as the
// keystone user (as the unit runs): db_sync, fernet_setup,
// credential_setup and bootstrap (the admin user, project and role, and
// the identity endpoints on the node's address).
func (k Keystone) Setup(ctx context.Context, n *Node) error {
	if _, err := n.Run(ctx, "install", "-d", "-o", "keystone", "-g", "keystone", "-m", "0700",
		"/etc/keystone/fernet-keys", "/etc/keystone/credential-keys"); err != nil {
		return err
	}
	km := func(args ...string) error {
		_, err := n.RunAs(ctx, "keystone", append([]string{"keystone-manage", "--config-file", keystoneConf}, args...)...)
		return err
	}
	url := k.URL() + "/"
	for _, args := range [][]string{
		{"db_sync"},
		{"fernet_setup", "--keystone-user", "keystone", "--keystone-group", "keystone"},
		{"credential_setup", "--keystone-user", "keystone", "--keystone-group", "keystone"},
		{"bootstrap", "--bootstrap-password", k.password(), "--bootstrap-username", "admin",
			"--bootstrap-project-name", "admin", "--bootstrap-role-name", "admin",
			"--bootstrap-service-name", "keystone", "--bootstrap-region-id", "RegionOne",
			"--bootstrap-public-url", url, "--bootstrap-internal-url", url, "--bootstrap-admin-url", url},
	} {
		if err := km(args...); err != nil {
			return fmt.Errorf("keystone on %s: %w", n.Name, err)
		}
	}
	return nil
}

// WaitVersion polls GET <URL> (the v3 version document) from the lab's
// client every 50 ms until it answers 200, within limit, and returns how
// long that took.
func (k Keystone) WaitVersion(ctx context.Context, l *Lab, limit time.Duration) (time.Duration, error) {
	t0 := time.Now()
	c := l.HTTPClient(2 * time.Second)
	var last string
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, k.URL(), nil)
		resp, err := c.Do(req)
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return time.Since(t0), nil
			}
			last = resp.Status
		} else {
			last = err.Error()
		}
		if time.Since(t0) > limit {
			return 0, fmt.Errorf("GET %s: no 200 after %s (last: %s)", k.URL(), limit, last)
		}
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// TokenRequest is the body of POST /v3/auth/tokens for admin's token
// (password method, scoped to project admin).
func (k Keystone) TokenRequest() []byte {
	body, _ := json.Marshal(map[string]any{"auth": map[string]any{
		"identity": map[string]any{"methods": []string{"password"}, "password": map[string]any{
			"user": map[string]any{"name": "admin", "domain": map[string]string{"id": "default"}, "password": k.password()}}},
		"scope": map[string]any{"project": map[string]any{"name": "admin", "domain": map[string]string{"id": "default"}}},
	}})
	return body
}

// IssueToken asks for a token (password method, admin scoped to project
// admin) from the lab's client, then validates it; it returns the token.
func (k Keystone) IssueToken(ctx context.Context, l *Lab) (string, error) {
	body := k.TokenRequest()
	c := l.HTTPClient(30 * time.Second)
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, k.URL()+"/auth/tokens", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		return "", err
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	token := resp.Header.Get("X-Subject-Token")
	if resp.StatusCode != http.StatusCreated || token == "" {
		return "", fmt.Errorf("POST %s/auth/tokens: %s, want 201 with X-Subject-Token: %s", k.URL(), resp.Status, strings.TrimSpace(string(b)))
	}
	if err := k.Validate(ctx, l, token); err != nil {
		return "", err
	}
	return token, nil
}

// Validate checks a token with this keystone (GET /v3/auth/tokens, the
// token as both X-Auth-Token and X-Subject-Token), from the lab's client.
func (k Keystone) Validate(ctx context.Context, l *Lab, token string) error {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, k.URL()+"/auth/tokens", nil)
	req.Header.Set("X-Auth-Token", token)
	req.Header.Set("X-Subject-Token", token)
	resp, err := l.HTTPClient(30 * time.Second).Do(req)
	if err != nil {
		return err
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("validating a token with %s: %s, want 200: %s", k.URL(), resp.Status, strings.TrimSpace(string(b)))
	}
	return nil
}
