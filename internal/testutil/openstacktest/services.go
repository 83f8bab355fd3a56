package openstacktest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/stackha/stackha/internal/testutil"
	"github.com/stackha/stackha/ocf"
)

// Service is an OpenStack API service prepared in a directory, run by its
// agent in run_mode=process.
type Service struct {
	Agent                         string
	User                          string
	Binary                        string // the agent's default program
	Dir, Config, PIDFile, LogFile string
	Port                          int
	BindHost                      string // "" for a service that takes its address from Config
	Credentials                   string // root-only key=value file of the admin, or ""
	// ExtraArgs, under uwsgi: fewer workers than the package's ini asks
	// (8 or 16, each loading the application: too many for a test
	// machine's cores), and uwsgi's log in the service's directory
	// instead of the package's /var/log/<service>.
	ExtraArgs string
}

// Params are the agent parameters that run this service.
func (s *Service) Params() map[string]string {
	p := map[string]string{
		"run_mode": "process", "config": s.Config, "port": strconv.Itoa(s.Port),
		"user": s.User, "pidfile": s.PIDFile, "log_file": s.LogFile,
	}
	if s.BindHost != "" {
		p["bind_host"] = s.BindHost
	}
	if s.Credentials != "" {
		p["credentials"] = s.Credentials
	}
	if s.ExtraArgs != "" {
		p["extra_args"] = s.ExtraArgs
	}
	return p
}

// uwsgiArgs are the ExtraArgs of a service the agent runs under uwsgi
// (its default binary is uwsgi) with its files in dir, in workers processes
// of threads threads each; "" for another program.
func uwsgiArgs(binary, dir string, workers, threads int) string {
	if !strings.HasPrefix(filepath.Base(binary), "uwsgi") {
		return ""
	}
	return fmt.Sprintf("--processes %d --threads %d --logto %s", workers, threads, filepath.Join(dir, "uwsgi.log"))
}

// Stop ends whatever of this service still runs (see StopSession).
func (s *Service) Stop() { StopSession(s.PIDFile, s.Binary) }

// spec says how to prepare one service.
type spec struct {
	agent, user, confName string
	bindHost              string
	tool                  string   // a setup program that must be installed, or ""
	dirs                  []string // made under the service's directory
	conf                  func(dir string, port int) string
	setup                 func(config string) [][]string // commands run once conf is written
}

// setupService writes the configuration file in dir/<agent>, runs the setup
// commands (a database migration), and hands the directory to the user.
func setupService(ctx context.Context, dir string, sp spec) (*Service, error) {
	if err := needRoot(sp.agent); err != nil {
		return nil, err
	}
	binary, err := DefaultBinary(sp.agent)
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(binary); err != nil {
		return nil, ocf.Installed("%s is not installed (%v)", sp.agent, err)
	}
	if sp.tool != "" {
		if _, err := exec.LookPath(sp.tool); err != nil {
			return nil, ocf.Installed("%s is not installed (%s: %v)", sp.agent, sp.tool, err)
		}
	}
	sdir := filepath.Join(dir, sp.agent)
	for _, d := range append([]string{"lock"}, sp.dirs...) {
		if err := os.MkdirAll(filepath.Join(sdir, d), 0o750); err != nil {
			return nil, err
		}
	}
	port, err := testutil.FreePort()
	if err != nil {
		return nil, err
	}
	s := &Service{Agent: sp.agent, User: sp.user, Binary: binary, Dir: sdir, Config: filepath.Join(sdir, sp.confName),
		Port: port, BindHost: sp.bindHost, ExtraArgs: uwsgiArgs(binary, sdir, 2, 4),
		PIDFile: filepath.Join(dir, "run", sp.agent+".pid"), LogFile: filepath.Join(dir, "log", sp.agent+".log")}
	if err := os.WriteFile(s.Config, []byte(sp.conf(sdir, port)), 0o640); err != nil {
		return nil, err
	}
	if sp.setup != nil {
		for _, argv := range sp.setup(s.Config) {
			if err := run(ctx, argv...); err != nil {
				return nil, err
			}
		}
	}
	if err := chownTree(sdir, sp.user); err != nil {
		return nil, err
	}
	if err := openPath(sdir); err != nil {
		return nil, err
	}
	return s, nil
}

// authtoken is the keystonemiddleware section that makes a service check
// tokens with k (the admin as its service user).
func authtoken(k *Keystone) string {
	return fmt.Sprintf("[keystone_authtoken]\nwww_authenticate_uri = http://127.0.0.1:%[1]d/v3\n"+
		"auth_url = http://127.0.0.1:%[1]d/v3\nauth_type = password\nusername = admin\npassword = %[2]s\nproject_name = admin\n"+
		"user_domain_name = Default\nproject_domain_name = Default\n", k.Port, k.Password)
}

// SetupGlance prepares a glance-api (sqlite, file store, `glance-manage
// db_sync`, one worker) on a free port of 127.0.0.1, without keystone (its
// default paste pipeline takes no token).
func SetupGlance(ctx context.Context, dir string) (*Service, error) {
	return setupService(ctx, dir, spec{agent: "glance-api", user: "glance", confName: "glance-api.conf", tool: "glance-manage",
		dirs: []string{"images", "staging", "tasks"},
		conf: func(d string, port int) string {
			return fmt.Sprintf("[DEFAULT]\nbind_host = 127.0.0.1\nbind_port = %[2]d\nworkers = 1\nuse_stderr = true\n"+
				"enabled_backends = fs:file\n[database]\nconnection = sqlite:///%[1]s/glance.db\n[glance_store]\ndefault_backend = fs\n"+
				"[fs]\nfilesystem_store_datadir = %[1]s/images\n[os_glance_staging_store]\nfilesystem_store_datadir = %[1]s/staging\n"+
				"[os_glance_tasks_store]\nfilesystem_store_datadir = %[1]s/tasks\n[oslo_concurrency]\nlock_path = %[1]s/lock\n"+
				"[paste_deploy]\nconfig_file = /etc/glance/glance-api-paste.ini\n", d, port)
		},
		setup: func(config string) [][]string {
			return [][]string{{"glance-manage", "--config-file", config, "db_sync"}}
		},
	})
}

// SetupPlacement prepares a placement-api (sqlite, `placement-manage db
// sync`) on a free port of 127.0.0.1. With k, placement checks tokens with
// that keystone; without, it takes none (noauth2).
func SetupPlacement(ctx context.Context, dir string, k *Keystone) (*Service, error) {
	return setupService(ctx, dir, spec{agent: "placement-api", user: "placement", confName: "placement.conf",
		tool: "placement-manage", bindHost: "127.0.0.1",
		conf: func(d string, _ int) string {
			conf := fmt.Sprintf("[DEFAULT]\nuse_stderr = true\n[placement_database]\nconnection = sqlite:///%s/placement.db\n", d)
			if k == nil {
				return conf + "[api]\nauth_strategy = noauth2\n"
			}
			return conf + "[api]\nauth_strategy = keystone\n" + authtoken(k)
		},
		// Then the traits sync each lazy-apps worker runs as it loads, once
		// (as nodesvc does): two workers doing it at once on SQLite can
		// leave one unloaded, answering 500 (TestPlacementReal failed so
		// in a go test ./... run).
		setup: func(config string) [][]string {
			return [][]string{{"placement-manage", "--config-file", config, "db", "sync"},
				{"/usr/bin/python3", "-c", "from oslo_config import cfg; from placement import conf, db_api, deploy\n" +
					"c = cfg.ConfigOpts(); conf.register_opts(c); c([], project='placement', default_config_files=['" + config + "'])\n" +
					"db_api.configure(c); deploy.update_database(c)"}}
		},
	})
}

// SetupCinder prepares a cinder-api (sqlite, `cinder-manage db sync`, one
// worker) on a free port of 127.0.0.1; with k it checks tokens with that
// keystone, else it takes none (noauth).
func SetupCinder(ctx context.Context, dir string, k *Keystone) (*Service, error) {
	return setupService(ctx, dir, spec{agent: "cinder-api", user: "cinder", confName: "cinder.conf", tool: "cinder-manage", bindHost: "127.0.0.1",
		conf: func(d string, port int) string {
			conf := fmt.Sprintf("[DEFAULT]\nuse_stderr = true\nosapi_volume_listen = 127.0.0.1\nosapi_volume_listen_port = %d\n"+
				"osapi_volume_workers = 1\nstate_path = %[2]s\n", port, d)
			if k == nil {
				conf += "auth_strategy = noauth\n"
			} else {
				conf += "auth_strategy = keystone\n" + authtoken(k)
			}
			return conf + fmt.Sprintf("[database]\nconnection = sqlite:///%[1]s/cinder.db\n[oslo_concurrency]\nlock_path = %[1]s/lock\n", d)
		},
		setup: func(config string) [][]string {
			return [][]string{{"cinder-manage", "--config-file", config, "db", "sync"}}
		},
	})
}

// SetupHeat prepares a heat-api on a free port of 127.0.0.1: it answers its
// version document without a database or a heat-engine.
func SetupHeat(ctx context.Context, dir string) (*Service, error) {
	return setupService(ctx, dir, spec{agent: "heat-api", user: "heat", confName: "heat.conf", bindHost: "127.0.0.1",
		conf: func(d string, port int) string {
			return fmt.Sprintf("[DEFAULT]\nuse_stderr = true\n[heat_api]\nbind_host = 127.0.0.1\nbind_port = %d\nworkers = 1\n"+
				"[database]\nconnection = sqlite:///%s/heat.db\n", port, d)
		},
	})
}
