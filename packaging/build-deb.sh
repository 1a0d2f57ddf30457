#!/usr/bin/env bash
# Builds the pushgate Debian package and checks it with lintian.
#
#   packaging/build-deb.sh [-o OUTDIR | OUTDIR] [-j JOBS] [--no-lintian]
#
# Stages a copy of the source tree (the files git knows, minus ignored ones:
# no build directories), copies packaging/debian/ to debian/ in the copy, runs
# `dpkg-buildpackage -b` there and copies pushgate_<version>_<arch>.deb (and
# the -dbgsym package, .buildinfo and .changes) to OUTDIR (default
# ./build-deb). Then runs lintian on the .changes and fails on any error tag
# (LINTIAN_FAIL_ON=error,warning makes warnings fatal too).
#
# The repository is not modified. Needs the packages of install-deps.sh.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
src=$(cd "$here/.." && pwd)
outdir="$PWD/build-deb"
jobs=2
run_lintian=1

usage() { sed -n '2,13p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }

while [ $# -gt 0 ]; do
  case "$1" in
    -o|--output) outdir=$2; shift 2 ;;
    -j|--jobs) jobs=$2; shift 2 ;;
    --no-lintian) run_lintian=0; shift ;;
    -h|--help) usage; exit 0 ;;
    -*) echo "build-deb.sh: unknown argument $1" >&2; usage >&2; exit 2 ;;
    *) outdir=$1; shift ;;
  esac
done
mkdir -p "$outdir"
outdir=$(cd "$outdir" && pwd)

# The package version must be the one the binary reports (CMake's project
# VERSION): a mismatch means someone bumped one and forgot the other.
cmake_version=$(sed -n 's/^project(pushgate VERSION \([0-9][0-9.]*\).*/\1/p' "$src/CMakeLists.txt")
deb_version=$(dpkg-parsechangelog -l "$here/debian/changelog" -S Version)
if [ "${deb_version%%[-+~]*}" != "$cmake_version" ]; then
  echo "build-deb.sh: packaging/debian/changelog is at $deb_version but CMakeLists.txt at" \
       "$cmake_version; add a changelog entry (dch -c packaging/debian/changelog -v $cmake_version)" >&2
  exit 1
fi

stage=$(mktemp -d "${TMPDIR:-/tmp}/pushgate-deb.XXXXXX")
trap 'rm -rf "$stage"' EXIT
tree="$stage/pushgate-$deb_version"
mkdir -p "$tree"

echo "== staging $src in $tree"
if git -C "$src" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  # Tracked and untracked-but-not-ignored files: what a CI checkout holds.
  # --ignore-failed-read: a tracked file deleted in the work tree is skipped.
  (cd "$src" && git ls-files -z --cached --others --exclude-standard |
     tar --null -T - --ignore-failed-read -cf -) | tar -C "$tree" -xf -
else
  tar -C "$src" --exclude='./build*' --exclude=./.git --exclude=./var --exclude=./debian -cf - . |
    tar -C "$tree" -xf -
fi
rm -rf "$tree/debian"
cp -a "$here/debian" "$tree/debian"

echo "== dpkg-buildpackage -b -j$jobs ($deb_version)"
export DEB_BUILD_OPTIONS="parallel=$jobs ${DEB_BUILD_OPTIONS:-}"
(cd "$tree" && dpkg-buildpackage -b -us -uc -j"$jobs")

arch=$(dpkg-architecture -qDEB_HOST_ARCH)
changes="$stage/pushgate_${deb_version}_${arch}.changes"
deb="pushgate_${deb_version}_${arch}.deb"
for f in "$stage"/*.deb "$stage"/*.buildinfo "$changes"; do
  cp -f "$f" "$outdir/"
done
echo "== built $outdir/$deb"
dpkg-deb --info "$outdir/$deb"
dpkg-deb --contents "$outdir/$deb"

if [ "$run_lintian" = 1 ]; then
  echo "== lintian"
  # --fail-on: error by default; the overrides in packaging/debian say why
  # each remaining tag is right for this package.
  lintian --fail-on "${LINTIAN_FAIL_ON:-error}" --display-info --show-overrides \
    --color never "$outdir/$(basename "$changes")"
  echo "== lintian: no tag at or above ${LINTIAN_FAIL_ON:-error}"
fi
