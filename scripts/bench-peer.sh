#!/usr/bin/env bash
# The peer benchmark in one command (issue 5, Performance):
#   builds rmb, rmb-relay and rmb-peer in release (through /tmp/rmb-build.lock, so it never
#   races another build), starts a throwaway network like scripts/demo.sh — a local Redis, two
#   relays, two peers with fresh sr25519 identities (e2e keys on their twin records, durable LMDB
#   stores), an echo service behind the second peer, and a second echo service on a Redis
#   database without any peer for the bare-Redis baseline — then runs `rmb bench peer`:
#     closed loop, fixed rates, the bare-Redis baseline, a relay the requesting peer uses frozen
#     mid-stream (SIGSTOP for 5 s at 200/s and 1,000/s), and its failover (SIGKILL mid-stream).
# Options: --no-build (use the existing release binaries), --keep (keep logs and stores),
# --store-dir=DIR (put the peers' LMDB stores there, e.g. /dev/shm to see the peer without the
# disk's fsync latency), --echo-batch=N (how many requests both echo services take at once: 256 by
# default, 1 for a one-request-per-BRPOP app like the reference's examples), --bin=DIR (run the
# binaries in DIR instead, e.g. an unpacked release package; implies --no-build); anything else
# goes to `rmb bench peer` (e.g. --duration 5 --rates 500,1000).
set -euo pipefail
cd "$(dirname "$0")/.."
build=1 keep=0 extra=() store_dir="" echo_batch=256 bin_dir=""
for arg in "$@"; do
  case "$arg" in
    --no-build) build=0 ;;
    --keep) keep=1 ;;
    --store-dir=*) store_dir="${arg#--store-dir=}" ;;
    --echo-batch=*) echo_batch="${arg#--echo-batch=}" ;;
    --bin=*) bin_dir="${arg#--bin=}"; build=0 ;;
    *) extra+=("$arg") ;;
  esac
done
source scripts/lib/local-network.sh
[ "$build" = 1 ] && build_release
bin="${bin_dir:-$PWD/.build/release}"
dir="$(mktemp -d -t rmb-bench-peer.XXXXXX)"
redis_port=$(port); relay1=$(port); relay2=$(port)
stores="$dir"
[ -n "$store_dir" ] && stores="$(mktemp -d "$store_dir/rmb-bench-stores.XXXXXX")"
cleanup() {
  if [ "$stores" != "$dir" ] && [ "$keep" = 0 ]; then rm -rf "$stores"; fi
  stop_network
}
trap cleanup EXIT
trap 'exit 130' INT TERM

start_redis "$redis_port"
make_twins "$relay1" "$relay2"
start_relays "$redis_port" "$relay1" "$relay2"
RMB_MNEMONIC="${mnemonic[1]}" start peer1 "$bin/rmb-peer" --twins "$twins" --redis "redis://127.0.0.1:$redis_port/2" --store "$stores/store1"
RMB_MNEMONIC="${mnemonic[2]}" start peer2 "$bin/rmb-peer" --twins "$twins" --redis "redis://127.0.0.1:$redis_port/3" --store "$stores/store2"
start echo "$bin/rmb" service echo --redis "redis://127.0.0.1:$redis_port/3" --command echo --batch "$echo_batch"
start echo-baseline "$bin/rmb" service echo --redis "redis://127.0.0.1:$redis_port/5" --command echo --batch "$echo_batch"
wait_connected 4
echo "network: redis :$redis_port, relays :$relay1 (pid ${pid_of[relay1]}) :$relay2 (pid ${pid_of[relay2]}), peers twin 1 → twin 2 (echo), stores on $(df --output=source "$stores" | tail -n 1), echo services take up to $echo_batch requests at once"

redis_pid=$(redis-cli -p "$redis_port" info server | tr -d '\r' | sed -n 's/^process_id://p')
watch="peer1=${pid_of[peer1]},peer2=${pid_of[peer2]},relay1=${pid_of[relay1]},relay2=${pid_of[relay2]},echo=${pid_of[echo]},redis=$redis_pid"
"$bin/rmb" bench peer --redis "redis://127.0.0.1:$redis_port/2" --destination 2 --command echo \
  --modes closed,rate,baseline --baseline-redis "redis://127.0.0.1:$redis_port/5" --watch "$watch" "${extra[@]}"

# The relay the requesting peer ranks first right now (status.json is rewritten every 2 s).
sleep 2.5
in_use=$(python3 - "$stores/store1/status.json" <<'EOF'
import json, sys
relays = [r for r in json.load(open(sys.argv[1]))["relays"] if r["state"] == "connected" and r["rank"] >= 0]
best = min(relays, key=lambda r: r["rank"])
print(best["relay"].rsplit(":", 1)[1].rstrip("/"), " ".join(f'{r["relay"]}={r["confirmed_batches"]}' for r in relays))
EOF
)
read -r in_use_port batches <<<"$in_use"
victim=relay1; [ "$in_use_port" = "$relay2" ] && victim=relay2
echo "freeze: stopping $victim (:$in_use_port, ranked first by peer 1) for 5 s mid-stream, then resuming it"
"$bin/rmb" bench peer --redis "redis://127.0.0.1:$redis_port/2" --destination 2 --command echo \
  --modes freeze --freeze-pid "${pid_of[$victim]}" --freeze-for 5 --duration 12 "${extra[@]}"
echo "failover: killing $victim (:$in_use_port, ranked first by peer 1; confirmed batches so far: $batches)"
"$bin/rmb" bench peer --redis "redis://127.0.0.1:$redis_port/2" --destination 2 --command echo \
  --modes failover --kill-pid "${pid_of[$victim]}" --watch "peer1=${pid_of[peer1]},peer2=${pid_of[peer2]}" "${extra[@]}"
