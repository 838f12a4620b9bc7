#!/usr/bin/env bash
# Tests the set-up's data logic (scripts/demo-data.sh) on a machine without ../shared: with no
# CSKD_DATA and no local copy it must download (here from a stub server on 127.0.0.1 serving a
# small CIFAR-10 archive, via CSKD_DOWNLOAD_URL) and write the demo subset; with no network it
# must fail with the CLI's message. Uses a throwaway HOME so the download cache starts empty.
# Last, a real-data Rust test runs as on a user's clone: no CSKD_DATA, no ../shared, CIFAR-10 only
# in the download cache the set-up fills.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SHARED="${SHARED:-$root/../shared}"
work="$(mktemp -d)"
trap 'kill "${server:-}" 2>/dev/null || true; rm -rf "$work"' EXIT
cd "$root"
# The throwaway HOME must not hide the Rust toolchain.
export RUSTUP_HOME="${RUSTUP_HOME:-$HOME/.rustup}" CARGO_HOME="${CARGO_HOME:-$HOME/.cargo}"

# What the stub server serves: a small archive in the official layout, made by the CLI.
mkdir -p "$work/www"
real="$(cargo run --quiet --locked --bin cskd -- data-path --shared "$SHARED")"
cargo run --quiet --locked --bin cskd -- subset --data "$real" \
  --per-class 120 --test-per-class 60 --out "$work/www/cifar-10-binary.tar.gz" >/dev/null
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
python3 -m http.server "$port" --bind 127.0.0.1 --directory "$work/www" >/dev/null 2>&1 &
server=$!
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$port/" >/dev/null && break; sleep 0.1; done

echo "== set-up data without ../shared, downloading from a stub server"
md5=$(md5sum "$work/www/cifar-10-binary.tar.gz" | cut -d' ' -f1)
env -u CSKD_DATA HOME="$work/home" SHARED="$work/no-shared" \
  CSKD_DOWNLOAD_URL="http://127.0.0.1:$port/cifar-10-binary.tar.gz" CSKD_DOWNLOAD_MD5="$md5" \
  scripts/demo-data.sh "$work/demo.tar.gz" > "$work/log" 2>&1 || { cat "$work/log"; exit 1; }
grep -q "downloading http://127.0.0.1" "$work/log" || { cat "$work/log"; exit 1; }
[[ -f "$work/home/.cache/cskd/cifar-10-binary.tar.gz" ]] || { echo "no cached download"; exit 1; }
grep -q "1000 train + 500 test images" "$work/log" || { cat "$work/log"; exit 1; }
tar -tzf "$work/demo.tar.gz" | grep -q test_batch.bin

echo "== a wrong checksum is refused and nothing is cached"
if env -u CSKD_DATA HOME="$work/home2" SHARED="$work/no-shared" \
  CSKD_DOWNLOAD_URL="http://127.0.0.1:$port/cifar-10-binary.tar.gz" CSKD_DOWNLOAD_MD5=0123456789abcdef0123456789abcdef \
  scripts/demo-data.sh "$work/demo2.tar.gz" > "$work/log2" 2>&1; then
  echo "a wrong md5 was accepted"; exit 1
fi
grep -q "has md5" "$work/log2" && [[ ! -e "$work/home2/.cache/cskd/cifar-10-binary.tar.gz" ]]

echo "== no network: the CLI's message, no subset"
kill "$server"; wait "$server" 2>/dev/null || true
if env -u CSKD_DATA HOME="$work/home3" SHARED="$work/no-shared" \
  CSKD_DOWNLOAD_URL="http://127.0.0.1:$port/cifar-10-binary.tar.gz" \
  scripts/demo-data.sh "$work/demo3.tar.gz" > "$work/log3" 2>&1; then
  echo "succeeded without a network"; exit 1
fi
grep -q "could not be downloaded" "$work/log3" && grep -q "CSKD_DATA" "$work/log3"
[[ ! -e "$work/demo3.tar.gz" ]]

echo "== a real-data Rust test on a clone without ../shared and without CSKD_DATA (the cache only)"
mkdir -p "$work/home4/.cache/cskd"
ln -s "$(realpath "$real")" "$work/home4/.cache/cskd/cifar-10-binary.tar.gz"
found="$(env -u CSKD_DATA HOME="$work/home4" cargo run --quiet --locked --bin cskd -- data-path --shared "$work/no-shared")"
[[ "$found" == "$work/home4/.cache/cskd/cifar-10-binary.tar.gz" ]] || { echo "data-path found $found"; exit 1; }
env -u CSKD_DATA HOME="$work/home4" SHARED="$work/no-shared" cargo test --quiet --locked --test data_real
echo "set-up data logic: ok"
