#!/usr/bin/env bash
# Puts `reactor` on PATH for this checkout (npm link), and says which checkout it runs: a link left by another clone is replaced, never kept silently.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { echo "setup: $*" >&2; }
sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi

here=$(readlink -f bin/reactor.js)
runs() { local found; found=$(command -v reactor || true); [ -n "$found" ] && readlink -f "$found" || true; }

before=$(runs)
if [ "$before" != "$here" ]; then
  if [ -n "$before" ]; then say "reactor on PATH ran $before; linking it to this checkout"; fi
  $sudo npm link --no-audit --no-fund >/dev/null
  hash -r
fi
after=$(runs)
if [ "$after" = "$here" ]; then
  say "reactor on PATH runs this checkout: $here"
else
  say "warning: reactor on PATH runs ${after:-nothing} (npm's global bin, $(npm prefix -g)/bin, comes later on PATH); run $here directly, or put $(npm prefix -g)/bin first"
fi
