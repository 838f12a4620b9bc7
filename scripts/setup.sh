#!/usr/bin/env bash
# One-time set-up of a fresh Debian 12 machine for cskd (idempotent: installs only what is missing).
# Sourced by scripts/test.sh and scripts/demo.sh; exports PATH and XDG_RUNTIME_DIR.
#   - apt: mesa-vulkan-drivers (lavapipe, Vulkan on the CPU), chromium + chromium-driver (browser tests)
#   - rustup: the pinned toolchain and the wasm32-unknown-unknown target
#   - trunk 0.21.14, wasm-bindgen 0.2.130, wasm-pack 0.15.1: prebuilt from ../shared/bin when there,
#     else `cargo install` (30–45 min on 2 cores)
#   - npm: playwright-core, binaryen 132 (wasm-opt), uPlot (tests/browser/package-lock.json)
#   - CIFAR-10 (exported as CSKD_DATA: `cskd data-path`) and the demo's default data, a class-balanced
#     subset of it in www/assets/ (scripts/demo-data.sh)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SHARED="${SHARED:-$root/../shared}"
export SHARED

need_apt=()
dpkg -s mesa-vulkan-drivers >/dev/null 2>&1 || need_apt+=(mesa-vulkan-drivers)
dpkg -s chromium >/dev/null 2>&1 || need_apt+=(chromium)
dpkg -s chromium-driver >/dev/null 2>&1 || need_apt+=(chromium-driver)
command -v curl >/dev/null || need_apt+=(curl)
if ((${#need_apt[@]})); then
  echo "== apt-get install ${need_apt[*]}"
  SUDO=""; [[ $(id -u) -ne 0 ]] && SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi

toolchain="$(sed -n 's/^channel *= *"\(.*\)"/\1/p' "$root/rust-toolchain.toml")"
if ! rustup toolchain list | grep -q "^$toolchain"; then
  echo "== rustup toolchain install $toolchain"
  rustup toolchain install "$toolchain" --profile minimal
fi
if ! rustup target list --installed --toolchain "$toolchain" | grep -q wasm32-unknown-unknown; then
  echo "== rustup target add wasm32-unknown-unknown"
  rustup target add wasm32-unknown-unknown --toolchain "$toolchain"
fi

# Prebuilt tools when their versions are the pinned ones, else build them.
export PATH="$SHARED/bin:$HOME/.cargo/bin:$PATH"
have() { command -v "$1" >/dev/null && "$1" --version 2>/dev/null | grep -q "$2"; }
have trunk 0.21.14 || cargo install --locked trunk --version 0.21.14
have wasm-bindgen 0.2.130 || cargo install wasm-bindgen-cli --version 0.2.130
have wasm-pack 0.15.1 || cargo install --locked wasm-pack --version 0.15.1

if [[ ! -x "$root/tests/browser/node_modules/.bin/wasm-opt" || ! -d "$root/tests/browser/node_modules/playwright-core" ]]; then
  echo "== npm ci (tests/browser)"
  (cd "$root/tests/browser" && npm ci --no-audit --no-fund --loglevel=error)
fi
export PATH="$root/tests/browser/node_modules/.bin:$PATH"

# Mesa wants a private runtime dir; without one it prints a warning on every start.
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-/tmp/cskd-xdg-$(id -u)}"
mkdir -p "$XDG_RUNTIME_DIR" && chmod 700 "$XDG_RUNTIME_DIR"

# Where the CIFAR-10 archive is, by the CLI's one order (src/data/locate.rs): $CSKD_DATA, else
# $SHARED/data, else the download cache (downloading it there when none has it). Exported, so the
# Rust, Python and browser tests all read the same file.
CSKD_DATA="$(cd "$root" && cargo run --quiet --locked --bin cskd -- data-path --shared "$SHARED")"
export CSKD_DATA
echo "== CIFAR-10: $CSKD_DATA"

# The demo's default data (scripts/demo-data.sh: kept when up to date, else made).
"$root/scripts/demo-data.sh"
