package harness

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/stackha/stackha/test/sysnode"
)

// The stateful tier (Options.Stateful, issue 24): MariaDB Galera and
// RabbitMQ from Debian 12 on three systemd nodes, run by resource-agents'
// own agents (ocf:heartbeat:galera, ocf:heartbeat:rabbitmq-cluster) as
// `stackha render` configures them (its database: and messaging:
// sections), keystone on Galera through haproxy's mysql listener on the
// VIP, and keystone's keys made on the first node and copied to the others
// with `stackha keys pack | stackha keys unpack`: no shared sqlite, no
// shared key directory. Each node holds its own copy of everything (its
// overlay); BaseDir carries only the agents' binary and render's output.

// GaleraResource and RabbitMQResource are the primitives render writes.
const (
	GaleraResource   = "galera"
	RabbitMQResource = "rabbitmq"
)

// passwordDir and mqPasswordFile are where each node holds the passwords
// (root-only files, as render's topology says).
const (
	passwordDir    = "/etc/stackha/db"
	mqPasswordFile = "/etc/stackha/rabbitmq.pw"
)

// StatefulLimit bounds the bring-up of the stateful tier and its settling
// after a fault: Galera's start on every node (each runs mysqld
// --wsrep-recover for its last commit), the bootstrap node's promotion,
// then each joiner's state transfer (rsync) and promotion.
const StatefulLimit = 240 * time.Second

// secrets are the stateful tier's passwords, made for each cluster.
type secrets struct {
	db map[string]string // project -> its database user's password
	mq string            // the RabbitMQ user's
	// service is the service users' keystone password (heat's).
	service string
	cookie  string // the Erlang cookie every RabbitMQ node shares
}

// projects are the database users the harness's stateful cluster needs:
// keystone's and each API service's project.
func (c *Cluster) projects() []string {
	ps := []string{"keystone"}
	for _, s := range c.opts.Services {
		if sv, ok := apiServices[s]; ok && !slices.Contains(ps, sv.user) {
			ps = append(ps, sv.user)
		}
	}
	return ps
}

// password is 32 random letters and digits (render accepts 16 to 128 of
// A-Z a-z 0-9 . _ ~ -).
func password() (string, error) {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b), nil
}

func (c *Cluster) makeSecrets(context.Context) error {
	s := secrets{db: map[string]string{}}
	var err error
	for _, p := range c.projects() {
		if s.db[p], err = password(); err != nil {
			return err
		}
	}
	if s.mq, err = password(); err != nil {
		return err
	}
	if s.cookie, err = password(); err != nil {
		return err
	}
	if s.service, err = password(); err != nil {
		return err
	}
	c.secrets = s
	return nil
}

// statefulTopology is the topology's database: and messaging: sections:
// both on the controllers, the passwords in each node's root-only files,
// render's defaults otherwise (monitors every 10 s: each rabbitmq monitor
// starts rabbitmqctl, an Erlang VM, which three nodes on two cores feel).
func statefulTopology() string {
	return fmt.Sprintf("database:\n  password_dir: %s\nmessaging:\n  password_file: %s\n", passwordDir, mqPasswordFile)
}

// statefulFiles are node n's own files for the stateful tier: its
// passwords (root-only), RabbitMQ's Erlang cookie (the same on every node,
// the rabbitmq user's, 0400), and render's files outside /etc (the Galera
// sync check's script, the key timers' script on the first node).
func (c *Cluster) statefulFiles(n *Node, out string, files map[string]sysnode.File) error {
	for p, pw := range c.secrets.db {
		files[filepath.Join(passwordDir, p+".pw")] = sysnode.File{Data: []byte(pw + "\n"), Mode: 0o600}
	}
	files[mqPasswordFile] = sysnode.File{Data: []byte(c.secrets.mq + "\n"), Mode: 0o600}
	files["/var/lib/rabbitmq/.erlang.cookie"] = sysnode.File{Data: []byte(c.secrets.cookie), Mode: 0o400, Owner: "rabbitmq:rabbitmq"}
	if c.Heat() {
		if err := c.heatFiles(files); err != nil {
			return err
		}
	}
	usr := filepath.Join(out, "nodes", n.Name, "usr")
	return filepath.WalkDir(usr, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		files["/usr"+strings.TrimPrefix(p, usr)] = sysnode.File{Data: data, Mode: 0o755}
		return err
	})
}

// statefulKeystoneConf is keystone's configuration on a stateful node: no
// [database] (render's openstack-conf.sh writes it in keystone.conf.d, the
// Galera cluster through the VIP), the key repositories at Debian's paths
// on the node's own disk.
const statefulKeystoneConf = `# cluster harness: keystone on Galera ([database] in keystone.conf.d/50-stackha.conf,
# written by render's openstack-conf.sh), its keys in the node's own /etc/keystone
[DEFAULT]
log_dir = /var/log/keystone
[token]
provider = fernet
[identity]
password_hash_rounds = 4
`

// setupStatefulNode readies node n after its first boot, before Pacemaker
// runs: Galera's sync check socket on, each service's connection strings
// written by render's openstack-conf.sh from the node's password files.
func (c *Cluster) setupStatefulNode(ctx context.Context, n *Node) error {
	script := fmt.Sprintf("install -d -o mysql -g adm -m 2750 /var/log/mysql\nsystemctl enable --now galera-check.socket\nbash %s\n",
		filepath.Join(BaseDir, "render", "nodes", n.Name, "openstack-conf.sh"))
	if _, err := n.Script(ctx, script); err != nil {
		return fmt.Errorf("the stateful tier on %s: %w", n.Name, err)
	}
	return nil
}

// keyRepos are keystone's key repositories on every node.
var keyRepos = []string{"/etc/keystone/fernet-keys", "/etc/keystone/credential-keys"}

// setupKeys makes keystone's keys on the first node and copies them to the
// others as render's keystone-keys.sh does, `stackha keys pack` on the
// first node piped into `stackha keys unpack` on each other (the harness
// carries the stream where the script uses ssh).
func (c *Cluster) setupKeys(ctx context.Context) error {
	first := c.Nodes[0]
	// As keystone, as every keystone-manage here: one run as root would
	// leave its log file root's, and the next as keystone could not write it.
	if _, err := first.Script(ctx, "runuser -u keystone -- keystone-manage fernet_setup --keystone-user keystone --keystone-group keystone\n"+
		"runuser -u keystone -- keystone-manage credential_setup --keystone-user keystone --keystone-group keystone\n"); err != nil {
		return fmt.Errorf("keystone's keys on %s: %w", first.Name, err)
	}
	return c.CopyKeys(ctx, first)
}

// CopyKeys copies keystone's key repositories from node from to every
// other node that is on.
func (c *Cluster) CopyKeys(ctx context.Context, from *Node) error {
	bin := filepath.Join(BaseDir, "bin", "stackha")
	for _, n := range c.Nodes {
		if n == from || !c.IsOn(n) {
			continue
		}
		for _, repo := range keyRepos {
			pipe := fmt.Sprintf("%s %s keys pack %s | %s %s keys unpack %s",
				strings.Join(from.nsenter(), " "), bin, repo, strings.Join(n.nsenter(), " "), bin, repo)
			if _, err := Run(ctx, "bash", "-o", "pipefail", "-c", pipe); err != nil {
				return fmt.Errorf("copying %s from %s to %s: %w", repo, from.Name, n.Name, err)
			}
		}
	}
	return nil
}

// setupDatabases runs once Galera is promoted somewhere: the sync check's
// user, each project's database and user (as docs/stateful.md lists),
// keystone's schema and bootstrap through the VIP.
func (c *Cluster) setupDatabases(ctx context.Context) (err error) {
	st, err := c.Status(ctx)
	if err != nil {
		return err
	}
	promoted := st.WhereRole(GaleraResource, "Promoted")
	if len(promoted) == 0 {
		return errors.New("galera is promoted nowhere")
	}
	db := c.Node(promoted[0])
	var sql strings.Builder
	sql.WriteString("CREATE USER IF NOT EXISTS clustercheck@localhost IDENTIFIED VIA unix_socket;\n")
	for _, p := range c.projects() {
		fmt.Fprintf(&sql, "CREATE DATABASE IF NOT EXISTS %s;\nCREATE USER IF NOT EXISTS '%s'@'%%' IDENTIFIED BY '%s';\nGRANT ALL ON %s.* TO '%s'@'%%';\n",
			p, p, c.secrets.db[p], p, p)
	}
	if _, err := db.Script(ctx, "mysql <<'EOF'\n"+sql.String()+"EOF\n"); err != nil {
		return fmt.Errorf("the databases on %s: %w", db.Name, err)
	}
	// haproxy's mysql listener marks a node up once its check answers
	// (the check's user exists now): keystone's schema goes through it.
	first := c.Nodes[0]
	if err := c.waitMySQL(ctx, first, 60*time.Second); err != nil {
		return err
	}
	url := fmt.Sprintf("http://%s:%d/v3/", VIP, KeystonePort)
	if _, err := first.Script(ctx, "runuser -u keystone -- keystone-manage db_sync\n"+
		fmt.Sprintf("runuser -u keystone -- keystone-manage bootstrap --bootstrap-password %s --bootstrap-username admin "+
			"--bootstrap-project-name admin --bootstrap-role-name admin --bootstrap-service-name keystone "+
			"--bootstrap-region-id RegionOne --bootstrap-public-url %s --bootstrap-internal-url %s --bootstrap-admin-url %s\n",
			KeystonePassword, url, url, url)); err != nil {
		return fmt.Errorf("keystone's database: %w", err)
	}
	if c.Heat() {
		defer func() {
			if err == nil {
				err = c.setupHeat(ctx)
			}
		}()
	}
	// RabbitMQ's user comes from the definitions file render's
	// openstack-conf.sh wrote on each node: nothing to make here.
	return nil
}

// waitMySQL waits until node n reaches a Galera node through the VIP's
// mysql listener as keystone's database user.
func (c *Cluster) waitMySQL(ctx context.Context, n *Node, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for {
		host, err := c.DBWriterFrom(ctx, n)
		if err == nil && host != "" {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("no Galera node through %s:3306 from %s after %s: %v", VIP, n.Name, limit, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Second):
		}
	}
}

// DBWriterFrom is the Galera node that a connection from node n to the
// VIP's mysql listener reaches (the node haproxy sends every write to).
func (c *Cluster) DBWriterFrom(ctx context.Context, n *Node) (string, error) {
	qctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	out, err := n.Script(qctx, fmt.Sprintf("mysql --connect-timeout=3 -h %s -u keystone -p\"$(head -n1 %s/keystone.pw)\" -N -B -e 'SELECT @@hostname' keystone",
		VIP, passwordDir))
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(out), nil
}

// DBWriter is the Galera node the VIP's mysql listener sends writes to,
// asked from a node that is on.
func (c *Cluster) DBWriter(ctx context.Context) (*Node, error) {
	for _, n := range c.Nodes {
		if !c.IsOn(n) {
			continue
		}
		name, err := c.DBWriterFrom(ctx, n)
		if err != nil {
			return nil, err
		}
		if w := c.Node(name); w != nil {
			return w, nil
		}
		return nil, fmt.Errorf("the database through the VIP answers as %q, no node of this cluster", name)
	}
	return nil, errors.New("no node is on")
}

// statefulSettled is Settled's part for the stateful tier: galera promoted
// and rabbitmq started on every node in up.
func statefulSettled(st Status, up []string) error {
	if w := st.WhereRole(GaleraResource, "Promoted"); strings.Join(w, ",") != strings.Join(up, ",") {
		return fmt.Errorf("galera promoted on %v, want %v", w, up)
	}
	if w := st.Where(RabbitMQResource); strings.Join(w, ",") != strings.Join(up, ",") {
		return fmt.Errorf("rabbitmq started on %v, want %v", w, up)
	}
	return nil
}
