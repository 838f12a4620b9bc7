#!/usr/bin/env bash
# The PyTorch twin's tests (python/tests): a virtual environment with torch, numpy, safetensors
# and pytest from PyPI, the cskd binary (the dev profile `cargo test` builds too), then pytest.
# The venv lives outside the clone ($CSKD_VENV, default ~/.cache/cskd/python-venv) so every clone
# and every run reuses it; it is rebuilt only when python/requirements-test.txt changes (~5 GB:
# PyPI's torch wheel brings the CUDA libraries). CSKD_SKIP_PYTHON=1 skips these tests, saying so.
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ "${CSKD_SKIP_PYTHON:-}" == 1 ]]; then
    echo "test-python: SKIPPED (CSKD_SKIP_PYTHON=1): the PyTorch twin's tests did not run"
    exit 0
fi
VENV="${CSKD_VENV:-$HOME/.cache/cskd/python-venv}"
REQ=python/requirements-test.txt
# (Re)install when the venv is missing or broken, or the pinned requirements changed.
if ! cmp -s "$REQ" "$VENV/requirements.txt" || ! "$VENV/bin/python" -c "import torch" 2>/dev/null; then
    if ! python3 -c "import ensurepip, venv" 2>/dev/null; then  # Debian splits venv off
        apt-get install -y python3-venv || { apt-get update && apt-get install -y python3-venv; }
    fi
    mkdir -p "$(dirname "$VENV")"
    [ -x "$VENV/bin/pip" ] || python3 -m venv "$VENV"
    start=$(date +%s)
    "$VENV/bin/pip" install --quiet --disable-pip-version-check -r "$REQ"
    cp "$REQ" "$VENV/requirements.txt"
    echo "test-python: installed $REQ into $VENV in $(( $(date +%s) - start )) s ($(du -sh "$VENV" | cut -f1))"
fi
cargo build --locked --bin cskd
export CSKD_BIN="$PWD/target/debug/cskd"
if [ -z "${XDG_RUNTIME_DIR:-}" ] || [ ! -d "$XDG_RUNTIME_DIR" ]; then
    export XDG_RUNTIME_DIR=/tmp/xdg-runtime-$(id -u)
    mkdir -p -m 0700 "$XDG_RUNTIME_DIR"
fi
cd python
exec "$VENV/bin/python" -m pytest -q -p no:cacheprovider tests
