#!/usr/bin/env bash
# CE vs CS-KD (the paper's comparison) on a class-balanced CIFAR-10 subset, several seeds each,
# then a mean ± std table (best-epoch top-1 error as the paper, final ECE and NLL).
# Defaults fit lavapipe (minutes per run); the real-GPU version runs unchanged with e.g.
#   PER_CLASS=500 EPOCHS=30 WIDTH=32 BATCH=128 scripts/experiment.sh
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
DATA="${CSKD_DATA:-$root/../shared/data/cifar-10-binary.tar.gz}"
MODEL="${MODEL:-smallcnn}" WIDTH="${WIDTH:-8}" PER_CLASS="${PER_CLASS:-100}" TEST_PER_CLASS="${TEST_PER_CLASS:-50}"
EPOCHS="${EPOCHS:-8}" BATCH="${BATCH:-32}" LR="${LR:-0.05}" SEEDS="${SEEDS:-1 2 3}" METHODS="${METHODS:-ce cskd}"
OUT="${OUT:-$root/runs/exp-$MODEL-w$WIDTH-k$PER_CLASS-e$EPOCHS}"
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-/tmp/cskd-xdg-$(id -u)}"; mkdir -p "$XDG_RUNTIME_DIR"; chmod 700 "$XDG_RUNTIME_DIR"

cargo build --release --quiet --bin cskd
for seed in $SEEDS; do
  for method in $METHODS; do
    dir="$OUT/$method-seed$seed"
    [[ -f "$dir/done" ]] && continue
    echo "== $method seed $seed → $dir"
    target/release/cskd train --data "$DATA" --model "$MODEL" --width "$WIDTH" --per-class "$PER_CLASS" \
      --test-per-class "$TEST_PER_CLASS" --epochs "$EPOCHS" --batch "$BATCH" --lr "$LR" --weight-decay 5e-4 \
      --method "$method" --seed "$seed" --out "$dir" --quiet
    touch "$dir/done"
  done
done
python3 scripts/summarize.py "$OUT"
