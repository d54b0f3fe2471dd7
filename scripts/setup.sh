#!/usr/bin/env bash
# Installs the Debian packages RMB for Swift needs, if any is missing. Idempotent and quiet
# when everything is there. Uses sudo when not run as root.
set -euo pipefail
packages=(libsodium-dev libsecp256k1-dev libssl-dev liblmdb-dev libhiredis-dev zlib1g-dev redis-server pkg-config openssl)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}" >&2
  sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
command -v swift >/dev/null || { echo "setup: the Swift toolchain (swift 6.x) must be on PATH" >&2; exit 1; }
