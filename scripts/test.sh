#!/usr/bin/env bash
# Every test: native (cargo test on Vulkan/lavapipe), the wasm32 build, and the browser tests
# (wasm-bindgen-test API tests and Playwright end-to-end tests in headless Chromium, WebGPU on SwiftShader).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$root/scripts/setup.sh"
cd "$root"

echo "== cargo test (native, Vulkan)"
cargo test --locked

echo "== cargo check --target wasm32-unknown-unknown"
cargo check --locked --target wasm32-unknown-unknown --no-default-features

echo "== browser tests"
tests/browser/run.sh
