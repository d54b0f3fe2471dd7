#!/usr/bin/env bash
# static-c-libs.sh LIBDIR COMMAND…: runs COMMAND in a private mount namespace where LIBDIR lacks
# the unversioned shared objects of the project's C libraries (libsodium.so, libsecp256k1.so,
# libcrypto.so, liblmdb.so, libhiredis.so, and libz.so for compress-nio), so the linker's -lsodium etc. find Debian's .a files
# instead. Nothing changes outside the namespace; the versioned .so.N files stay visible, so the
# build tools themselves run as usual. (SwiftPM links a system-library module's `link "x"` as -lx,
# and a -L of our own cannot come before the system's directory.)
set -euo pipefail
if [ "${RMB_STATIC_VIEW:-}" != 1 ]; then
  namespace=(unshare -m); [ "$(id -u)" = 0 ] || namespace+=(--map-root-user)
  RMB_STATIC_VIEW=1 exec "${namespace[@]}" "$0" "$@"
fi
libdir=$1; shift
original=$(mktemp -d -t rmb-libdir.XXXXXX); view=$(mktemp -d -t rmb-libview.XXXXXX)
mount --bind "$libdir" "$original"
for entry in "$original"/*; do
  name=${entry##*/}
  case "$name" in libsodium.so|libsecp256k1.so|libcrypto.so|liblmdb.so|libhiredis.so|libz.so) continue ;; esac
  ln -s "$original/$name" "$view/$name"
done
mount --bind "$view" "$libdir"
exec "$@"
