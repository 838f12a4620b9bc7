#!/usr/bin/env bash
# The PyTorch twin's tests (python/tests): a virtual environment python/.venv with torch, numpy,
# safetensors and pytest from PyPI (created once, reused while it imports), the cskd binary
# (the dev profile `cargo test` builds too), then pytest. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=python/.venv
REQ=python/requirements-test.txt
# (Re)install when the venv is missing or broken, or the pinned requirements changed.
if ! cmp -s "$REQ" "$VENV/requirements.txt" || ! "$VENV/bin/python" -c "import torch" 2>/dev/null; then
    if ! python3 -c "import ensurepip, venv" 2>/dev/null; then  # Debian splits venv off
        apt-get install -y python3-venv || { apt-get update && apt-get install -y python3-venv; }
    fi
    [ -x "$VENV/bin/pip" ] || python3 -m venv "$VENV"
    start=$(date +%s)
    "$VENV/bin/pip" install --quiet --disable-pip-version-check -r "$REQ"
    cp "$REQ" "$VENV/requirements.txt"
    echo "test-python: installed $REQ in $(( $(date +%s) - start )) s"
fi
cargo build --locked --bin cskd
export CSKD_BIN="$PWD/target/debug/cskd"
if [ -z "${XDG_RUNTIME_DIR:-}" ] || [ ! -d "$XDG_RUNTIME_DIR" ]; then
    export XDG_RUNTIME_DIR=/tmp/xdg-runtime-$(id -u)
    mkdir -p -m 0700 "$XDG_RUNTIME_DIR"
fi
cd python
exec .venv/bin/python -m pytest -q -p no:cacheprovider tests
