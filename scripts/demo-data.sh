#!/usr/bin/env bash
# The demo's default data: 100 training + 20 test images per class of CIFAR-10, written to $1
# (default www/assets/cifar10-demo.tar.gz). The source is, in order: $CSKD_DATA; a local copy in
# $SHARED/data (../shared beside the clone); else the official archive, which `cskd subset`
# downloads into ~/.cache/cskd with progress and an md5 check (CSKD_DOWNLOAD_URL /
# CSKD_DOWNLOAD_MD5 name a mirror). Without a network the CLI says how to point at a local copy.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SHARED="${SHARED:-$root/../shared}"
out="${1:-$root/www/assets/cifar10-demo.tar.gz}"

args=()
if [[ -n "${CSKD_DATA:-}" ]]; then
  args=(--data "$CSKD_DATA")
elif [[ -f "$SHARED/data/cifar-10-binary.tar.gz" ]]; then
  args=(--data "$SHARED/data/cifar-10-binary.tar.gz")
else
  echo "== no CSKD_DATA and no $SHARED/data: cskd downloads the official CIFAR-10 archive"
fi
echo "== demo subset -> $out"
cd "$root"
cargo run --quiet --locked --bin cskd -- subset "${args[@]}" --per-class 100 --test-per-class 20 --out "$out"
