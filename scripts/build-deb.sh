#!/usr/bin/env bash
# Builds the Debian package with dpkg-buildpackage/debhelper and prints its
# path.  The tree (tracked and new files) is staged in build/deb/streamkpi-V
# (the files the build and install read) with packaging/debian as debian/, because dpkg-buildpackage writes its
# output next to the source tree.  The staged build/ directory is kept, and
# seeded from ours, so only what changed is compiled; the package is rebuilt
# only when a staged file is newer than it.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
VERSION=$(cat VERSION)
REVISION=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
OUT=build/deb
SRC=$OUT/streamkpi-$VERSION
ARCH=$(dpkg --print-architecture)
DEB=$OUT/streamkpi_${VERSION}_${ARCH}.deb
STAGED="Makefile VERSION README.md scripts/build-mhd.sh exporter include packaging examples alerts dashboards docs/config.md"

for tool in dpkg-buildpackage dh; do
  command -v "$tool" >/dev/null || { echo "build-deb: $tool is missing (scripts/deps.sh installs it)" >&2; exit 1; }
done

mkdir -p "$OUT"
keep=$OUT/.objects
rm -rf "$keep"
if [ -d "$SRC/build" ]; then
  mv "$SRC/build" "$keep"
elif [ -d build/rel ]; then
  mkdir -p "$keep" && cp -a build/rel "$keep/rel"
fi
rm -rf "$SRC"
mkdir -p "$SRC"
# What the build and `make install` read, tracked and new files, mtimes kept
# so that `make` sees the kept objects as current.
git ls-files -co --exclude-standard -z -- $STAGED | tar --null -T - -cf - | tar -xpf - -C "$SRC"
cp -pr packaging/debian "$SRC/debian"
echo "$REVISION" > "$SRC/REVISION"
touch -r VERSION "$SRC/REVISION"
[ -d "$keep" ] && mv "$keep" "$SRC/build"
# libmicrohttpd as the tree builds it (scripts/build-mhd.sh), so that the
# package build links it and downloads nothing.
make --no-print-directory build/mhd/lib/libmicrohttpd.a >/dev/null
mkdir -p "$SRC/build"
rm -rf "$SRC/build/mhd"
cp -a build/mhd "$SRC/build/mhd"

if [ -f "$DEB" ] && [ -z "$(find "$SRC" -path "$SRC/build" -prune -o -type f -newer "$DEB" -print -quit)" ]; then
  echo "$ROOT/$DEB"
  exit 0
fi

date=$(date -R -r VERSION)
cat > "$SRC/debian/changelog" <<CL
streamkpi ($VERSION) unstable; urgency=medium

  * Built from revision $REVISION.

 -- streamkpi maintainers <streamkpi@localhost>  $date
CL
touch -r VERSION "$SRC/debian/changelog"
(cd "$SRC" && dpkg-buildpackage -b -us -uc --no-sign) > "$OUT/build.log" 2>&1 || {
  tail -30 "$OUT/build.log" >&2
  echo "build-deb: dpkg-buildpackage failed (log: $OUT/build.log)" >&2
  exit 1
}
echo "$ROOT/$DEB"
