#!/usr/bin/env bash
# The full test suite: generated types, type check, layering rules, explorer bundle, extra Docker engines, then every test file on Node's runner.
set -euo pipefail
cd "$(dirname "$0")/.."
npx graphql-codegen --config codegen.ts --silent
npx tsc -p tsconfig.json --noEmit
# A wrong import between layers fails here, like a type error (rules: .dependency-cruiser.cjs).
npm run --silent layering
node scripts/build-explorer.mjs >/dev/null
node scripts/build-dashboard.mjs >/dev/null
shopt -s globstar nullglob
files=(test/**/*.test.ts)
if [ "${#files[@]}" -eq 0 ]; then echo "no test files found" >&2; exit 1; fi
# The cluster tests run one server per Docker engine: engines 2 and 3 beside the main one
# (scripts/engines.sh). Engines this run starts are stopped when it ends, however it ends;
# engines that were already answering are left running for whoever started them.
sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
engines_before=$($sudo bash scripts/engines.sh status | grep -c answers || true)
if [ "$engines_before" -lt 2 ]; then trap '$sudo bash scripts/engines.sh stop' EXIT; fi
$sudo bash scripts/engines.sh start 3
node --import tsx --test --test-timeout=300000 "$@" "${files[@]}"
