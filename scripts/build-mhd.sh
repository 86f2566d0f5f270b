#!/usr/bin/env bash
# Builds libmicrohttpd 1.0.1 as a static library into PREFIX (the Makefile
# passes build/mhd) and links it into every binary of the tree.
#
# Why not Debian bookworm's libmicrohttpd12 (0.9.75): it answers a request
# whose Content-Length is not a number with its status line and headers
# written twice, before the exporter sees the request, and no option of
# that version changes it.  1.0.1 (the version Debian trixie ships) answers
# once.  The source is Debian's own upstream tarball, checked against its
# SHA-256; the tarball is kept in ~/.cache/streamkpi/dl (or SKPI_DL_DIR) so
# that a rebuild after `make clean` does not download it again.
#
# Only what the exporter uses is built: HTTPS through GnuTLS, basic auth;
# no digest auth, cookies, post processor, curl tests or docs.
set -euo pipefail
PREFIX=${1:?usage: build-mhd.sh PREFIX}
VERSION=1.0.1
SHA256=a89e09fc9b4de34dde19f4fcb4faaa1ce10299b9908db1132bbfa1de47882b94
TARBALL=libmicrohttpd_${VERSION}.orig.tar.gz
URL=${SKPI_MHD_URL:-http://deb.debian.org/debian/pool/main/libm/libmicrohttpd/$TARBALL}

mkdir -p "$PREFIX"
PREFIX=$(cd "$PREFIX" && pwd)
if [ -f "$PREFIX/lib/libmicrohttpd.a" ] && [ -f "$PREFIX/include/microhttpd.h" ] &&
   grep -q "^$VERSION\$" "$PREFIX/VERSION" 2>/dev/null; then
  exit 0
fi

dl=${SKPI_DL_DIR:-${HOME:-/nonexistent}/.cache/streamkpi/dl}
mkdir -p "$dl" 2>/dev/null && [ -w "$dl" ] || dl=$PREFIX/dl
mkdir -p "$dl"
if ! echo "$SHA256  $dl/$TARBALL" | sha256sum -c --status 2>/dev/null; then
  echo "build-mhd: downloading $URL"
  curl -fsS --retry 3 -m 300 -o "$dl/$TARBALL.part" "$URL" || {
    echo "build-mhd: cannot download $URL (libmicrohttpd $VERSION is built from it)" >&2
    exit 1
  }
  if ! echo "$SHA256  $dl/$TARBALL.part" | sha256sum -c --status; then
    echo "build-mhd: $URL does not have the expected SHA-256 $SHA256; refusing it" >&2
    rm -f "$dl/$TARBALL.part"
    exit 1
  fi
  mv "$dl/$TARBALL.part" "$dl/$TARBALL"
fi

work=$PREFIX/src
rm -rf "$work"
mkdir -p "$work"
tar -xzf "$dl/$TARBALL" -C "$work" --strip-components=1
echo "build-mhd: building libmicrohttpd $VERSION (static) into $PREFIX"
log=$PREFIX/build.log
(
  cd "$work"
  ./configure --prefix="$PREFIX" --disable-shared --enable-static --with-pic \
    --enable-https --with-gnutls --disable-doc --disable-examples --disable-curl \
    --disable-dauth --disable-cookie --disable-postprocessor --disable-nls
  # Not the calling make's job server: this is a build of its own.
  env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -j2
  env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make install
) >"$log" 2>&1 || {
  tail -30 "$log" >&2
  echo "build-mhd: building libmicrohttpd failed (log: $log)" >&2
  exit 1
}
grep -q "HTTPS support: *yes" "$log" || {
  echo "build-mhd: libmicrohttpd was configured without HTTPS (is libgnutls28-dev installed?)" >&2
  exit 1
}
rm -rf "$work"
echo "$VERSION" > "$PREFIX/VERSION"
