#!/usr/bin/env bash
# Installs the Debian packages stackha's tests and demo need, when missing.
# Used by `make check`, `make demo` and .ci/run. Needs root.
set -euo pipefail

pkgs=(pacemaker corosync crmsh resource-agents haproxy libxml2-utils file groff-base
      gcc libc6-dev iproute2 procps psmisc util-linux time hyperfine sqlite3 wrk strace
      pcs)  # pcs: crm/render's cluster.pcs.sh is run against a CIB file
# keystone and glance-api: real OpenStack services for the API agents' tests.
os_pkgs=(keystone python3-openstackclient)
os_norec=(glance-api placement-api cinder-api heat-api)

missing=()
for p in "${pkgs[@]}" "${os_pkgs[@]}" "${os_norec[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" != 0 ]; then
  echo "deps: missing packages (${missing[*]}); run as root to install them" >&2
  exit 1
fi
echo "deps: installing ${missing[*]}"
# The keystone package must neither configure a database nor bootstrap, and
# no service may start from a postinst on a machine without systemd.
debconf-set-selections <<'SEL'
keystone keystone/configure_db boolean false
keystone keystone/create-admin-tenant boolean false
keystone keystone/register-endpoint boolean false
SEL
if [ ! -x /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
  chmod 0755 /usr/sbin/policy-rc.d
fi
export DEBIAN_FRONTEND=noninteractive
if [ -z "$(find /var/lib/apt/lists -name '*_Packages*' -newermt '-1 day' 2>/dev/null | head -1)" ]; then
  apt-get update -q
fi
apt-get install -y -q "${pkgs[@]}" "${os_pkgs[@]}"
apt-get install -y -q --no-install-recommends "${os_norec[@]}"
