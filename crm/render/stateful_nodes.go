package render

import (
	"fmt"
	"path"
	"strings"
)

// The stateful tier's per-node files: Galera's configuration and its sync
// check for haproxy, and openstack-conf.sh, which writes each service's
// connection strings on the node from the root-only password files there.

const (
	galeraCnf       = "etc/mysql/mariadb.conf.d/70-stackha-galera.cnf"
	checkSocket     = "etc/systemd/system/galera-check.socket"
	checkService    = "etc/systemd/system/galera-check@.service"
	checkScript     = "usr/local/lib/stackha/galera-check.sh"
	openstackConf   = "openstack-conf.sh"
	confSnippet     = "50-stackha.conf"
	checkUser       = "clustercheck"
	galeraProvider  = "/usr/lib/galera/libgalera_smm.so"
	maxCheckClients = 32
)

// statefulNodeFiles adds node n's files of the stateful tier to f and says
// in its README what to do with them.
func (r *resolved) statefulNodeFiles(f Files, n resolvedNode, dir string, readme *strings.Builder) {
	if r.db == nil && r.mq == nil {
		return
	}
	readme.WriteString("#\n# The stateful tier (docs/stateful.md):\n")
	if r.db != nil && r.db.galera {
		f[path.Join(dir, galeraCnf)] = []byte(r.galeraConfig(n))
		f[path.Join(dir, checkSocket)] = []byte(r.checkSocketUnit(n))
		f[path.Join(dir, checkService)] = []byte(checkServiceUnit(n))
		f[path.Join(dir, checkScript)] = []byte(checkScriptText(n))
		fmt.Fprintf(readme, `#   MariaDB Galera: apt install mariadb-server galera-4 rsync; systemctl disable
#   --now mariadb (Pacemaker starts it); install -d -o mysql -g adm -m 2750
#   /var/log/mysql (the agent's log: Debian 12 logs to the journal and has none);
#   install %s as /%s.
#   The sync check haproxy asks on port %d: install %s,
#   %s and %s at the same paths
#   (the script mode 0755), then systemctl enable --now galera-check.socket.
#   Once the first node is promoted, on it: mysql -e "CREATE USER IF NOT EXISTS
#   %s@localhost IDENTIFIED VIA unix_socket" (no password: the check runs as
#   that system user), and each service's database and user (docs/stateful.md).
`, galeraCnf, galeraCnf, r.db.checkPort, checkSocket, checkService, checkScript, checkUser)
	}
	if r.mq != nil && r.mq.cluster {
		fmt.Fprintf(readme, `#   RabbitMQ: apt install rabbitmq-server; systemctl disable --now
#   rabbitmq-server (Pacemaker runs it); the same /var/lib/rabbitmq/.erlang.cookie
#   on every node (copied from the first, owner rabbitmq, mode 0400); every
#   node's short name resolves on every node (rabbit@NAME: /etc/hosts).
#   The user %s comes from %s, which %s
#   writes with its password's hash, and RabbitMQ imports at each start: the
#   agent wipes a node's data before it joins, and keeps users only across a
#   clean stop (a cluster that lost power would come back without them).
`, r.mq.user, rabbitDefinitionsPath, openstackConf)
	}
	r.keystoneKeyFiles(f, n, dir, readme)
	fmt.Fprintf(readme, "#   Then, as root, with the services' packages installed: ./%s\n", openstackConf)
	fmt.Fprintf(readme, "#   It writes each service's connection strings into /etc/PROJECT/PROJECT.conf.d/%s.\n", confSnippet)
	f[path.Join(dir, openstackConf)] = []byte(r.openstackConfScript(n))
}

// galeraConfig is node n's MariaDB configuration for Galera.
func (r *resolved) galeraConfig(n resolvedNode) string {
	var b strings.Builder
	header(&b, "#", "MariaDB on "+n.name+" as a Galera node")
	fmt.Fprintf(&b, `#
# mariadbd listens on this node's own address: haproxy holds port %d on the
# VIP on every node (non-local bind). wsrep_cluster_address lists every node,
# as the galera resource agent passes it: MariaDB 10.11 refuses to start
# without it when the state transfer is rsync, even for the agent's
# --wsrep-recover run that reads the last commit. With every node listed, a
# mariadbd started outside Pacemaker only joins a running cluster; it never
# forms one of its own (that takes --wsrep-new-cluster, which only the agent
# passes, on the node it bootstraps from). State transfer by rsync, which
# needs no password (mariabackup would need one here).
[mysqld]
bind-address = %s
port = %d
binlog_format = ROW
default_storage_engine = InnoDB
innodb_autoinc_lock_mode = 2

[galera]
wsrep_on = ON
wsrep_provider = %s
wsrep_cluster_name = %s
wsrep_cluster_address = %s
wsrep_node_address = %s
wsrep_sst_method = rsync
`, r.db.port, n.addr, r.db.port, galeraProvider, r.t.Corosync.ClusterName, r.gcomm(), n.addr)
	return b.String()
}

func (r *resolved) checkSocketUnit(n resolvedNode) string {
	var b strings.Builder
	header(&b, "#", "haproxy's Galera sync check on "+n.name)
	fmt.Fprintf(&b, `#
# One galera-check@.service per connection (Accept=yes): systemd does what
# xinetd did for TripleO's clustercheck, with nothing more to install.
[Unit]
Description=Galera sync check for haproxy (port %d)

[Socket]
ListenStream=%s
Accept=yes
# The address may come up after this socket.
FreeBind=yes
MaxConnections=%d

[Install]
WantedBy=sockets.target
`, r.db.checkPort, hostPort(n.addr.String(), r.db.checkPort), maxCheckClients)
	return b.String()
}

func checkServiceUnit(n resolvedNode) string {
	var b strings.Builder
	header(&b, "#", "One Galera sync check on "+n.name)
	fmt.Fprintf(&b, `#
# Runs as the dynamic user %s, which MariaDB authenticates by its unix
# socket (IDENTIFIED VIA unix_socket): no password anywhere.
[Unit]
Description=Galera sync check for haproxy

[Service]
ExecStart=/%s
StandardInput=socket
StandardOutput=socket
StandardError=journal
DynamicUser=yes
User=%s
RuntimeMaxSec=5
`, checkUser, checkScript, checkUser)
	return b.String()
}

func checkScriptText(n resolvedNode) string {
	var b strings.Builder
	b.WriteString("#!/bin/bash\n")
	header(&b, "#", "haproxy's Galera sync check on "+n.name)
	fmt.Fprintf(&b, `#
# Answers 200 while this node's wsrep_local_state is 4 (Synced), else 503:
# a joiner, a donor (rsync blocks it) or a node outside the primary
# component is taken out of haproxy's mysql listener.
set -u
# Read the request (bounded: 32 lines of 1 KiB, 1 s each), so that closing
# the connection does not reset it before haproxy reads the answer.
for _ in {1..32}; do
  IFS= read -r -t 1 -n 1024 line || break
  line=${line%%$'\r'}
  [ -n "$line" ] || break
done
state=$(timeout 2 mysql -N -B -u %s -e "SHOW GLOBAL STATUS LIKE 'wsrep_local_state'" 2>/dev/null | cut -f2)
[[ $state =~ ^[0-9]{1,2}$ ]] || state=unknown
if [ "$state" = 4 ]; then
  status="200 OK" body="Galera node is synced."
else
  status="503 Service Unavailable" body="Galera node is not synced (wsrep_local_state $state)."
fi
printf 'HTTP/1.1 %%s\r\nContent-Type: text/plain\r\nConnection: close\r\nContent-Length: %%d\r\n\r\n%%s\n' "$status" $((${#body} + 1)) "$body"
`, checkUser)
	return b.String()
}

// openstackConfScript is nodes/<node>/openstack-conf.sh: run on the node as
// root, it reads the passwords from the root-only files the topology names
// and writes /etc/<project>/<project>.conf.d/50-stackha.conf for each
// service, root:<project> 0640, never following a link.
func (r *resolved) openstackConfScript(n resolvedNode) string {
	var b strings.Builder
	b.WriteString("#!/usr/bin/env bash\n")
	header(&b, "#", "The database and message queue settings of the services on "+n.name)
	fmt.Fprintf(&b, `#
# Run as root on %s. It reads each password from its root-only file (owned
# by root, no access for group or others) on this node, never from here,
# and writes /etc/PROJECT/PROJECT.conf.d/%s (owner root, group PROJECT,
# mode 0640), which oslo.config reads after PROJECT.conf. A directory that
# is a link, or that anyone but root may write, is refused: /etc/keystone
# belongs to the keystone user, who must not be able to redirect the write.
set -euo pipefail
umask 077

die() { echo "openstack-conf.sh: $*" >&2; exit 1; }

# secret FILE: the password on FILE's first line.
secret() {
  local f=$1 fd meta line=
  [ ! -L "$f" ] || die "$f: a symbolic link: want the file itself"
  exec {fd}<"$f" || die "$f: cannot be read"
  meta=$(stat -L -c '%%u %%a %%F' "/proc/self/fd/$fd")
  [[ $meta =~ ^0\ [0-7]00\ regular ]] || die "$f: want a regular file owned by root, mode 0600 or 0400 (have: $meta)"
  IFS= read -r -n 256 line <&"$fd" || [ -n "$line" ] || true
  exec {fd}<&-
  [[ $line =~ ^[A-Za-z0-9._~-]{16,128}$ ]] ||
    die "$f: its first line must be a password of 16 to 128 letters, digits, '.', '_', '~' or '-' (it goes into a URL as it is)"
  printf '%%s' "$line"
}

# putin DIR GROUP NAME TEXT: write TEXT as DIR/NAME (root:GROUP 0640), DIR a
# directory of root's (root:GROUP 0750) whose parent GROUP's user may own.
putin() {
  local dir=$1 group=$2 owner mode tmp
  getent group "$group" >/dev/null || die "no group $group: install the $group packages first"
  [ -d "${dir%%/*}" ] || die "${dir%%/*} is missing: install the $group packages first"
  mkdir -p -- "$dir"
  cd -P -- "$dir"
  [ "$(pwd -P)" = "$dir" ] || die "$dir is a link: remove it and run again"
  read -r owner mode < <(stat -c '%%u %%a' .)
  [ "$owner" = 0 ] && [[ $mode =~ ^[0-7][0-5][0-5]$ ]] || die "$dir: want owner root and no write access for others (chown root:$group; chmod 0750)"
  chgrp -- "$group" . && chmod 0750 .
  tmp=$(mktemp ".$3.XXXXXX")
  printf '%%s' "$4" >"$tmp"
  chgrp -- "$group" "$tmp" && chmod 0640 "$tmp"
  mv -f -T -- "$tmp" "$3"
  cd /
  echo "openstack-conf.sh: wrote $dir/$3"
}

# put PROJECT TEXT: write TEXT as /etc/PROJECT/PROJECT.conf.d/%s.
put() {
  putin "/etc/$1/$1.conf.d" "$1" %s "$2"
  shadowed "$1"
}

# shadowed PROJECT: warn when /etc/PROJECT/PROJECT.conf itself sets a key this
# script writes. A daemon that its init script starts with
# --config-file=/etc/PROJECT/PROJECT.conf (Debian's heat-engine, nova-conductor,
# neutron-api, ...) reads that file after PROJECT.conf.d, so the packaged
# value (Debian's packages set [database] connection to sqlite) wins there.
# Only the keys' names are printed. The file is read only when it is root's,
# a regular file, writable by root only (checked without following a link),
# at most 1 MiB within 5 s.
shadowed() {
  local f=/etc/$1/$1.conf meta keys
  meta=$(stat -c '%%u %%a %%F' -- "$f" 2>/dev/null) || return 0
  if ! [[ $meta =~ ^0\ [0-7][0-5][0-5]\ regular ]]; then
    echo "openstack-conf.sh: $f not read (want root's regular file that only root may write; have: $meta)" >&2
    return 0
  fi
  keys=$(timeout 5 head -c 1048576 -- "$f" | grep -E -o '^[[:space:]]*(connection|transport_url)[[:space:]]*=' |
    tr -d ' \t=' | sort -u | tr '\n' ' ') || true
  [ -z "$keys" ] || echo "openstack-conf.sh: warning: $f sets ${keys%% }; daemons started with --config-file=$f read it after $1.conf.d, so there it wins over $1.conf.d/%s: comment it out in $f" >&2
}
`, n.name, confSnippet, confSnippet, confSnippet, confSnippet)
	projects := r.statefulProjects()
	if r.db != nil {
		b.WriteString("\n# The databases' passwords: one file per project.\n")
		for _, p := range projects {
			if len(p.dbs) > 0 {
				fmt.Fprintf(&b, "db_%s=$(secret %s/%s.pw)\n", p.name, r.db.passwordDir, p.name)
			}
		}
	}
	queue := false
	for _, p := range projects {
		queue = queue || p.queue
	}
	if r.mq != nil && (queue || r.mq.cluster) {
		fmt.Fprintf(&b, "mq=$(secret %s)\n", r.mq.passwordFile)
	}
	r.rabbitDefinitions(&b, n)
	for _, p := range projects {
		b.WriteString("\n")
		fmt.Fprintf(&b, "put %s \"# /etc/%s/%s.conf.d/%s on %s, written by openstack-conf.sh (stackha render).\n", p.name, p.name, p.name, confSnippet, n.name)
		b.WriteString(r.snippet(p))
		b.WriteString("\"\n")
	}
	return b.String()
}

// statefulProject is one project's share of the stateful tier.
type statefulProject struct {
	name  string
	dbs   [][2]string // section, database
	queue bool
}

// statefulProjects are the projects of the topology's services that keep a
// database (with a database section) or use the queue (with a messaging
// section), each once, in the services' order.
func (r *resolved) statefulProjects() []statefulProject {
	var out []statefulProject
	seen := map[string]int{}
	for _, s := range r.services {
		name, dbs, queue := stateProfile(s.name)
		if r.db == nil {
			dbs = nil
		}
		queue = queue && r.mq != nil
		if name == "" || len(dbs) == 0 && !queue {
			continue
		}
		if i, ok := seen[name]; ok {
			out[i].queue = out[i].queue || queue
			continue
		}
		seen[name] = len(out)
		out = append(out, statefulProject{name: name, dbs: dbs, queue: queue})
	}
	return out
}

// snippet is a project's oslo.config text, the passwords as the shell
// variables openstack-conf.sh reads them into.
func (r *resolved) snippet(p statefulProject) string {
	var b strings.Builder
	for _, db := range p.dbs {
		fmt.Fprintf(&b, "[%s]\nconnection = mysql+pymysql://%s:${db_%s}@%s/%s\n", db[0], p.name, p.name, hostPort(r.db.host, r.db.port), db[1])
	}
	if !p.queue {
		return b.String()
	}
	var hosts []string
	for _, h := range r.mq.hosts {
		hosts = append(hosts, r.mq.user+":${mq}@"+hostPort(h, r.mq.port))
	}
	fmt.Fprintf(&b, "[DEFAULT]\ntransport_url = rabbit://%s/\n", strings.Join(hosts, ","))
	if r.mq.queues == queuesQuorum {
		b.WriteString("[oslo_messaging_rabbit]\nrabbit_quorum_queue = true\n")
	}
	return b.String()
}
