#!/usr/bin/env bash
# Installs the Debian packages stackha needs, when missing. Needs root.
#   test/deps.sh demo   only what `make demo` runs (Pacemaker, haproxy,
#                       keystone and its client), without recommends
#   test/deps.sh        everything the tests need (`make check`, CI)
set -euo pipefail

what=${1:-check}
# The demo: a two-node Pacemaker cluster with haproxy and a real keystone,
# on nodes that boot systemd: systemd itself (not in a minimal Debian), and
# the keystone package, whose unit the nodes run (init script, uwsgi).
# sqlite3: the demo sets the keystone database to WAL with the sqlite3 CLI.
demo_pkgs=(pacemaker pacemaker-cli-utils corosync crmsh resource-agents haproxy
           systemd keystone python3-keystone sqlite3 iproute2 procps util-linux)
# The tests: the demo's, the tools the tiers use, and more OpenStack services
# (keystone packaged as a service; the openstack CLI for bench-openstack).
test_pkgs=(libxml2-utils file groff-base man-db gcc libc6-dev psmisc time hyperfine
           wrk strace pcs keepalived socat fence-agents lintian rpm
           keystone python3-openstackclient glance-api placement-api cinder-api heat-api
           nova-api neutron-api heat-engine rabbitmq-server
           mariadb-server galera-4 rsync python3-pymysql mariadb-client)

case "$what" in
demo) want=("${demo_pkgs[@]}") ;;
check) want=("${demo_pkgs[@]}" "${test_pkgs[@]}") ;;
*) echo "usage: test/deps.sh [demo|check]" >&2; exit 2 ;;
esac

missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" != 0 ]; then
  echo "deps: missing packages (${missing[*]}); run as root to install them" >&2
  exit 1
fi
case "$what" in
demo) echo "deps: installing ${#missing[@]} packages for the demo with their dependencies (about 330 packages on a minimal Debian 12, fewer where Python 3 is already installed; 1-2 minutes): ${missing[*]}" ;;
*) echo "deps: installing ${#missing[@]} packages for the tests (several minutes on a fresh Debian 12): ${missing[*]}" ;;
esac
# The keystone package must neither configure a database nor bootstrap.
debconf-set-selections <<'SEL'
keystone keystone/configure_db boolean false
keystone keystone/create-admin-tenant boolean false
keystone keystone/register-endpoint boolean false
SEL
# No service may start from a postinst (keystone's, haproxy's, corosync's):
# the demo and the tests start what they need themselves. A policy-rc.d
# added here is removed once the install is done.
added_policy=
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\n# added by stackha test/deps.sh for the time of an install\nexit 101\n' > /usr/sbin/policy-rc.d
  chmod 0755 /usr/sbin/policy-rc.d
  added_policy=1
fi
cleanup() { [ -z "$added_policy" ] || rm -f /usr/sbin/policy-rc.d; }
trap cleanup EXIT
export DEBIAN_FRONTEND=noninteractive
if [ -z "$(find /var/lib/apt/lists -name '*_Packages*' -newermt '-1 day' 2>/dev/null | head -1)" ]; then
  apt-get update -q
fi
apt-get install -y -q --no-install-recommends "${missing[@]}"
