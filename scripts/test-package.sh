#!/usr/bin/env bash
# Proves a release tarball (scripts/package.sh) runs where no Swift toolchain is: unpacks it,
# hides the toolchain's directory under an empty tmpfs in a private mount namespace (unshare -m,
# as root or with user namespaces), then checks that each binary links only libc-level system
# libraries, prints its version, and carries one request through a local network made of the
# packaged binaries (Redis, two relays, two peers, the echo service).
# Usage: scripts/test-package.sh dist/rmb-<version>-linux-<arch>.tar.gz
set -euo pipefail
cd "$(dirname "$0")/.."
tarball=${1:?usage: scripts/test-package.sh TARBALL}
if [ "${RMB_TOOLCHAIN_HIDDEN:-}" != 1 ]; then
  toolchain=$(dirname "$(dirname "$(dirname "$(readlink -f "$(command -v swift)")")")")
  echo "hiding the Swift toolchain ($toolchain) from the packaged binaries" >&2
  # As root a mount namespace alone (a user namespace would refuse some socket options); else both.
  namespace=(unshare -m); [ "$(id -u)" = 0 ] || namespace+=(--map-root-user)
  exec "${namespace[@]}" bash -c \
    "mount -t tmpfs tmpfs '$toolchain' && RMB_TOOLCHAIN_HIDDEN=1 PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin exec '$0' '$tarball'"
fi
command -v swift >/dev/null && { echo "the toolchain is still reachable" >&2; exit 1; }

dir="$(mktemp -d -t rmb-package-test.XXXXXX)"
tar -C "$dir" -xzf "$tarball"
bin=$(echo "$dir"/rmb-*/bin)
for product in rmb-peer rmb-relay rmb; do
  if ldd "$bin/$product" | grep -Ev 'linux-vdso|ld-linux|/libc\.so|/libm\.so|/libstdc\+\+\.so|/libgcc_s\.so|/libpthread\.so|/libdl\.so|/librt\.so|/libutil\.so' | grep -q .; then
    echo "$product needs more than libc-level libraries:" >&2; ldd "$bin/$product" >&2; exit 1
  fi
  echo "$product $("$bin/$product" --version)"
done

source scripts/lib/local-network.sh
redis_port=$(port); relay1=$(port); relay2=$(port)
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  redis-cli -p "$redis_port" shutdown nosave >/dev/null 2>&1 || true
  rm -rf "$dir"
}
trap cleanup EXIT
start_redis "$redis_port"
make_twins "$relay1" "$relay2"
start_relays "$redis_port" "$relay1" "$relay2"
RMB_MNEMONIC="${mnemonic[1]}" start peer1 "$bin/rmb-peer" --twins "$twins" --redis "redis://127.0.0.1:$redis_port/2" --store "$dir/store1"
RMB_MNEMONIC="${mnemonic[2]}" start peer2 "$bin/rmb-peer" --twins "$twins" --redis "redis://127.0.0.1:$redis_port/3" --store "$dir/store2"
start echo "$bin/rmb" service echo --redis "redis://127.0.0.1:$redis_port/3" --command echo
wait_connected 4
request='{"ver":1,"ref":"package-1","cmd":"echo","exp":60,"dat":"'$(printf 'from a packaged peer' | base64)'","dst":[2],"ret":"package.reply","shm":"text/plain","now":0}'
redis-cli -p "$redis_port" -n 2 LPUSH msgbus.system.local "$request" >/dev/null
reply=$(redis-cli -p "$redis_port" -n 2 BLPOP package.reply 20 | tail -n 1)
if ! echo "$reply" | grep -q '"ref":"package-1"'; then
  echo "no reply through the packaged network within 20 s" >&2
  for log in "$dir"/*.log; do echo "== $log"; tail -n 20 "$log"; done >&2
  exit 1
fi
echo "reply through the packaged binaries, toolchain hidden: $reply"
