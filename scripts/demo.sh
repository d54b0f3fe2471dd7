#!/usr/bin/env bash
# The main job, on an embedded default — no blockchain, no internet:
#   a local Redis, two relays, two peers with fresh identities written to a local twin file
#   (each peer holds sessions to both relays), and an echo service behind the second peer.
# It sends one request through the network, prints the reply and the relay it took, then keeps
# serving until Ctrl-C and prints a redis-cli line to send your own request.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
config="${RMB_BUILD_CONFIGURATION:-release}"
echo "building ($config; the first build takes several minutes)…" >&2
for product in rmb rmb-relay rmb-peer; do swift build -c "$config" --product "$product" >&2; done
bin="$PWD/.build/$config"
dir="$(mktemp -d -t rmb-demo.XXXXXX)"
source scripts/lib/local-network.sh
redis_port=$(port); relay1=$(port); relay2=$(port); metrics1=$(port)
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  redis-cli -p "$redis_port" shutdown nosave >/dev/null 2>&1 || true
  echo "logs and stores were in $dir" >&2
}
trap cleanup EXIT
trap 'exit 130' INT TERM

start_redis "$redis_port"
make_twins "$relay1" "$relay2"
echo "twin file: $twins"; cat "$twins" | grep -v '^#'

start_relays "$redis_port" "$relay1" "$relay2"
RMB_MNEMONIC="${mnemonic[1]}" start peer1 "$bin/rmb-peer" -d --twins "$twins" --redis "redis://127.0.0.1:$redis_port/2" --store "$dir/store1" \
  --metrics "127.0.0.1:$metrics1"
RMB_MNEMONIC="${mnemonic[2]}" start peer2 "$bin/rmb-peer" -d --twins "$twins" --redis "redis://127.0.0.1:$redis_port/3" --store "$dir/store2"
start echo "$bin/rmb" service echo --redis "redis://127.0.0.1:$redis_port/3" --command echo
wait_connected 4
echo
echo "network up: redis :$redis_port, relays :$relay1 :$relay2, peers twin 1 (db 2) and twin 2 (db 3, echo service)"

request='{"ver":1,"ref":"demo-1","cmd":"echo","exp":60,"dat":"'$(printf 'hello from twin 1' | base64)'","dst":[2],"ret":"demo.reply","shm":"text/plain","now":0}'
echo
echo "twin 1 → twin 2: $request"
redis-cli -p "$redis_port" -n 2 LPUSH msgbus.system.local "$request" >/dev/null
reply=$(redis-cli -p "$redis_port" -n 2 BLPOP demo.reply 20 | tail -n 1)
[ -n "$reply" ] || { echo "no reply within 20 s; see the logs in $dir" >&2; exit 1; }
echo "reply:          $reply"
echo "payload:        $(echo "$reply" | field dat | base64 -d)"
echo "request went via relay $(grep 'batch confirmed' "$dir/peer1.log" | head -n 1 | sed -E 's/.*relay=([^ ]+).*/\1/')," \
     "reply via relay $(grep 'batch confirmed' "$dir/peer2.log" | head -n 1 | sed -E 's/.*relay=([^ ]+).*/\1/')"
echo
echo "Serving until Ctrl-C. Send your own request (twin 1 asks twin 2's echo service, or rmb.version):"
echo "  redis-cli -p $redis_port -n 2 LPUSH msgbus.system.local '{\"ver\":1,\"ref\":\"mine\",\"cmd\":\"rmb.version\",\"exp\":60,\"dat\":\"\",\"dst\":[2],\"ret\":\"my.reply\",\"now\":0}'"
echo "  redis-cli -p $redis_port -n 2 BLPOP my.reply 10"
echo "Peer 1's relay health, queue depths and counters:"
echo "  $bin/rmb peer status --store $dir/store1"
echo "  curl -s http://127.0.0.1:$metrics1/metrics | grep '^rmb_peer'"
wait
