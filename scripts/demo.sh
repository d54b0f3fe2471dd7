#!/usr/bin/env bash
# The main job, on an embedded default: builds the `rmb` CLI (release) and walks through what it
# does with the public test identities — no blockchain, no internet.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
swift build -c release --product rmb >&2
rmb=".build/release/rmb"
dev="bottom drive obey lake curtain smoke basket hold race lonely fit walk"
twins="$(mktemp -d)/twins.toml"
step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; "$@"; }

step "$rmb" key generate --words 12
step "$rmb" key inspect --mnemonic "$dev" --key-type sr25519
step "$rmb" key inspect --mnemonic "$dev" --key-type ed25519 --json
envelope=0a2436663163326433652d346235612d346336642d386537662d3061316232633364346535661880e2cfaa0620ac022a020807320208293a080a06746573746d654a416521b79225110580bcd3d7a8479827dbd0172aa5e23b42a640911b41e649debd75f58480ba689a1ef185b78c145d3302556bd4da34a441f4c1b7e41f55cb04250f52106170706c69636174696f6e2f6a736f6e6a117b2268656c6c6f223a22776f726c64227d
step "$rmb" envelope decode --hex "$envelope"
step "$rmb" envelope verify --hex "$envelope" --account 5DFJF7tY4bpbpcKPJcBTQaKuCDEPCpiz8TRjpmLeTtweqmXL
token=eyJhbGciOiJSUzUxMiJ9.eyJzdWIiOjcsInNpZCI6bnVsbCwiaWF0IjoxNzAwMDAwMDAwLCJleHAiOjE3MDAwMDAzMDB9.Zb7ii9F-vK8F92vNZUn6DUTIDOC81CtcC_AtaejePgyi91bGRTi8kCh8d3MTZZw_ipA0vf1spOnPvItzfAC9_gU
step "$rmb" jwt verify --token "$token" --account 5DFJF7tY4bpbpcKPJcBTQaKuCDEPCpiz8TRjpmLeTtweqmXL --ignore-expiry
if "$rmb" twin --help >/dev/null 2>&1; then
  step "$rmb" twin add --twins "$twins" --id 7 --account 5DfhGyQdFobKM8NsWvEeAKk5EQQgYe9AydgJ7rMB6E1EqRzV \
       --pk 035b26108e8b97479c547da4860d862dc08ab2c29ada449c74d5a9a58a6c46a8c4 --relay http://127.0.0.1:8081 --relay relay.example.com
  step "$rmb" twin show --twins "$twins" --id 7
fi
step "$rmb" bench crypto --iterations 2000
