#!/usr/bin/env bash
# The PyTorch twin's tests (python/tests): a virtual environment python/.venv with torch, numpy,
# safetensors and pytest from PyPI (created once, reused while it imports), the cskd binary
# (the dev profile `cargo test` builds too), then pytest. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=python/.venv
if ! "$VENV/bin/python" -c "import torch, numpy, safetensors, pytest" 2>/dev/null; then
    if ! python3 -m venv --help >/dev/null 2>&1; then
        apt-get install -y python3-venv
    fi
    rm -rf "$VENV"
    python3 -m venv "$VENV"
    start=$(date +%s)
    "$VENV/bin/pip" install --quiet --disable-pip-version-check -r python/requirements-test.txt
    echo "test-python: installed $(grep -c '==' python/requirements-test.txt) packages with their dependencies in $(( $(date +%s) - start )) s"
fi
cargo build --locked --bin cskd
export CSKD_BIN="$PWD/target/debug/cskd"
export CSKD_DATA="${CSKD_DATA:-$PWD/../shared/data/cifar-10-binary.tar.gz}"
if [ -z "${XDG_RUNTIME_DIR:-}" ] || [ ! -d "$XDG_RUNTIME_DIR" ]; then
    export XDG_RUNTIME_DIR=/tmp/xdg-runtime-$(id -u)
    mkdir -p -m 0700 "$XDG_RUNTIME_DIR"
fi
cd python
exec .venv/bin/python -m pytest -q -p no:cacheprovider tests
