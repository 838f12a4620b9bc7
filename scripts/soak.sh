#!/usr/bin/env bash
# Soak test, outside CI: a long native training run (default 60 min) at nice 19, logging RSS and
# the buffer pool every minute to a CSV, then a summary (first/last/max RSS after warm-up, pool).
#   scripts/soak.sh [MINUTES] [CSV]         (default 60, runs/soak.csv)
# The browser soak is separate: node tests/browser/soak.mjs (see its header).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
minutes="${1:-60}"
csv="${2:-runs/soak.csv}"
mkdir -p "$(dirname "$csv")"
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-/tmp/cskd-xdg-$(id -u)}"
mkdir -p "$XDG_RUNTIME_DIR" && chmod 700 "$XDG_RUNTIME_DIR"
data="$(cargo run --quiet --locked --bin cskd -- data-path --shared "${SHARED:-$root/../shared}")"
nice -n 19 cargo build --quiet --example soak
nice -n 19 target/debug/examples/soak --data "$data" --minutes "$minutes" --interval 60 --csv "$csv"
# Rows after the first epoch (row 3 on): the pool and the allocator have warmed up by then.
awk -F, 'NR==3 { r0=$4; p0=$5; b0=$6; min=$4; max=$4 }
         NR>=3 { if ($4<min) min=$4; if ($4>max) max=$4; r=$4; p=$5; b=$6; e=$2; s=$3; m=$1 }
         END { printf "soak: %.1f min, %d epochs, %d steps\n", m, e, s;
               printf "RSS after epoch 1: %.1f MiB, at end: %.1f MiB, range %.1f..%.1f MiB (drift %+.1f MiB)\n", r0/1024, r/1024, min/1024, max/1024, (r-r0)/1024;
               printf "pool: %d buffers / %.1f MiB after epoch 1, %d / %.1f MiB at end\n", p0, b0/1048576, p, b/1048576 }' "$csv"
