#!/usr/bin/env bash
# Every test: native (cargo test on Vulkan/lavapipe), the set-up's data logic, the PyTorch twin,
# the wasm32 build, and the browser tests
# (wasm-bindgen-test API tests and Playwright end-to-end tests in headless Chromium, WebGPU on SwiftShader).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$root/scripts/setup.sh"
cd "$root"

echo "== cargo test (native, Vulkan)"
cargo test --locked

echo "== set-up data logic without ../shared (stub download)"
scripts/test-setup-data.sh

echo "== PyTorch twin (python/: logits, one CS-KD step, 2-process DDP vs cskd)"
scripts/test-python.sh

echo "== wasm-bindgen tests of the JS API (headless Chromium)"
# The runner's whole-run limit (20 s by default): every kernel of every family takes a minute on SwiftShader.
WASM_BINDGEN_TEST_TIMEOUT="${WASM_BINDGEN_TEST_TIMEOUT:-600}" CHROMEDRIVER=/usr/bin/chromedriver cargo test --locked --target wasm32-unknown-unknown --no-default-features --test web_api

echo "== browser end-to-end tests (demo page, npm package)"
tests/browser/run.sh
