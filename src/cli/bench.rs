//! `cskd bench`: W1 (training step images/s, CS-KD and CE), W2 (kernel GFLOP/s) and, with
//! `--profile`, one W1 step broken down by op family (docs/BENCHMARKS.md); `cskd bench kernels`: every op
//! kernel checked against the CPU reference, then timed.

use crate::bench::{self, KernelSize};
use crate::error::{Error, Result};
use crate::gpu::{Gpu, KernelFamily};
use crate::train::Precision;

#[derive(clap::Args)]
pub struct BenchArgs {
    #[command(subcommand)]
    what: Option<BenchWhat>,
    /// CS-KD anchors per step (W1: 64 anchors + 64 partners; the CE step takes 128 anchors).
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
    /// One W1 step (CS-KD, then CE) timed per dispatch and summed per op family, instead of W1/W2.
    #[arg(long, conflicts_with_all = ["w1_only", "w2_only"])]
    profile: bool,
    /// Peak GPU memory of a W1 step (CS-KD, then CE) against its floor, instead of W1/W2.
    #[arg(long, conflicts_with_all = ["w1_only", "w2_only", "profile"])]
    memory: bool,
    /// Model one W1 CS-KD step on a GPU class (rtx3060, rtx3080-laptop, m2, iris-xe) from its
    /// recorded dispatches (shared kernel family), instead of W1/W2 (docs/BENCHMARKS.md).
    #[arg(long, value_name = "GPU", conflicts_with_all = ["w1_only", "w2_only", "profile", "memory"])]
    model: Option<String>,
    /// Print JSON.
    #[arg(long)]
    json: bool,
    /// f32, or mixed: f16 activations (every benchmark, `bench kernels` too).
    #[arg(long, value_enum, global = true, default_value = "f32")]
    precision: Precision,
}

#[derive(clap::Subcommand)]
enum BenchWhat {
    /// Every op kernel: checked against the CPU reference at a small odd shape, then timed on W1's shapes.
    Kernels(KernelArgs),
}

#[derive(clap::Args)]
struct KernelArgs {
    /// Kernel family: tiled, compact, shared, or all (each in turn). Default: the adapter's.
    #[arg(long)]
    family: Option<String>,
    /// Only the kernels whose name contains this (e.g. conv3x3s1, batchnorm, sgd).
    #[arg(long)]
    only: Option<String>,
    /// W1's images per conv (its CS-KD anchors).
    #[arg(long, default_value_t = 64)]
    batch: usize,
    /// Timed launches per kernel (the median is reported).
    #[arg(long, default_value_t = 5)]
    reps: usize,
    /// Time at the small checked shapes instead of W1's (a quick correctness pass).
    #[arg(long)]
    small: bool,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

pub fn run(a: BenchArgs) -> Result<()> {
    let gpu = super::open_gpu()?.with_activations(a.precision.activations())?;
    let s = gpu.summary();
    eprintln!(
        "adapter: {} ({}, {}), kernels: {}",
        s.name, s.backend, s.driver, s.kernels
    );
    let mut out = serde_json::Map::new();
    out.insert(
        "adapter".into(),
        serde_json::to_value(&s).expect("plain data"),
    );
    if let Some(BenchWhat::Kernels(k)) = a.what {
        return kernels(&gpu, k, out);
    }
    if let Some(key) = a.model.as_deref() {
        let class = bench::gpu_model::gpu_class(key)?;
        let m = pollster::block_on(bench::gpu_model::model_w1(&gpu, class, a.batch))?;
        if !a.json {
            println!("{}", m.table());
        }
        out.insert(
            "model".into(),
            serde_json::to_value(&m).expect("plain data"),
        );
        return print_json(a.json, &out);
    }
    if a.profile {
        let mut rows = Vec::new();
        for cskd in [true, false] {
            let p = pollster::block_on(bench::profile_w1(&gpu, cskd, a.batch))?;
            if !a.json {
                println!("{}", p.table());
            }
            rows.push(p);
        }
        out.insert(
            "profile".into(),
            serde_json::to_value(&rows).expect("plain data"),
        );
        return print_json(a.json, &out);
    }
    if a.memory {
        let mut rows = Vec::new();
        for cskd in [true, false] {
            let m = pollster::block_on(bench::w1_memory(&gpu, cskd, a.batch))?;
            if !a.json {
                println!("{}", m.line());
            }
            rows.push(m);
        }
        out.insert(
            "memory".into(),
            serde_json::to_value(&rows).expect("plain data"),
        );
        return print_json(a.json, &out);
    }
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
    print_json(a.json, &out)
}

fn kernels(
    gpu: &Gpu,
    a: KernelArgs,
    mut out: serde_json::Map<String, serde_json::Value>,
) -> Result<()> {
    let families = match a.family.as_deref() {
        None => vec![gpu.family()],
        Some("all") => KernelFamily::ALL.to_vec(),
        Some(name) => vec![name
            .parse()
            .map_err(|e: String| Error::Config(format!("--family: {e} (or all)")))?],
    };
    let size = if a.small {
        KernelSize::Small
    } else {
        KernelSize::W1
    };
    let mut all = serde_json::Map::new();
    for family in families {
        let rows = pollster::block_on(bench::kernels(
            &gpu.with_family(family),
            a.only.as_deref(),
            a.batch,
            a.reps,
            size,
        ))?;
        if !a.json {
            println!("kernel family {family}: checked against the CPU reference, then timed");
            println!(
                "{:<32} {:<32} {:>8} {:>6}  {:<19} {:>9} {:>9} {:>9} {:>7} {:>7}  rate",
                "kernel",
                "checked at",
                "max err",
                "tol",
                "timed at",
                "ms",
                "FLOP",
                "bytes",
                "FLOP/B",
                "wgs"
            );
            for k in &rows {
                let rate = match (k.gflops, k.gbs) {
                    (Some(g), _) => format!("{g:.2} GFLOP/s"),
                    (_, Some(b)) => format!("{b:.2} GB/s"),
                    _ => String::new(),
                };
                println!(
                    "{:<32} {:<32} {:>8.1e} {:>6.0e}  {:<19} {:>9.3} {:>9.3e} {:>9.3e} {:>7.2} {:>7}  {rate}",
                    k.kernel,
                    k.checked_shape,
                    k.max_err,
                    k.tolerance,
                    k.timed_shape,
                    k.median_ms,
                    k.flops,
                    k.bytes,
                    k.intensity,
                    k.workgroups
                );
            }
        }
        all.insert(
            family.name().into(),
            serde_json::to_value(&rows).expect("plain data"),
        );
    }
    out.insert("kernels".into(), all.into());
    print_json(a.json, &out)
}

fn print_json(json: bool, out: &serde_json::Map<String, serde_json::Value>) -> Result<()> {
    if json {
        println!("{}", serde_json::to_string_pretty(out).expect("plain data"));
    }
    Ok(())
}
