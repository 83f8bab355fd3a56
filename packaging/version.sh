#!/bin/sh
# Prints stackha's version, from one place: a release tag (vX.Y.Z) on the
# commit being built, else the VERSION file (builds outside git, or between
# releases: then with +git<count>.<commit> so two builds never share one).
set -eu
cd "$(dirname "$0")/.."
base=$(cat VERSION)
if desc=$(git describe --tags --match 'v[0-9]*' --exact-match 2>/dev/null); then
	echo "${desc#v}"
elif n=$(git rev-list --count HEAD 2>/dev/null) && c=$(git rev-parse --short=8 HEAD 2>/dev/null); then
	echo "${base}+git${n}.${c}"
else
	echo "$base"
fi
