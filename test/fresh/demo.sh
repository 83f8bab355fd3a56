#!/usr/bin/env bash
# Times the README's first command on a fresh Debian 12, as a new user runs
# it: a minimal Debian 12 tree (debootstrap --variant=minbase) with only Go
# (this machine's /usr/local/go), make and a clone of this repository's
# HEAD, made the root of a private mount namespace (pivot_root: nsenter into
# the demo's nodes must land in the tree, as on a real machine), then
# `make demo` in it, timed from start to end: apt-get update, the package
# install, the Go module download, the build and the demo.
#   sudo test/fresh/demo.sh [tree]      (make bench-fresh-demo; about 3 min)
# The tree (default /var/tmp/stackha-fresh) is made anew and removed after.
# Needs root, debootstrap and a Debian mirror; touches no interface of the
# host (the demo's own namespaces only).
set -euo pipefail
[ "$(id -u)" = 0 ] || { echo "fresh: run as root" >&2; exit 1; }
repo=$(cd "$(dirname "$0")/../.." && pwd)
tree=${1:-/var/tmp/stackha-fresh}
mirror=${MIRROR:-http://deb.debian.org/debian}
goroot=$(dirname "$(dirname "$(readlink -f "$(command -v go || echo /usr/local/go/bin/go)")")")
command -v debootstrap >/dev/null || { apt-get install -y -q --no-install-recommends debootstrap >/dev/null; }
case "$tree" in /var/tmp/*|/tmp/*) ;; *) echo "fresh: the tree must be under /var/tmp or /tmp" >&2; exit 2 ;; esac

rm -rf "$tree"
trap 'rm -rf "$tree"' EXIT
echo "fresh: debootstrap --variant=minbase bookworm $tree (not timed)"
debootstrap --variant=minbase bookworm "$tree" "$mirror" >/dev/null
cp -a "$goroot" "$tree/usr/local/go"
cp /etc/resolv.conf "$tree/etc/"
# The machine's own apt sources and local CAs (a proxy's), as its image has them.
if [ -f /etc/apt/sources.list.d/debian.sources ]; then
  rm -f "$tree/etc/apt/sources.list"; cp /etc/apt/sources.list.d/debian.sources "$tree/etc/apt/sources.list.d/"
fi
mkdir -p "$tree/usr/local/share/ca-certificates" "$tree/etc/ssl/certs"
cp /etc/ssl/certs/ca-certificates.crt "$tree/etc/ssl/certs/" 2>/dev/null || true
cp /usr/local/share/ca-certificates/*.crt "$tree/usr/local/share/ca-certificates/" 2>/dev/null || true
if [ -f /root/.config/go/env ]; then mkdir -p "$tree/root/.config/go"; cp /root/.config/go/env "$tree/root/.config/go/"; fi
git clone -q "$repo" "$tree/root/stackha"

inside() {
  unshare -m bash -ec '
    t=$1; shift
    mount --make-rprivate /
    mount --bind "$t" "$t"
    mount -t proc proc "$t/proc"
    mount --rbind /sys "$t/sys"
    mount --rbind /dev "$t/dev"
    mount -t tmpfs tmpfs "$t/run"
    mount -t tmpfs tmpfs "$t/tmp"
    mkdir -p "$t/.oldroot"
    cd "$t"
    pivot_root . .oldroot
    exec /usr/bin/env -i HOME=/root TERM=dumb PATH=/usr/local/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
      bash -c "umount -l /.oldroot && rmdir /.oldroot && cd /root/stackha && $1"' inside "$tree" "$1"
}
# make itself, as the user has it; then no package lists (deps.sh updates them).
inside 'apt-get update -q >/dev/null && apt-get install -y -q --no-install-recommends make >/dev/null 2>&1 && rm -rf /var/lib/apt/lists/*'
echo "fresh: $(inside 'dpkg -l | grep -c ^ii') packages in the tree; now: make demo (timed)"
start=$(date +%s%N)
inside 'make demo'
end=$(date +%s%N)
echo "fresh: make demo on a fresh Debian 12 (minbase), package install included: $(( (end - start) / 1000000 )) ms"
