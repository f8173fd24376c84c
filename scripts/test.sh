#!/usr/bin/env bash
# The full test suite: generated types, type check, layering rules, explorer bundle, then every test file on Node's runner.
set -euo pipefail
cd "$(dirname "$0")/.."
npx graphql-codegen --config codegen.ts --silent
npx tsc -p tsconfig.json --noEmit
# A wrong import between layers fails here, like a type error (rules: .dependency-cruiser.cjs).
npm run --silent layering
node scripts/build-explorer.mjs >/dev/null
shopt -s globstar nullglob
files=(test/**/*.test.ts)
if [ "${#files[@]}" -eq 0 ]; then echo "no test files found" >&2; exit 1; fi
exec node --import tsx --test --test-timeout=300000 "$@" "${files[@]}"
