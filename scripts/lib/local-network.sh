# Shared by scripts/demo.sh, bench-peer.sh and bench-direct.sh (sourced, not run): the pieces of a local
# RMB network on loopback. The caller sets `bin` (directory of rmb, rmb-relay, rmb-peer) and
# `dir` (logs, stores, twin file), and stops it on exit (`stop_network` kills `pids`).

# build_release: rmb, rmb-relay and rmb-peer in release, through /tmp/rmb-build.lock (never two
# builds at once).
build_release() {
  echo "building release (waits for /tmp/rmb-build.lock; the first build takes several minutes)…" >&2
  for product in rmb rmb-relay rmb-peer; do flock /tmp/rmb-build.lock swift build -c release --product "$product" >&2; done
}

# A free TCP port on 127.0.0.1.
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }

pids=()
declare -A pid_of
# start NAME COMMAND…: runs it in the background, output in $dir/NAME.log.
start() { local name=$1; shift; "$@" >"$dir/$name.log" 2>&1 & pids+=($!); pid_of[$name]=$!; }

# start_redis PORT: a throwaway redis-server without persistence; returns once it answers.
start_redis() {
  redis-server --port "$1" --bind 127.0.0.1 --save "" --appendonly no --daemonize yes \
    --dir "$dir" --logfile "$dir/redis.log" >/dev/null
  for _ in $(seq 50); do redis-cli -p "$1" ping >/dev/null 2>&1 && break; sleep 0.1; done
}

# make_twins RELAY_PORT…: twins 1 and 2 (or those in `twin_ids`) with fresh sr25519 identities in
# $dir/twins.toml, each listing every relay; sets `twins` and `mnemonic[1]`, `mnemonic[2]`, ….
declare -A mnemonic
make_twins() {
  twins="$dir/twins.toml"
  local relays=() relay twin key
  for relay in "$@"; do relays+=(--relay "http://127.0.0.1:$relay"); done
  field() { python3 -c "import json,sys; print(json.load(sys.stdin)['$1'])"; }
  for twin in ${twin_ids:-1 2}; do
    key=$("$bin/rmb" key generate --json)
    mnemonic[$twin]=$(echo "$key" | field mnemonic)
    "$bin/rmb" twin add --twins "$twins" --id "$twin" --account "$(echo "$key" | field account_ss58)" \
      --pk "$(echo "$key" | field e2e_public_key)" "${relays[@]}" >/dev/null
  done
}

# start_relays REDIS_PORT RELAY_PORT…: relay N (from 1) on its port, Redis database N-1.
start_relays() {
  local redis_port=$1; shift
  local index=1 relay
  for relay in "$@"; do
    start "relay$index" "$bin/rmb-relay" --domain "127.0.0.1:$relay" --listen "127.0.0.1:$relay" \
      --redis "redis://127.0.0.1:$redis_port/$((index - 1))" --twins "$twins"
    index=$((index + 1))
  done
  sleep 1
}

# wait_connected N: until peers 1 and 2 logged N relay connections in all (at most 10 s).
wait_connected() {
  for _ in $(seq 100); do
    [ "$(grep -c 'relay connected' "$dir/peer1.log" "$dir/peer2.log" | awk -F: '{s+=$2} END {print s}')" -ge "$1" ] && break
    sleep 0.1
  done
}

# stop_network: kills what `start` started, stops Redis (on $redis_port), and removes $dir
# unless `keep` is 1.
stop_network() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  redis-cli -p "$redis_port" shutdown nosave >/dev/null 2>&1 || true
  if [ "${keep:-0}" = 1 ]; then echo "logs and stores kept in $dir" >&2; else rm -rf "$dir"; fi
}
