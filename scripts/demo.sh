#!/usr/bin/env bash
# The web demo: set up, then `trunk serve` on http://127.0.0.1:8080 (train CE and CS-KD side by side).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$root/scripts/setup.sh"
cd "$root"
cargo fetch --locked  # trunk runs cargo offline
echo "== open http://127.0.0.1:8080 in a WebGPU browser"
exec trunk serve --release "$@"
