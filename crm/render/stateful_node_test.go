package render_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stackha/stackha/internal/testutil/require"
)

// onNode runs the rendered openstack-conf.sh as root in a private mount
// namespace where /etc/keystone is an empty tmpfs owned by keystone (as
// Debian's package leaves it), after prepare (shell run there first), and
// returns its output, then the written file's owner, group and mode and its
// text. Nothing outside the namespace changes.
func onNode(t *testing.T, script, prepare string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	sh := `set -e
mount -t tmpfs -o mode=0750,size=1m tmpfs /etc/keystone
chown keystone:keystone /etc/keystone
` + prepare + `
bash "$1" || exit
f=/etc/keystone/keystone.conf.d/50-stackha.conf
stat -c '%U %G %a' "$f" /etc/keystone/keystone.conf.d
cat "$f"`
	out, err := exec.CommandContext(ctx, "unshare", "--mount", "--propagation", "private", "--", "bash", "-c", sh, "sh", script).CombinedOutput()
	return string(out), err
}

// TestOpenstackConfOnNode: openstack-conf.sh, run as root, writes
// keystone's connection string with the password read from its root-only
// file, into /etc/keystone/keystone.conf.d/50-stackha.conf, root:keystone
// 0640; it refuses a password file others can read, a bad password, and a
// conf.d that is a link (keystone owns /etc/keystone and could plant one),
// never printing the password.
func TestOpenstackConfOnNode(t *testing.T) {
	require.Root(t)
	require.Command(t, "unshare", "mount", "getent")
	require.File(t, "/etc/keystone") // the keystone package: its directory and group
	tmp := t.TempDir()
	pwDir := filepath.Join(tmp, "db")
	if err := os.Mkdir(pwDir, 0o700); err != nil {
		t.Fatal(err)
	}
	const password = "Ab3.d_e~f-0123456789xyz"
	pw := filepath.Join(pwDir, "keystone.pw")
	topology := "vip: {address: 203.0.113.10}\nnodes:\n  - {name: ctl-1, address: 203.0.113.11}\n  - {name: ctl-2, address: 203.0.113.12}\n" +
		"services: [{name: keystone}]\ndatabase: {external: db.example, password_dir: " + pwDir + "}\n"
	files, err := renderTopology(t, topology)
	if err != nil {
		t.Fatal(err)
	}
	script := filepath.Join(tmp, "openstack-conf.sh")
	if err := os.WriteFile(script, files["nodes/ctl-1/openstack-conf.sh"], 0o700); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, content string
		mode          os.FileMode
		prepare       string
		want          []string // in the output
		fails         bool
	}{
		{"written", password + "\n", 0o600, "", []string{"root keystone 640\nroot keystone 750\n",
			"[database]\nconnection = mysql+pymysql://keystone:" + password + "@db.example:3306/keystone\n"}, false},
		{"no newline", password, 0o400, "", []string{"keystone:" + password + "@db.example"}, false},
		{"readable by others", password + "\n", 0o644, "", []string{pw + ": want a regular file owned by root, mode 0600 or 0400"}, true},
		{"short password", "short\n", 0o600, "", []string{pw + ": its first line must be a password of 16 to 128"}, true},
		{"password with a quote", "abcdefghijklmnop'q\n", 0o600, "", []string{"its first line must be a password"}, true},
		{"link planted by keystone", password + "\n", 0o600,
			"mkdir /etc/keystone/elsewhere && ln -s elsewhere /etc/keystone/keystone.conf.d",
			[]string{"/etc/keystone/keystone.conf.d is a link"}, true},
		{"packaged file sets connection", password + "\n", 0o600,
			"printf '[database]\\nconnection = sqlite:////var/lib/keystone/keystone.db\\n' > /etc/keystone/keystone.conf && chown root:keystone /etc/keystone/keystone.conf && chmod 0640 /etc/keystone/keystone.conf",
			[]string{"warning: /etc/keystone/keystone.conf sets connection; daemons started with --config-file=/etc/keystone/keystone.conf read it after keystone.conf.d",
				"root keystone 640\n"}, false},
		{"packaged file keystone's", password + "\n", 0o600,
			"printf '[database]\\nconnection = x\\n' > /etc/keystone/keystone.conf && chown keystone /etc/keystone/keystone.conf",
			[]string{"/etc/keystone/keystone.conf not read (want root's regular file that only root may write"}, false},
		{"conf.d owned by keystone", password + "\n", 0o600,
			"mkdir /etc/keystone/keystone.conf.d && chown keystone /etc/keystone/keystone.conf.d",
			[]string{"want owner root and no write access for others"}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := os.WriteFile(pw, []byte(tc.content), 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(pw, tc.mode); err != nil {
				t.Fatal(err)
			}
			out, err := onNode(t, script, tc.prepare)
			if (err != nil) != tc.fails {
				t.Fatalf("failed: %v, want failure %t; output:\n%s", err, tc.fails, out)
			}
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
			if tc.fails && strings.Contains(out, strings.TrimSpace(tc.content)) {
				t.Errorf("a refused run printed the password:\n%s", out)
			}
		})
	}
}

// TestGaleraCheckNotSynced: the rendered sync check answers haproxy's
// request with a complete 503 when it cannot see a synced node (here no
// mariadbd runs), after reading the request.
func TestGaleraCheckNotSynced(t *testing.T) {
	require.Command(t, "bash", "timeout", "cut")
	files, err := renderTopology(t, "vip: {address: 203.0.113.10}\nnodes:\n  - {name: a, address: 203.0.113.11}\n"+
		"  - {name: b, address: 203.0.113.12}\n  - {name: c, address: 203.0.113.13}\ndatabase: {password_dir: /etc/stackha/db}\n")
	if err != nil {
		t.Fatal(err)
	}
	script := filepath.Join(t.TempDir(), "galera-check.sh")
	if err := os.WriteFile(script, files["nodes/a/usr/local/lib/stackha/galera-check.sh"], 0o755); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", script)
	cmd.Stdin = strings.NewReader("GET / HTTP/1.0\r\nUser-Agent: haproxy\r\n\r\n")
	out, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	const body = "Galera node is not synced (wsrep_local_state unknown).\n"
	want := "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\nConnection: close\r\nContent-Length: 55\r\n\r\n" + body
	if len(body) != 55 || string(out) != want {
		t.Errorf("answer %q, want %q", out, want)
	}
}

// TestRabbitPasswordHash: openstack-conf.sh's rmq_hash makes what
// RabbitMQ's rabbit_password_hashing_sha256 checks: base64 of a 4-byte
// salt followed by SHA-256(salt . password), a new salt each time.
func TestRabbitPasswordHash(t *testing.T) {
	require.Command(t, "bash", "od", "sha256sum", "base64", "sed")
	files, err := renderTopology(t, "vip: {address: 203.0.113.10}\nnodes:\n  - {name: a, address: 203.0.113.11}\n"+
		"  - {name: b, address: 203.0.113.12}\n  - {name: c, address: 203.0.113.13}\nservices: [{name: heat-api}]\n"+
		"database: {password_dir: /etc/stackha/db}\nmessaging: {password_file: /etc/stackha/rabbitmq.pw}\n")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?ms)^rmq_hash\(\) \{\n.*?^\}\n`).Find(files["nodes/a/openstack-conf.sh"])
	if m == nil {
		t.Fatal("openstack-conf.sh has no rmq_hash")
	}
	const password = "Ab3.d_e~f-0123456789xyz"
	seen := map[string]bool{}
	for range 3 {
		out, err := exec.Command("bash", "-c", "mq=$1\n"+string(m)+"rmq_hash", "sh", password).Output()
		if err != nil {
			t.Fatal(err)
		}
		raw, err := base64.StdEncoding.DecodeString(string(out))
		if err != nil || len(raw) != 4+sha256.Size {
			t.Fatalf("hash %q: %d bytes, %v; want base64 of %d", out, len(raw), err, 4+sha256.Size)
		}
		sum := sha256.Sum256(append(append([]byte{}, raw[:4]...), password...))
		if !bytes.Equal(raw[4:], sum[:]) {
			t.Errorf("hash %q: not SHA-256(salt . password)", out)
		}
		seen[string(raw[:4])] = true
	}
	if len(seen) < 2 {
		t.Errorf("the same salt three times: %d distinct", len(seen))
	}
}
