package openstacktest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"

	"github.com/stackha/stackha/internal/testutil"
	"github.com/stackha/stackha/ocf"
)

// Keystone is a keystone prepared in a directory: configuration, sqlite
// database, fernet and credential keys, an admin user whose credentials are
// in the root-only file Credentials. Tests run it with the agent in
// run_mode=process.
type Keystone struct {
	Service
	Password string // the admin password, also in Credentials
}

func keystoneConf(dir string) string {
	return fmt.Sprintf(`[DEFAULT]
use_stderr = true
[database]
connection = sqlite:///%[1]s/keystone.db
[token]
provider = fernet
[fernet_tokens]
key_repository = %[1]s/fernet-keys
[fernet_receipts]
key_repository = %[1]s/fernet-keys
[credential]
key_repository = %[1]s/credential-keys
[identity]
password_hash_rounds = 4
`, dir)
}

// A test keystone is one uwsgi worker of one thread. On sqlite, a keystone
// of two workers answers a refused password (keystone writes the failed
// attempt to the user's row) with "database is locked" after sqlite's 5 s
// and a 500 of no bytes, the agent's "EOF", whenever the other worker
// issued the token before: 29 of 30 wrong passwords in a row (two workers
// of one or four threads), none of 6 with one worker of one thread. Threads
// add SQLAlchemy's "SQLite objects created in a thread can only be used in
// that same thread". A production keystone runs on MySQL or Galera.
const keystoneWorkers, keystoneThreads = 1, 1

// keystoneTemplate is set up once per process (about 20 s) and copied for
// every instance a test asks for.
var keystoneTemplate struct {
	once     sync.Once
	dir      string
	password string
	err      error
}

// initKeystone makes a keystone's database, keys and admin user in dir
// (about 20 s), with the admin password given.
func initKeystone(ctx context.Context, dir, password string) error {
	if _, err := exec.LookPath("keystone-manage"); err != nil {
		return ocf.Installed("keystone is not installed (keystone-manage: %v)", err)
	}
	for _, d := range []string{"fernet-keys", "credential-keys"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o700); err != nil {
			return err
		}
	}
	conf := filepath.Join(dir, "keystone.conf")
	if err := os.WriteFile(conf, []byte(keystoneConf(dir)), 0o640); err != nil {
		return err
	}
	// keystone-manage writes the keys as the keystone user
	if err := chownTree(dir, "keystone"); err != nil {
		return err
	}
	if err := openPath(dir); err != nil {
		return err
	}
	km := []string{"keystone-manage", "--config-file", conf}
	for _, s := range [][]string{
		append(km, "db_sync"),
		append(km, "fernet_setup", "--keystone-user", "keystone", "--keystone-group", "keystone"),
		append(km, "credential_setup", "--keystone-user", "keystone", "--keystone-group", "keystone"),
	} {
		if err := run(ctx, s...); err != nil {
			return err
		}
	}
	// The password reaches keystone-manage in the environment of this one
	// setup command (OS_BOOTSTRAP_PASSWORD), not on its command line.
	boot := exec.CommandContext(ctx, "keystone-manage", "--config-file", conf, "bootstrap",
		"--bootstrap-username", "admin", "--bootstrap-project-name", "admin",
		"--bootstrap-role-name", "admin", "--bootstrap-service-name", "keystone",
		"--bootstrap-region-id", "RegionOne",
		"--bootstrap-public-url", "http://127.0.0.1:5000/v3/",
		"--bootstrap-internal-url", "http://127.0.0.1:5000/v3/",
		"--bootstrap-admin-url", "http://127.0.0.1:5000/v3/")
	boot.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C.UTF-8", "HOME=/root", "OS_BOOTSTRAP_PASSWORD=" + password}
	if out, err := boot.CombinedOutput(); err != nil {
		return fmt.Errorf("keystone-manage bootstrap: %w: %s", err, lastLines(out, 8))
	}
	return nil
}

// RemoveTemplates deletes the set-ups shared within this process (call it
// from TestMain).
func RemoveTemplates() {
	if keystoneTemplate.dir != "" {
		os.RemoveAll(keystoneTemplate.dir)
	}
}

// SetupKeystone prepares a keystone in dir on a free port of 127.0.0.1.
// Root only. With shared, the first call in a process sets up a template
// (about 20 s) and every call copies it; without, dir gets a set-up of its
// own.
func SetupKeystone(ctx context.Context, dir string, shared bool) (*Keystone, error) {
	if err := needRoot("keystone"); err != nil {
		return nil, err
	}
	kdir := filepath.Join(dir, "keystone")
	if err := os.MkdirAll(kdir, 0o750); err != nil {
		return nil, err
	}
	var password string
	if shared {
		t := &keystoneTemplate
		t.once.Do(func() {
			t.password = newPassword()
			t.dir, t.err = os.MkdirTemp("", "sho-keystone-template-")
			if t.err == nil {
				t.err = initKeystone(ctx, t.dir, t.password)
			}
		})
		if t.err != nil {
			return nil, fmt.Errorf("keystone template: %w", t.err)
		}
		password = t.password
		for _, d := range []string{"fernet-keys", "credential-keys", "keystone.db"} {
			if err := copyTree(filepath.Join(t.dir, d), filepath.Join(kdir, d)); err != nil {
				return nil, err
			}
		}
	} else {
		password = newPassword()
		if err := initKeystone(ctx, kdir, password); err != nil {
			return nil, err
		}
	}
	binary, err := DefaultBinary("keystone")
	if err != nil {
		return nil, err
	}
	k := &Keystone{Password: password, Service: Service{Agent: "keystone", User: "keystone", Binary: binary,
		Dir: kdir, Config: filepath.Join(kdir, "keystone.conf"), BindHost: "127.0.0.1", ExtraArgs: uwsgiArgs(binary, kdir, keystoneWorkers, keystoneThreads),
		PIDFile: filepath.Join(dir, "run", "keystone.pid"), LogFile: filepath.Join(dir, "log", "keystone.log"),
		Credentials: filepath.Join(dir, "admin.rc")}}
	if err := os.WriteFile(k.Config, []byte(keystoneConf(kdir)), 0o640); err != nil {
		return nil, err
	}
	if err := chownTree(kdir, "keystone"); err != nil {
		return nil, err
	}
	if err := openPath(kdir); err != nil {
		return nil, err
	}
	if k.Port, err = testutil.FreePort(); err != nil {
		return nil, err
	}
	// the catalog names keystone's own port (keystonemiddleware in other
	// services validates tokens at the catalog's internal endpoint)
	if err := run(ctx, "sqlite3", filepath.Join(kdir, "keystone.db"),
		fmt.Sprintf("UPDATE endpoint SET url = replace(url, '127.0.0.1:5000', '127.0.0.1:%d');", k.Port)); err != nil {
		return nil, err
	}
	if err := chownTree(kdir, "keystone"); err != nil {
		return nil, err
	}
	rc := fmt.Sprintf("# admin of the test keystone\nexport OS_AUTH_URL=http://127.0.0.1:%d/v3\nexport OS_USERNAME=admin\n"+
		"export OS_PASSWORD='%s'\nexport OS_PROJECT_NAME=admin\nexport OS_USER_DOMAIN_NAME=Default\nexport OS_PROJECT_DOMAIN_NAME=Default\n",
		k.Port, password)
	if err := os.WriteFile(k.Credentials, []byte(rc), 0o600); err != nil {
		return nil, err
	}
	return k, nil
}
