#!/usr/bin/env bash
# The direct-peer benchmark in one command (issue 17, Performance): builds rmb, rmb-relay and
# rmb-peer in release (through /tmp/rmb-build.lock), starts ONE relay, two rmb-peers (twin 1 → twin
# 2, an echo service behind twin 2; the rmb-peer path) and a direct-peer echo service for twin 4
# (`rmb service direct-echo`), all with sr25519 + e2e keys; then, in one `rmb bench peer` run per
# store setting, side by side:
#   rmb-peer path  hand-written load through twin 1's Redis (closed loop, --rates)
#   client         the same through the RMBClient library
#   direct         an RMBDirectPeer for twin 3 in the bench process calling twin 4
# once with both direct peers on durable LMDB stores, once without stores.
# Options: --no-build, --keep, --bin=DIR (as scripts/bench-peer.sh); the rest goes to
# `rmb bench peer` (default here: --rates 500 --duration 10); BENCH_MODES=direct runs only the direct peer;
# BENCH_MODES=paired alternates the two paths in --rounds rounds (median and range of the ratios).
set -euo pipefail
cd "$(dirname "$0")/.."
build=1 keep=0 extra=() bin_dir=""
for arg in "$@"; do
  case "$arg" in
    --no-build) build=0 ;;
    --keep) keep=1 ;;
    --bin=*) bin_dir="${arg#--bin=}"; build=0 ;;
    *) extra+=("$arg") ;;
  esac
done
[ ${#extra[@]} -eq 0 ] && extra=(--rates 500 --duration 10)
source scripts/lib/local-network.sh
[ "$build" = 1 ] && build_release
bin="${bin_dir:-$PWD/.build/release}"
dir="$(mktemp -d -t rmb-bench-direct.XXXXXX)"
redis_port=$(port); relay1=$(port)
trap stop_network EXIT
trap 'exit 130' INT TERM

start_redis "$redis_port"
twin_ids="1 2 3 4" make_twins "$relay1"
start_relays "$redis_port" "$relay1"
# Watched too: the one Redis serves the rmb-peer path's queues and the relay's.
redis_pid=$(redis-cli -p "$redis_port" info server | sed -n 's/^process_id:\([0-9]*\).*/\1/p')
RMB_MNEMONIC="${mnemonic[1]}" start peer1 "$bin/rmb-peer" --twins "$twins" --redis "redis://127.0.0.1:$redis_port/2" --store "$dir/store1"
RMB_MNEMONIC="${mnemonic[2]}" start peer2 "$bin/rmb-peer" --twins "$twins" --redis "redis://127.0.0.1:$redis_port/3" --store "$dir/store2"
start echo "$bin/rmb" service echo --redis "redis://127.0.0.1:$redis_port/3" --command echo
wait_connected 2

for setting in store none; do
  store_args=() caller_store=()
  if [ "$setting" = store ]; then store_args=(--store "$dir/direct-store4"); caller_store=(--direct-store "$dir/direct-store3"); fi
  RMB_MNEMONIC="${mnemonic[4]}" start "direct-echo-$setting" "$bin/rmb" service direct-echo --twins "$twins" --command echo "${store_args[@]}"
  for _ in $(seq 100); do grep -q 'relay connected' "$dir/direct-echo-$setting.log" && break; sleep 0.1; done
  echo "== direct peers $([ "$setting" = store ] && echo "with durable LMDB stores" || echo "without stores"); one relay :$relay1"
  watch="peer1=${pid_of[peer1]},peer2=${pid_of[peer2]},relay=${pid_of[relay1]},echo=${pid_of[echo]},direct-echo=${pid_of[direct-echo-$setting]},redis=$redis_pid"
  RMB_DIRECT_MNEMONIC="${mnemonic[3]}" "$bin/rmb" bench peer --redis "redis://127.0.0.1:$redis_port/2" --destination 2 --command echo \
    --modes "${BENCH_MODES:-closed,rate,client,direct}" --direct-twins "$twins" --direct-destination 4 "${caller_store[@]}" --watch "$watch" "${extra[@]}"
  kill "${pid_of[direct-echo-$setting]}" 2>/dev/null || true
done
