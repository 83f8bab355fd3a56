package openstack

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/stackha/stackha/internal/sandbox"
	"github.com/stackha/stackha/ocf"
)

// sandboxes are the services Debian's packages can run alone, on loopback,
// without a cloud around them: the conformance test drives these agents
// with ocf-tester.
var sandboxes = map[string]func(ctx context.Context, dir string) (*sandbox.Sandbox, error){
	"keystone":      KeystoneSandbox,
	"glance-api":    GlanceSandbox,
	"placement-api": PlacementSandbox,
	"cinder-api":    serviceSandbox(func(ctx context.Context, dir string) (*Service, error) { return SetupCinder(ctx, dir, nil) }),
	"heat-api":      serviceSandbox(SetupHeat),
}

// FreePort returns a TCP port on 127.0.0.1 that nothing listens on now.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// run runs a setup command and returns its output in the error.
func run(ctx context.Context, argv ...string) error {
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C.UTF-8", "HOME=/root"}
	out, err := cmd.CombinedOutput()
	if err != nil {
		lines := strings.Split(strings.TrimSpace(string(out)), "\n")
		if len(lines) > 8 {
			lines = lines[len(lines)-8:]
		}
		return fmt.Errorf("%s: %w: %s", strings.Join(argv[:min(len(argv), 4)], " "), err, strings.Join(lines, " | "))
	}
	return nil
}

// openPath lets the service users reach dir: every directory from dir up to
// (not including) the system's temporary directory gets search permission
// for others. Test directories are created mode 0700.
func openPath(dir string) error {
	tmp := filepath.Clean(os.TempDir())
	for d := filepath.Clean(dir); strings.HasPrefix(d, tmp+"/"); d = filepath.Dir(d) {
		fi, err := os.Stat(d)
		if err != nil {
			return err
		}
		if fi.Mode().Perm()&0o001 == 0 {
			if err := os.Chmod(d, fi.Mode().Perm()|0o011); err != nil {
				return err
			}
		}
	}
	return nil
}

func chownTree(root, name string) error {
	u, err := user.Lookup(name)
	if err != nil {
		return err
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, uid, gid)
	})
}

func copyTree(src, dst string) error {
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		fi, err := d.Info()
		if err != nil {
			return err
		}
		if d.IsDir() {
			return os.MkdirAll(target, fi.Mode().Perm())
		}
		in, err := os.Open(p)
		if err != nil {
			return err
		}
		defer in.Close()
		out, err := os.OpenFile(target, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, fi.Mode().Perm())
		if err != nil {
			return err
		}
		if _, err := io.Copy(out, in); err != nil {
			out.Close()
			return err
		}
		return out.Close()
	})
}

// Keystone is a keystone prepared in a directory: configuration, sqlite
// database, fernet and credential keys, an admin user. Tests run it with
// the agent in run_mode=process.
type Keystone struct {
	Dir         string
	Config      string
	Port        int
	Password    string // the admin password, also in Credentials
	Credentials string // root-only key=value file with the admin's credentials
	PIDFile     string
	LogFile     string
}

// Params are the agent parameters that run this keystone.
func (k *Keystone) Params() map[string]string {
	return map[string]string{
		"run_mode": "process", "config": k.Config, "port": strconv.Itoa(k.Port), "bind_host": "127.0.0.1",
		"user": "keystone", "pidfile": k.PIDFile, "log_file": k.LogFile, "credentials": k.Credentials,
	}
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

func newPassword() string {
	b := make([]byte, 12)
	rand.Read(b)
	return "sho-" + hex.EncodeToString(b)
}

// RemoveTemplates deletes the set-ups shared within this process (call it
// from TestMain).
func RemoveTemplates() {
	if keystoneTemplate.dir != "" {
		os.RemoveAll(keystoneTemplate.dir)
	}
}

func lastLines(b []byte, n int) string {
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " | ")
}

// SetupKeystone prepares a keystone in dir on a free port of 127.0.0.1.
// Root only. With shared, the first call in a process sets up a template
// (about 20 s) and every call copies it; without, dir gets a set-up of its
// own.
func SetupKeystone(ctx context.Context, dir string, shared bool) (*Keystone, error) {
	if os.Geteuid() != 0 {
		return nil, ocf.Perm("a keystone sandbox needs root")
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
	k := &Keystone{Dir: kdir, Config: filepath.Join(kdir, "keystone.conf"), Password: password,
		PIDFile: filepath.Join(dir, "run", "keystone.pid"), LogFile: filepath.Join(dir, "log", "keystone.log"),
		Credentials: filepath.Join(dir, "admin.rc")}
	if err := os.WriteFile(k.Config, []byte(keystoneConf(kdir)), 0o640); err != nil {
		return nil, err
	}
	if err := chownTree(kdir, "keystone"); err != nil {
		return nil, err
	}
	if err := openPath(kdir); err != nil {
		return nil, err
	}
	var err error
	if k.Port, err = FreePort(); err != nil {
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

// cleanupProcess stops whatever a sandbox's agent left running.
func cleanupProcess(name string, params map[string]string) {
	p, _ := profile(name)
	meta := declare(p)
	prm, err := ocf.NewParams(&meta, params)
	if err != nil {
		return
	}
	c, err := NewConfig(p, prm, "sandbox")
	if err != nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	(&processService{c: c, log: ocf.NewLogger(ocf.LogConfig{Agent: name})}).stop(ctx)
}

// KeystoneSandbox is the keystone agent's Agent.Sandbox.
func KeystoneSandbox(ctx context.Context, dir string) (*sandbox.Sandbox, error) {
	k, err := SetupKeystone(ctx, dir, false)
	if err != nil {
		return nil, err
	}
	params := k.Params()
	return &sandbox.Sandbox{Params: params, Cleanup: func() { cleanupProcess("keystone", params) }}, nil
}

// Glance is a glance-api prepared in a directory: sqlite database, file
// store, no keystone (its default paste pipeline takes no token).
type Glance struct {
	Dir, Config, PIDFile, LogFile string
	Port                          int
}

// Params are the agent parameters that run this glance-api.
func (g *Glance) Params() map[string]string {
	return map[string]string{
		"run_mode": "process", "config": g.Config, "port": strconv.Itoa(g.Port),
		"user": "glance", "pidfile": g.PIDFile, "log_file": g.LogFile,
	}
}

func glanceConf(dir string, port int, db string) string {
	return fmt.Sprintf(`[DEFAULT]
bind_host = 127.0.0.1
bind_port = %[2]d
workers = 1
use_stderr = true
enabled_backends = fs:file
[database]
connection = sqlite:///%[3]s
[glance_store]
default_backend = fs
[fs]
filesystem_store_datadir = %[1]s/images
[os_glance_staging_store]
filesystem_store_datadir = %[1]s/staging
[os_glance_tasks_store]
filesystem_store_datadir = %[1]s/tasks
[oslo_concurrency]
lock_path = %[1]s/lock
[paste_deploy]
config_file = /etc/glance/glance-api-paste.ini
`, dir, port, db)
}

// SetupGlance prepares a glance-api in dir on a free port of 127.0.0.1
// (glance-manage db_sync, a few seconds). Root only.
func SetupGlance(ctx context.Context, dir string) (*Glance, error) {
	if os.Geteuid() != 0 {
		return nil, ocf.Perm("a glance sandbox needs root")
	}
	if _, err := exec.LookPath("glance-manage"); err != nil {
		return nil, ocf.Installed("glance is not installed (glance-manage: %v)", err)
	}
	gdir := filepath.Join(dir, "glance")
	for _, d := range []string{"images", "staging", "tasks", "lock"} {
		if err := os.MkdirAll(filepath.Join(gdir, d), 0o750); err != nil {
			return nil, err
		}
	}
	port, err := FreePort()
	if err != nil {
		return nil, err
	}
	g := &Glance{Dir: gdir, Config: filepath.Join(gdir, "glance-api.conf"), Port: port,
		PIDFile: filepath.Join(dir, "run", "glance-api.pid"), LogFile: filepath.Join(dir, "log", "glance-api.log")}
	if err := os.WriteFile(g.Config, []byte(glanceConf(gdir, port, filepath.Join(gdir, "glance.db"))), 0o640); err != nil {
		return nil, err
	}
	if err := run(ctx, "glance-manage", "--config-file", g.Config, "db_sync"); err != nil {
		return nil, err
	}
	if err := chownTree(gdir, "glance"); err != nil {
		return nil, err
	}
	if err := openPath(gdir); err != nil {
		return nil, err
	}
	return g, nil
}

// GlanceSandbox is the glance-api agent's Agent.Sandbox.
func GlanceSandbox(ctx context.Context, dir string) (*sandbox.Sandbox, error) {
	g, err := SetupGlance(ctx, dir)
	if err != nil {
		return nil, err
	}
	params := g.Params()
	return &sandbox.Sandbox{Params: params, Cleanup: func() { cleanupProcess("glance-api", params) }}, nil
}

// Placement is a placement-api prepared in a directory: sqlite database,
// and either no authentication (noauth2) or a keystone to validate tokens
// against.
type Placement struct {
	Dir, Config, PIDFile, LogFile string
	Port                          int
}

// Params are the agent parameters that run this placement-api.
func (pl *Placement) Params() map[string]string {
	return map[string]string{
		"run_mode": "process", "config": pl.Config, "port": strconv.Itoa(pl.Port), "bind_host": "127.0.0.1",
		"user": "placement", "pidfile": pl.PIDFile, "log_file": pl.LogFile,
	}
}

// SetupPlacement prepares a placement-api in dir on a free port of
// 127.0.0.1 (placement-manage db sync, about 2 s). With k, placement checks
// tokens with that keystone (keystonemiddleware, the admin as its service
// user); without, it takes none.
func SetupPlacement(ctx context.Context, dir string, k *Keystone) (*Placement, error) {
	if os.Geteuid() != 0 {
		return nil, ocf.Perm("a placement sandbox needs root")
	}
	if _, err := exec.LookPath("placement-manage"); err != nil {
		return nil, ocf.Installed("placement is not installed (placement-manage: %v)", err)
	}
	pdir := filepath.Join(dir, "placement")
	if err := os.MkdirAll(pdir, 0o750); err != nil {
		return nil, err
	}
	port, err := FreePort()
	if err != nil {
		return nil, err
	}
	pl := &Placement{Dir: pdir, Config: filepath.Join(pdir, "placement.conf"), Port: port,
		PIDFile: filepath.Join(dir, "run", "placement-api.pid"), LogFile: filepath.Join(dir, "log", "placement-api.log")}
	conf := fmt.Sprintf("[DEFAULT]\nuse_stderr = true\n[placement_database]\nconnection = sqlite:///%s/placement.db\n", pdir)
	if k == nil {
		conf += "[api]\nauth_strategy = noauth2\n"
	} else {
		conf += fmt.Sprintf("[api]\nauth_strategy = keystone\n[keystone_authtoken]\nwww_authenticate_uri = http://127.0.0.1:%[1]d/v3\n"+
			"auth_url = http://127.0.0.1:%[1]d/v3\nauth_type = password\nusername = admin\npassword = %[2]s\nproject_name = admin\n"+
			"user_domain_name = Default\nproject_domain_name = Default\n", k.Port, k.Password)
	}
	if err := os.WriteFile(pl.Config, []byte(conf), 0o640); err != nil {
		return nil, err
	}
	if err := run(ctx, "placement-manage", "--config-file", pl.Config, "db", "sync"); err != nil {
		return nil, err
	}
	if err := chownTree(pdir, "placement"); err != nil {
		return nil, err
	}
	if err := openPath(pdir); err != nil {
		return nil, err
	}
	return pl, nil
}

// PlacementSandbox is the placement-api agent's Agent.Sandbox.
func PlacementSandbox(ctx context.Context, dir string) (*sandbox.Sandbox, error) {
	pl, err := SetupPlacement(ctx, dir, nil)
	if err != nil {
		return nil, err
	}
	params := pl.Params()
	return &sandbox.Sandbox{Params: params, Cleanup: func() { cleanupProcess("placement-api", params) }}, nil
}

// Service is an OpenStack API service prepared in a directory by one of
// the Setup functions below.
type Service struct {
	Agent                         string
	Dir, Config, PIDFile, LogFile string
	Port                          int
	User                          string
}

// Params are the agent parameters that run this service.
func (s *Service) Params() map[string]string {
	return map[string]string{
		"run_mode": "process", "config": s.Config, "port": strconv.Itoa(s.Port),
		"user": s.User, "pidfile": s.PIDFile, "log_file": s.LogFile,
	}
}

// authtoken is the keystonemiddleware section that makes a service check
// tokens with k (the admin as its service user).
func authtoken(k *Keystone) string {
	return fmt.Sprintf("[keystone_authtoken]\nwww_authenticate_uri = http://127.0.0.1:%[1]d/v3\n"+
		"auth_url = http://127.0.0.1:%[1]d/v3\nauth_type = password\nusername = admin\npassword = %[2]s\nproject_name = admin\n"+
		"user_domain_name = Default\nproject_domain_name = Default\n", k.Port, k.Password)
}

// setupService writes conf(dir, port) as the agent's configuration file in
// dir/<agent>, runs the commands setup returns for that file (a database
// migration), and hands the directory to user.
func setupService(ctx context.Context, dir, agent, user, confName string, conf func(dir string, port int) string, setup func(config string) [][]string) (*Service, error) {
	if os.Geteuid() != 0 {
		return nil, ocf.Perm("a %s sandbox needs root", agent)
	}
	p, _ := profile(agent)
	if _, err := os.Stat(p.Binary); err != nil {
		return nil, ocf.Installed("%s is not installed (%v)", agent, err)
	}
	sdir := filepath.Join(dir, agent)
	if err := os.MkdirAll(filepath.Join(sdir, "lock"), 0o750); err != nil {
		return nil, err
	}
	port, err := FreePort()
	if err != nil {
		return nil, err
	}
	s := &Service{Agent: agent, Dir: sdir, Config: filepath.Join(sdir, confName), Port: port, User: user,
		PIDFile: filepath.Join(dir, "run", agent+".pid"), LogFile: filepath.Join(dir, "log", agent+".log")}
	if err := os.WriteFile(s.Config, []byte(conf(sdir, port)), 0o640); err != nil {
		return nil, err
	}
	if setup != nil {
		for _, argv := range setup(s.Config) {
			if err := run(ctx, argv...); err != nil {
				return nil, err
			}
		}
	}
	if err := chownTree(sdir, user); err != nil {
		return nil, err
	}
	if err := openPath(sdir); err != nil {
		return nil, err
	}
	return s, nil
}

// SetupCinder prepares a cinder-api (sqlite, `cinder-manage db sync`, one
// worker) on a free port of 127.0.0.1; with k it checks tokens with that
// keystone, else it takes none (noauth).
func SetupCinder(ctx context.Context, dir string, k *Keystone) (*Service, error) {
	return setupService(ctx, dir, "cinder-api", "cinder", "cinder.conf", func(d string, port int) string {
		conf := fmt.Sprintf("[DEFAULT]\nuse_stderr = true\nosapi_volume_listen = 127.0.0.1\nosapi_volume_listen_port = %d\n"+
			"osapi_volume_workers = 1\nstate_path = %[2]s\n", port, d)
		if k == nil {
			conf += "auth_strategy = noauth\n"
		} else {
			conf += "auth_strategy = keystone\n" + authtoken(k)
		}
		return conf + fmt.Sprintf("[database]\nconnection = sqlite:///%[1]s/cinder.db\n[oslo_concurrency]\nlock_path = %[1]s/lock\n", d)
	}, func(config string) [][]string {
		return [][]string{{"cinder-manage", "--config-file", config, "db", "sync"}}
	})
}

// SetupHeat prepares a heat-api on a free port of 127.0.0.1: it answers its
// version document without a database or a heat-engine.
func SetupHeat(ctx context.Context, dir string) (*Service, error) {
	return setupService(ctx, dir, "heat-api", "heat", "heat.conf", func(d string, port int) string {
		return fmt.Sprintf("[DEFAULT]\nuse_stderr = true\n[heat_api]\nbind_host = 127.0.0.1\nbind_port = %d\nworkers = 1\n"+
			"[database]\nconnection = sqlite:///%s/heat.db\n", port, d)
	}, nil)
}

func serviceSandbox(setup func(ctx context.Context, dir string) (*Service, error)) func(ctx context.Context, dir string) (*sandbox.Sandbox, error) {
	return func(ctx context.Context, dir string) (*sandbox.Sandbox, error) {
		s, err := setup(ctx, dir)
		if err != nil {
			return nil, err
		}
		params := s.Params()
		return &sandbox.Sandbox{Params: params, Cleanup: func() { cleanupProcess(s.Agent, params) }}, nil
	}
}
