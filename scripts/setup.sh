#!/usr/bin/env bash
# Provisions a Debian machine for Reactor (Docker engine, nginx, npm packages, build), idempotently.
#   bash scripts/setup.sh           install what is missing, start dockerd, build
#   bash scripts/setup.sh --start   the same, then run `reactor server` in the foreground
#   bash scripts/setup.sh --test    also the test tools: busybox-static, chromium, promtool (prometheus), FerretDB
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

# --- Node ------------------------------------------------------------------
# package.json "engines" asks for Node >= 20.19 (Debian 12's own nodejs is 18).
if ! command -v node >/dev/null || ! node -e 'const [a, b] = process.versions.node.split(".").map(Number); process.exit(a > 20 || (a === 20 && b >= 19) ? 0 : 1)'; then
  say "Reactor needs Node.js >= 20.19 and npm; found $(node --version 2>/dev/null || echo 'no node'). Install Node 20 LTS or newer (https://nodejs.org/en/download, or NodeSource's Debian packages), then run this again."
  exit 1
fi

# --- Debian packages -------------------------------------------------------
packages=()
command -v dockerd >/dev/null || packages+=(docker.io)
[ -x /usr/sbin/nginx ] || command -v nginx >/dev/null || packages+=(nginx-light)
# The Lua balancer (membership changes without a reload): its module and ngx.balancer.
[ -f /usr/lib/nginx/modules/ngx_http_lua_module.so ] || packages+=(libnginx-mod-http-lua)
[ -f /usr/share/lua/5.1/resty/core.lua ] || packages+=(lua-resty-core)
command -v openssl >/dev/null || packages+=(openssl)
command -v curl >/dev/null || packages+=(curl)
if [ "$with_test" = 1 ]; then
  [ -x /bin/busybox ] || [ -x /usr/bin/busybox ] || packages+=(busybox-static)
  [ -x /usr/bin/chromium ] || packages+=(chromium)
  command -v go >/dev/null || [ -x /usr/local/go/bin/go ] || packages+=(golang-go)
  # promtool, which checks /metrics in the tests.
  command -v promtool >/dev/null || packages+=(prometheus)
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
# `reactor` on PATH runs this checkout (a link to another clone is replaced, and said).
bash scripts/link-cli.sh

# --- test tools ------------------------------------------------------------
# `go install …ferretdb@v1.24.2` builds a binary that panics at start ("Invalid
# build/version/version.txt"): the module zip lacks that file's content, so build
# from the module source with it filled in. --version proves the binary works.
if [ "$with_test" = 1 ] && ! .tools/bin/ferretdb --version >/dev/null 2>&1; then
  say "building FerretDB v1.24.2 (MongoDB-compatible server for the store tests)"
  go_bin=$(command -v go || echo /usr/local/go/bin/go)
  mkdir -p .tools/bin
  module_dir=$("$go_bin" mod download -json github.com/FerretDB/FerretDB@v1.24.2 |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["Dir"])')
  build_dir=$(mktemp -d)
  cp -r "$module_dir" "$build_dir/ferretdb"
  chmod -R u+w "$build_dir/ferretdb"
  echo v1.24.2 > "$build_dir/ferretdb/build/version/version.txt"
  (cd "$build_dir/ferretdb" && "$go_bin" build -o "$OLDPWD/.tools/bin/ferretdb" ./cmd/ferretdb)
  rm -rf "$build_dir"
  .tools/bin/ferretdb --version >/dev/null
fi

if [ "$start" = 1 ]; then
  say "starting reactor server on http://127.0.0.1:8080/graphql"
  exec node bin/reactor.js server
fi
say "done"
