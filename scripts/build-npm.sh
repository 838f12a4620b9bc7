#!/usr/bin/env bash
# Build the npm package `cskd` into pkg/ and pack it (pkg/cskd-VERSION.tgz):
#   1. wasm-pack build --target web --release --no-default-features (the library, no CLI)
#   2. node npm/finish-package.mjs: Web Worker helper (npm/worker.js, npm/trainer-worker.js and their
#      request/reply module rpc.js, copied from www/shared/rpc.js), npm README, licence, complete package.json
#   3. npm pack
# Needs wasm-pack 0.15.1, wasm-bindgen 0.2.130 (prebuilt in $SHARED/bin, else on PATH) and
# wasm-opt from binaryen@132 (tests/browser/node_modules, installed by scripts/setup.sh).
#   scripts/build-npm.sh            build, finish and pack
#   scripts/build-npm.sh --finish   only steps 2 and 3 (after editing npm/, without recompiling)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SHARED="${SHARED:-$root/../shared}"
export PATH="$SHARED/bin:$root/tests/browser/node_modules/.bin:$PATH"
cd "$root"

if [[ "${1:-}" != "--finish" ]]; then
  for tool in wasm-pack wasm-bindgen wasm-opt; do
    command -v "$tool" >/dev/null || { echo "build-npm.sh: $tool not found on PATH (run scripts/setup.sh)" >&2; exit 1; }
  done
  echo "== wasm-pack build --target web -> pkg/"
  wasm-pack build --target web --release --no-default-features
fi

echo "== finish the package (npm/finish-package.mjs)"
node npm/finish-package.mjs pkg

echo "== npm pack"
rm -f pkg/cskd-*.tgz
tgz="$(cd pkg && npm pack --silent | tail -n1)"
ls -l "pkg/$tgz"
