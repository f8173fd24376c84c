#!/usr/bin/env bash
# Extra Docker engines beside the main one, so one machine stands in for several hosts in the cluster tests.
#   bash scripts/engines.sh start [N]   engines 2..N (default 3), each answering, with the test image loaded
#   bash scripts/engines.sh stop        stops every extra engine (by its pidfile) and deletes its bridge
#   bash scripts/engines.sh status      which extra engines answer
# Engine K (recipe: shared/FACTS.md, "More Docker engines on one machine"):
#   socket unix:///run/reactor-dK/docker.sock, bridge reactor-brK, data /var/lib/reactor-dK,
#   published ports on 127.0.0.K, --iptables=false (its containers are reached through docker-proxy).
# Idempotent: an engine that already answers is left alone; `start` twice or `stop` twice is harmless.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { echo "engines: $*" >&2; }
die() { say "$*"; exit 1; }

# Engines 2 and 3 have the subnets FACTS.md names; more would leave 172.16.0.0/12.
MAX_ENGINES=3
READY_SECONDS=60
STOP_SECONDS=30
TEST_IMAGE=${REACTOR_TEST_IMAGE:-reactor-test/httpd:1}

run_dir() { echo "/run/reactor-d$1"; }
socket() { echo "$(run_dir "$1")/docker.sock"; }
pidfile() { echo "$(run_dir "$1")/docker.pid"; }
bridge() { echo "reactor-br$1"; }
subnet() { echo "172.$((28 + $1)).0.1/24"; }
engine() { local k=$1; shift; docker -H "unix://$(socket "$k")" "$@"; }
answers() { [ -S "$(socket "$1")" ] && engine "$1" info >/dev/null 2>&1; }

# The pid in engine K's pidfile, when that process is a live dockerd.
live_pid() {
  local file pid
  file=$(pidfile "$1")
  [ -f "$file" ] || return 1
  pid=$(cat "$file" 2>/dev/null || true)
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  [ -r "/proc/$pid/cmdline" ] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q "dockerd" || return 1
  echo "$pid"
}

need_root() {
  [ "$(id -u)" -eq 0 ] || die "run as root (starting dockerd and creating bridges needs it): sudo bash scripts/engines.sh $*"
}

ensure_bridge() {
  local k=$1 name address
  name=$(bridge "$k")
  address=$(subnet "$k")
  ip link show "$name" >/dev/null 2>&1 || ip link add "$name" type bridge
  ip -4 addr show dev "$name" | grep -q "inet ${address%/*}/" || ip addr add "$address" dev "$name"
  ip link set "$name" up
}

# 127.0.0.K must be a local address (it is, on Linux, through 127.0.0.0/8 on lo).
check_loopback() {
  local k=$1
  ip route get "127.0.0.$k" 2>/dev/null | grep -q "dev lo" ||
    die "127.0.0.$k is not routed to the loopback device on this machine; engine $k publishes its ports there"
}

start_engine() {
  local k=$1 log pid
  if answers "$k"; then
    say "engine $k answers at unix://$(socket "$k"); leaving it alone"
    return
  fi
  check_loopback "$k"
  ensure_bridge "$k"
  mkdir -p "$(run_dir "$k")/exec" "/var/lib/reactor-d$k"
  log="/var/log/reactor-d$k.log"
  if pid=$(live_pid "$k"); then
    say "engine $k (pid $pid) is running but not answering yet; waiting for it"
  else
    say "starting engine $k on unix://$(socket "$k") (bridge $(bridge "$k") $(subnet "$k"), ports on 127.0.0.$k, log $log)"
    # setsid: the engine outlives this script and is no child of the test run.
    setsid nohup dockerd \
      --host "unix://$(socket "$k")" \
      --data-root "/var/lib/reactor-d$k" \
      --exec-root "$(run_dir "$k")/exec" \
      --pidfile "$(pidfile "$k")" \
      -b "$(bridge "$k")" \
      --iptables=false \
      --ip "127.0.0.$k" \
      >"$log" 2>&1 </dev/null &
  fi
  for _ in $(seq 1 $((READY_SECONDS * 4))); do
    answers "$k" && break
    sleep 0.25
  done
  answers "$k" || die "engine $k did not answer at unix://$(socket "$k") within ${READY_SECONDS} s; last lines of $log:
$(tail -n 20 "$log" 2>/dev/null)"
  say "engine $k answers"
}

# The test image as the main engine has it (built there first when missing; test/support/images.ts knows how).
ensure_main_image() {
  docker image inspect "$TEST_IMAGE" >/dev/null 2>&1 && return
  say "building $TEST_IMAGE in the main engine"
  node --import tsx --input-type=module -e "
    const { ensureTestImage } = await import('./test/support/images.ts');
    ensureTestImage(process.argv[1]);" "$TEST_IMAGE"
}

# Loads the main engine's test image into engine K unless it already has that very image (same id).
load_image() {
  local k=$1 want have
  want=$(docker image inspect -f '{{.Id}}' "$TEST_IMAGE")
  have=$(engine "$k" image inspect -f '{{.Id}}' "$TEST_IMAGE" 2>/dev/null || true)
  if [ "$want" = "$have" ]; then return; fi
  say "loading $TEST_IMAGE into engine $k"
  docker save "$TEST_IMAGE" | engine "$k" load >/dev/null
}

stop_engine() {
  local k=$1 pid
  if pid=$(live_pid "$k"); then
    say "stopping engine $k (pid $pid)"
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 $((STOP_SECONDS * 4))); do
      [ -d "/proc/$pid" ] || break
      sleep 0.25
    done
    if [ -d "/proc/$pid" ]; then
      say "engine $k (pid $pid) did not stop within ${STOP_SECONDS} s; killing it"
      kill -KILL "$pid" 2>/dev/null || true
    fi
  fi
  if ip link show "$(bridge "$k")" >/dev/null 2>&1; then
    ip link del "$(bridge "$k")"
  fi
}

# Every extra engine this script may have started: those with a run directory or a bridge.
known_engines() {
  local k
  for k in $(seq 2 "$MAX_ENGINES"); do
    if [ -d "$(run_dir "$k")" ] || ip link show "$(bridge "$k")" >/dev/null 2>&1; then echo "$k"; fi
  done
}

command=${1:-}
case "$command" in
  start)
    count=${2:-3}
    [[ "$count" =~ ^[0-9]+$ ]] && [ "$count" -ge 1 ] && [ "$count" -le "$MAX_ENGINES" ] ||
      die "start: N must be a whole number from 1 to $MAX_ENGINES (engines 2..N beside the main one), not \"$count\""
    need_root start
    docker info >/dev/null 2>&1 || die "the main engine (unix:///var/run/docker.sock) does not answer; run bash scripts/setup.sh first"
    [ "$count" -ge 2 ] || exit 0
    ensure_main_image
    for k in $(seq 2 "$count"); do
      start_engine "$k"
      load_image "$k"
    done
    ;;
  stop)
    need_root stop
    for k in $(known_engines); do stop_engine "$k"; done
    ;;
  status)
    for k in $(seq 2 "$MAX_ENGINES"); do
      if answers "$k"; then echo "engine $k: unix://$(socket "$k") answers (pid $(live_pid "$k" || echo '?'))"
      else echo "engine $k: not running"; fi
    done
    ;;
  *)
    die "usage: bash scripts/engines.sh start [N] | stop | status"
    ;;
esac
