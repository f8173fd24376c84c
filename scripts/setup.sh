#!/usr/bin/env bash
# Provisions a Debian machine for Reactor (Docker engine, nginx, npm packages, build), idempotently.
#   bash scripts/setup.sh           install what is missing, start dockerd, build
#   bash scripts/setup.sh --start   the same, then run `reactor server` in the foreground
#   bash scripts/setup.sh --test    also the test tools: busybox-static, chromium, FerretDB
set -euo pipefail
cd "$(dirname "$0")/.."

with_test=0
start=0
for arg in "$@"; do
  case "$arg" in
    --test) with_test=1 ;;
    --start) start=1 ;;
    *) echo "setup.sh: unknown option $arg (use --start or --test)" >&2; exit 2 ;;
  esac
done

say() { echo "setup: $*" >&2; }
sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi

# --- Debian packages -------------------------------------------------------
packages=()
command -v dockerd >/dev/null || packages+=(docker.io)
[ -x /usr/sbin/nginx ] || command -v nginx >/dev/null || packages+=(nginx-light)
command -v openssl >/dev/null || packages+=(openssl)
command -v curl >/dev/null || packages+=(curl)
if [ "$with_test" = 1 ]; then
  [ -x /bin/busybox ] || [ -x /usr/bin/busybox ] || packages+=(busybox-static)
  [ -x /usr/bin/chromium ] || packages+=(chromium)
  command -v go >/dev/null || [ -x /usr/local/go/bin/go ] || packages+=(golang-go)
fi
if [ "${#packages[@]}" -gt 0 ]; then
  say "installing ${packages[*]}"
  $sudo apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q "${packages[@]}"
fi

# --- Docker engine ---------------------------------------------------------
# Published ports stay on loopback unless an endpoint says otherwise.
if ! $sudo docker info >/dev/null 2>&1; then
  if [ -d /run/systemd/system ]; then
    say "starting docker through systemd"
    $sudo systemctl start docker
  else
    say "starting dockerd --ip 127.0.0.1 (log: /var/log/reactor-dockerd.log)"
    $sudo sh -c 'nohup dockerd --ip 127.0.0.1 >/var/log/reactor-dockerd.log 2>&1 &'
  fi
  for _ in $(seq 1 60); do $sudo docker info >/dev/null 2>&1 && break; sleep 0.5; done
  $sudo docker info >/dev/null 2>&1 || { say "dockerd did not come up; see /var/log/reactor-dockerd.log"; exit 1; }
fi

# --- npm packages and build ------------------------------------------------
# better-sqlite3 compiles from source against the local Node headers (.npmrc: nodedir=/usr).
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  say "npm ci"
  npm ci --no-audit --no-fund
fi
say "building"
npm run --silent build
# `reactor` on PATH (a symlink to this checkout's bin/reactor.js).
command -v reactor >/dev/null || $sudo npm link --no-audit --no-fund >/dev/null

# --- test tools ------------------------------------------------------------
if [ "$with_test" = 1 ] && [ ! -x .tools/bin/ferretdb ]; then
  say "building FerretDB v1.24.2 (MongoDB-compatible server for the store tests)"
  go_bin=$(command -v go || echo /usr/local/go/bin/go)
  mkdir -p .tools/bin
  GOBIN="$PWD/.tools/bin" "$go_bin" install github.com/FerretDB/FerretDB/cmd/ferretdb@v1.24.2
fi

if [ "$start" = 1 ]; then
  say "starting reactor server on http://127.0.0.1:8080/graphql"
  exec node bin/reactor.js server
fi
say "done"
