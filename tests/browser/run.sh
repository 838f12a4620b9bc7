#!/usr/bin/env bash
# Build the browser front end and run the browser tests in headless Chromium (WebGPU on SwiftShader).
#
#   tests/browser/run.sh            build dist/ (trunk) and the npm package pkg/ (scripts/build-npm.sh), then test
#   tests/browser/run.sh --no-build test what is already in dist/ and pkg/
#
# The npm package tests install the packed pkg/cskd-VERSION.tgz (npm, offline) into examples/npm-embed
# and into temporary copies of examples/vite-app (built with vite) and examples/typecheck (tsc),
# with vite and typescript pinned in this folder's package.json.
#
# Needs: chromium (/usr/bin/chromium, or $CHROMIUM), node 20 + npm, cargo with the
# wasm32-unknown-unknown target (rust-toolchain.toml), and the prebuilt trunk 0.21.14,
# wasm-bindgen 0.2.130 and wasm-pack 0.15.1 from $SHARED/bin (or on PATH). wasm-opt comes from the
# npm package binaryen@132 installed here (Debian's binaryen 108 breaks wasm-bindgen 0.2.130 output).
# Env: SHARED, CHROMIUM, E2E_EPOCHS, E2E_TIMEOUT_MS, NPM_EMBED_STEPS, VITE_APP_STEPS, CSKD_TGZ (see the test files).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(git -C "$here" rev-parse --show-toplevel 2>/dev/null || (cd "$here/../.." && pwd))"
SHARED="${SHARED:-$root/../shared}"
build=1
[[ "${1:-}" == "--no-build" ]] && build=0

cd "$here"
if [[ ! -x node_modules/.bin/wasm-opt || ! -d node_modules/playwright-core || ! -x node_modules/.bin/vite || ! -x node_modules/.bin/tsc ]]; then
  echo "== npm ci (tests/browser)"
  npm ci --no-audit --no-fund
fi
export PATH="$SHARED/bin:$here/node_modules/.bin:$PATH"

need() { command -v "$1" >/dev/null || { echo "run.sh: $1 not found on PATH" >&2; exit 1; }; }
need node; need "${CHROMIUM:-/usr/bin/chromium}"

cd "$root"
if (( build )); then
  need cargo; need trunk; need wasm-bindgen; need wasm-pack; need wasm-opt
  check_version() { # tool, expected substring, command...
    local out; out="$("${@:3}" 2>&1 | head -n1)"
    [[ "$out" == *"$2"* ]] || { echo "run.sh: $1 must be $2, found: $out" >&2; exit 1; }
  }
  check_version trunk "0.21.14" trunk --version
  check_version wasm-bindgen "0.2.130" wasm-bindgen --version
  check_version wasm-opt "version 132" wasm-opt --version

  if [[ ! -f www/assets/cifar10-demo.tar.gz ]]; then
    echo "run.sh: www/assets/cifar10-demo.tar.gz is missing (the page's default data set; see www/assets/README.md)" >&2
    exit 1
  fi

  echo "== cargo fetch (trunk runs cargo with --offline)"
  cargo fetch --locked

  echo "== trunk build --release -> dist/"
  trunk build --release

  scripts/build-npm.sh
fi

ls -l dist/cskd.js dist/cskd_bg.wasm pkg/cskd-*.tgz

echo "== browser tests"
cd "$here"
exec node --test --test-concurrency=1 e2e.mjs npm-embed.test.mjs npm-package.test.mjs npm-worker.test.mjs vite-app.test.mjs survive.test.mjs rpc.test.mjs tsne.test.mjs tsne-browser.test.mjs lab.test.mjs layout.test.mjs verdict.test.mjs
