//! `cskd bench`: W1 (training step images/s, CS-KD and CE) and W2 (kernel GFLOP/s) from BENCH.md.

use crate::bench;
use crate::error::Result;

#[derive(clap::Args)]
pub struct BenchArgs {
    /// Anchors per step (W1 uses 64 anchors + 64 partners).
    #[arg(long, default_value_t = 64)]
    batch: usize,
    /// Timed W1 steps (after 3 warm-up steps).
    #[arg(long, default_value_t = 20)]
    steps: usize,
    /// Timed repetitions per W2 kernel.
    #[arg(long, default_value_t = 5)]
    reps: usize,
    /// Side of the W2 square matmul (0 skips it).
    #[arg(long, default_value_t = 1024)]
    matmul: usize,
    /// Only W1 / only W2.
    #[arg(long, conflicts_with = "w2_only")]
    w1_only: bool,
    #[arg(long)]
    w2_only: bool,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

pub fn run(a: BenchArgs) -> Result<()> {
    let gpu = super::open_gpu()?;
    let s = gpu.summary();
    eprintln!("adapter: {} ({}, {})", s.name, s.backend, s.driver);
    let mut out = serde_json::Map::new();
    out.insert(
        "adapter".into(),
        serde_json::to_value(&s).expect("plain data"),
    );
    if !a.w2_only {
        let mut rows = Vec::new();
        for cskd in [true, false] {
            let r = pollster::block_on(bench::w1(&gpu, cskd, a.batch, a.steps))?;
            if !a.json {
                println!("W1 {:<5} {:>4} img/step  median {:>9.2} ms/step  {:>8.1} img/s  ({} dispatches)", r.method, r.images_per_step, r.median_step_ms, r.images_per_sec, r.dispatches_per_step);
            }
            rows.push(r);
        }
        out.insert(
            "w1".into(),
            serde_json::to_value(&rows).expect("plain data"),
        );
    }
    if !a.w1_only {
        let rows = pollster::block_on(bench::w2(&gpu, a.batch, a.matmul, a.reps))?;
        if !a.json {
            for k in &rows {
                println!(
                    "W2 {:<17} {:<21} {:>9.2} ms  {:>7.2} GFLOP/s  (max rel err {:.1e})",
                    k.kernel, k.shape, k.median_ms, k.gflops, k.max_rel_err
                );
            }
        }
        out.insert(
            "w2".into(),
            serde_json::to_value(&rows).expect("plain data"),
        );
    }
    if a.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&out).expect("plain data")
        );
    }
    Ok(())
}
