#!/usr/bin/env bash
# Fuzzes every parser with cargo-fuzz (libFuzzer; nightly toolchain, outside CI):
#   scripts/fuzz.sh [RUNS] [TARGET...]      default 1000000 runs of each of
#   archive (CIFAR .tar.gz), bin (loose .bin), dir (extracted folder), checkpoint (metadata),
#   config (the JS API's JSON config), state_dict (safetensors read as a model's tensors),
#   grid (`cskd experiment`'s methods × seeds)
# Bodies: fuzz/harness.rs (also replayed on stable by tests/fuzz_regressions.rs in CI).
# Seeds: fuzz/corpus/<target> (committed); new finds go to fuzz/target/corpus/<target>; a crash
# leaves its input in fuzz/artifacts/<target>/ and stops the script (copy it into
# fuzz/corpus/<target>/ once fixed). Built without a sanitizer (safe Rust; faster) but with
# debug assertions, so integer overflow panics too. Runs at nice 10, one target at a time.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
runs="${1:-1000000}"
shift || true
targets=("$@")
((${#targets[@]})) || targets=(archive bin dir checkpoint config state_dict grid)

rustup toolchain list | grep -q '^nightly' || rustup toolchain install nightly --profile minimal
command -v cargo-fuzz >/dev/null || cargo install --locked cargo-fuzz

flags=(--sanitizer none --debug-assertions)
nice -n 10 cargo +nightly fuzz build "${flags[@]}"
printf '| target | executions | seconds | exec/s | corpus | result |\n|---|---:|---:|---:|---:|---|\n' > fuzz/target/summary.md
for t in "${targets[@]}"; do
  case "$t" in bin) max_len=16384 ;; archive) max_len=8192 ;; *) max_len=4096 ;; esac
  mkdir -p "fuzz/target/corpus/$t"
  log="fuzz/target/$t.log"
  start=$(date +%s)
  status=ok
  nice -n 10 cargo +nightly fuzz run "${flags[@]}" "$t" "fuzz/target/corpus/$t" "fuzz/corpus/$t" -- \
    -runs="$runs" -max_len="$max_len" -timeout=20 -rss_limit_mb=2048 -print_final_stats=1 \
    >"$log" 2>&1 || status="FAILED (see $log)"
  secs=$(($(date +%s) - start))
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  corpus=$(ls "fuzz/target/corpus/$t" | wc -l)
  echo "| $t | ${execs:-?} | $secs | ${rate:-?} | $corpus | $status |" | tee -a fuzz/target/summary.md
  [[ $status == ok ]] || { tail -40 "$log"; exit 1; }
done
cat fuzz/target/summary.md
