#!/usr/bin/env bash
# Runs crm's tests with the stackha agents installed where Pacemaker, crmsh
# and pcs look for them, so that both check every parameter the generated
# configuration sets against the agents' real meta-data (without --force).
# The agents are bind-mounted over /usr/lib/ocf/resource.d inside a private
# mount namespace: nothing changes outside it. Root. Used by `make check-crm`.
#   crm/strict-check.sh [BINARY [TEST-PATTERN]]   (from the repository's root)
set -euo pipefail
bin=$(realpath "${1:-bin/stackha}")
run=${2:-.}
[ -x "$bin" ] || { echo "strict-check: no binary at $bin (make build)" >&2; exit 1; }
[ "$(id -u)" = 0 ] || { echo "strict-check: needs root (mount namespace, crmsh)" >&2; exit 1; }
tmp=$(mktemp -d /tmp/shcrm-strict.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/orig" "$tmp/rd/stackha"
# resource-agents' hidden .ocf-* files are relative links (../../lib/heartbeat/...)
# that resolve from $tmp/orig/heartbeat to $tmp/lib: Pacemaker's own agents
# (ocf:pacemaker:attribute, which render writes) source .ocf-shellfuncs there.
ln -s /usr/lib/ocf/lib "$tmp/lib"
for d in /usr/lib/ocf/resource.d/*/; do
  n=$(basename "$d")
  [ "$n" = stackha ] || ln -s "$tmp/orig/$n" "$tmp/rd/$n"
done
for a in $("$bin" agents | cut -f1); do
  ln -s "$bin" "$tmp/rd/stackha/$a"
done
chmod -R go+rX "$tmp"
# unshare makes the new mount namespace's mounts private by default.
unshare --mount --propagation private -- sh -c '
  mount --bind /usr/lib/ocf/resource.d "$1/orig" &&
  mount --bind "$1/rd" /usr/lib/ocf/resource.d &&
  crm_resource --show-metadata ocf:stackha:vip >/dev/null &&
  STACKHA_AGENTS_INSTALLED=1 go test -count=1 -run "$2" ./crm/...' sh "$tmp" "$run"
