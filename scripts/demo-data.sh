#!/usr/bin/env bash
# The demo's default data: 100 training + 50 test images per class of CIFAR-10, written to $1
# (default www/assets/cifar10-demo.tar.gz). The source is where `cskd data-path` finds CIFAR-10
# (src/data/locate.rs): $CSKD_DATA; a local copy in $SHARED/data (../shared beside the clone); else
# the download cache, downloading the official archive there with progress, a stall limit and an
# md5 check (CSKD_DOWNLOAD_URL / CSKD_DOWNLOAD_MD5 name a mirror). Without a network the CLI says
# how to point at a local copy. A stamp beside the subset records what it holds: a subset already
# there with this composition is kept, an older one (another composition) is replaced.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SHARED="${SHARED:-$root/../shared}"
out="${1:-$root/www/assets/cifar10-demo.tar.gz}"
per_class=100 test_per_class=50  # the page's software preset evaluates 50 test images per class
stamp="$out.stamp" composition="$per_class train + $test_per_class test images per class"
if [[ -f "$out" && "$(cat "$stamp" 2>/dev/null)" == "$composition" ]]; then
  echo "== demo subset up to date: $out ($composition)"
  exit 0
fi
cd "$root"
data="$(cargo run --quiet --locked --bin cskd -- data-path --shared "$SHARED")"
echo "== demo subset of $data -> $out"
cargo run --quiet --locked --bin cskd -- subset --data "$data" --per-class "$per_class" --test-per-class "$test_per_class" --out "$out"
echo "$composition" > "$stamp"
