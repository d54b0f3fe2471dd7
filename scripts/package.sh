#!/usr/bin/env bash
# Release artifacts for machines without a Swift toolchain:
#   rmb-peer, rmb-relay and rmb built in release with the Swift standard library and Foundation
#   linked statically (--static-swift-stdlib) and the C libraries (libsodium, libsecp256k1,
#   OpenSSL's libcrypto, LMDB, hiredis) from Debian's .a files (scripts/lib/static-c-libs.sh),
#   stripped; then
#   dist/rmb-<version>-linux-<arch>.tar.gz and dist/rmb_<version>_<debarch>.deb holding the
#   binaries, config.toml.example and the systemd units of packaging/systemd.
# The binaries then need only libc-level system libraries (ldd lists libc, libm, libstdc++,
# libgcc_s and the loader). Usage: scripts/package.sh [--out DIR] [--no-build]
set -euo pipefail
cd "$(dirname "$0")/.."
out=dist build=1
while [ $# -gt 0 ]; do
  case "$1" in
    --out) out=$2; shift 2 ;;
    --no-build) build=0; shift ;;
    *) echo "usage: scripts/package.sh [--out DIR] [--no-build]" >&2; exit 2 ;;
  esac
done
arch=$(uname -m)
debarch=$(dpkg --print-architecture)
libdir=/usr/lib/$(gcc -dumpmachine 2>/dev/null || echo "$arch-linux-gnu")
scratch=$(mktemp -d -t rmb-package.XXXXXX)
trap 'rm -rf "$scratch"' EXIT

for lib in sodium secp256k1 crypto lmdb hiredis z; do
  [ -f "$libdir/lib$lib.a" ] || { echo "missing $libdir/lib$lib.a (run scripts/setup.sh)" >&2; exit 1; }
done
products=(rmb-peer rmb-relay rmb)
build_dir=.build/static-release
if [ "$build" = 1 ]; then
  for product in "${products[@]}"; do
    echo "building $product (release, static Swift runtime and C libraries)…" >&2
    scripts/lib/static-c-libs.sh "$libdir" \
      swift build -c release --product "$product" --scratch-path "$build_dir" --static-swift-stdlib >&2
  done
fi
bin=$(swift build -c release --scratch-path "$build_dir" --show-bin-path)
version=$("$bin/rmb-relay" --version | tr -d '[:space:]')

stage="$scratch/rmb-$version-linux-$arch"
mkdir -p "$stage/bin" "$stage/systemd"
for product in "${products[@]}"; do
  cp "$bin/$product" "$stage/bin/$product"
  strip "$stage/bin/$product"
done
# Only libc-level libraries may remain dynamic.
for product in "${products[@]}"; do
  if ldd "$stage/bin/$product" | grep -Ev 'linux-vdso|ld-linux|/libc\.so|/libm\.so|/libstdc\+\+\.so|/libgcc_s\.so|/libpthread\.so|/libdl\.so|/librt\.so|/libutil\.so' | grep -q .; then
    echo "$product still needs:" >&2; ldd "$stage/bin/$product" >&2; exit 1
  fi
done
cp config.toml.example "$stage/"
cp packaging/systemd/*.service packaging/systemd/*.env.example "$stage/systemd/"
cp packaging/INSTALL.md "$stage/"
mkdir -p "$out"
tar -C "$scratch" -czf "$out/rmb-$version-linux-$arch.tar.gz" "rmb-$version-linux-$arch"

deb="$scratch/deb"
mkdir -p "$deb/DEBIAN" "$deb/usr/bin" "$deb/lib/systemd/system" "$deb/usr/share/doc/rmb" "$deb/etc/rmb"
cp "$stage/bin/"* "$deb/usr/bin/"
cp packaging/systemd/*.service "$deb/lib/systemd/system/"
cp config.toml.example packaging/INSTALL.md "$deb/usr/share/doc/rmb/"
cp packaging/systemd/*.env.example "$deb/etc/rmb/"
chmod 0644 "$deb/lib/systemd/system/"* "$deb/usr/share/doc/rmb/"* "$deb/etc/rmb/"*
cat > "$deb/DEBIAN/control" <<CONTROL
Package: rmb
Version: $version
Architecture: $debarch
Maintainer: RMB for Swift <rmb-swift@localhost>
Depends: libc6, libstdc++6, libgcc-s1
Recommends: redis-server
Section: net
Priority: optional
Description: Reliable Message Bus (RMB) for Swift: rmb-peer, rmb-relay and the rmb CLI
 Wire-compatible with the reference rmb-rs relays and peers. The peer keeps sessions to all
 relays of its twin, a crash-safe LMDB store, and the Redis JSON API of the reference peer.
CONTROL
dpkg-deb --build --root-owner-group "$deb" "$out/rmb_${version}_${debarch}.deb" >/dev/null

ls -l "$out"
for product in "${products[@]}"; do
  printf '%-10s %6.1f MiB stripped (unstripped %5.1f MiB)\n' "$product" \
    "$(awk "BEGIN{print $(stat -c %s "$stage/bin/$product")/1048576}")" "$(awk "BEGIN{print $(stat -c %s "$bin/$product")/1048576}")"
done
