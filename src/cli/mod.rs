//! The `cskd` command line: train, eval, export, bench, info, subset. Every failure prints one clear
//! message and exits non-zero (no panic traces).

mod bench;
mod data;
mod eval;
mod experiment;
mod export;
mod flags;
mod logits;
mod presets;
mod results;
mod step;
mod train;
pub mod typescript;

use crate::error::Result;
use crate::gpu::KernelFamily;
use clap::{Parser, Subcommand};
use std::process::ExitCode;
use std::sync::OnceLock;

#[derive(Parser)]
#[command(
    name = "cskd",
    version,
    about = "Class-wise self-knowledge distillation (CS-KD) on WebGPU: train, evaluate, benchmark"
)]
struct Cli {
    /// Kernel family for every GPU op (default: chosen per adapter; see `cskd info`).
    #[arg(long, global = true, value_name = "tiled|compact|shared")]
    kernels: Option<KernelFamily>,
    #[command(subcommand)]
    command: Command,
}

/// `--kernels`, which `open_gpu` opens the device with (set once, before the subcommand runs).
static KERNELS: OnceLock<KernelFamily> = OnceLock::new();

#[derive(Subcommand)]
enum Command {
    /// Train a model with CE, CS-KD or label smoothing; metrics per epoch go to OUT/metrics.jsonl.
    Train(train::TrainArgs),
    /// Evaluate a checkpoint on the test split.
    Eval(eval::EvalArgs),
    /// Methods × seeds, each run as `train`, then a mean ± std table (OUT/results.md, .json).
    Experiment(experiment::ExperimentArgs),
    /// The named configurations of `--preset` (the page's preset menu).
    Presets(presets::PresetsArgs),
    /// Write an inference-only checkpoint (no momentum or training state) for other runtimes.
    Export(export::ExportArgs),
    /// Eval-mode logits of test images as safetensors (cross-checks with the PyTorch twin).
    Logits(logits::LogitsArgs),
    /// One optimiser step on given training indices, no augmentation (cross-checks with PyTorch).
    Step(step::StepArgs),
    /// docs/BENCHMARKS.md workloads: W1 (training step images/s) and W2 (kernel GFLOP/s).
    Bench(bench::BenchArgs),
    /// The GPU adapter: name, backend, features and limits.
    Info,
    /// Write a class-balanced subset of a CIFAR dataset as a .tar.gz in the official layout.
    Subset(data::SubsetArgs),
    /// Print where the data set is ($CSKD_DATA, else SHARED/data, else the download cache),
    /// downloading it into the cache when none has it.
    DataPath(data::DataPathArgs),
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Some(f) = cli.kernels {
        KERNELS.get_or_init(|| f);
    }
    let result = match cli.command {
        Command::Train(a) => train::run(a),
        Command::Eval(a) => eval::run(a),
        Command::Experiment(a) => experiment::run(a),
        Command::Presets(a) => presets::run(a),
        Command::Export(a) => export::run(a),
        Command::Logits(a) => logits::run(a),
        Command::Step(a) => step::run(a),
        Command::Bench(a) => bench::run(a),
        Command::Info => info(),
        Command::Subset(a) => data::subset(a),
        Command::DataPath(a) => data::data_path(a),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn info() -> Result<()> {
    let gpu = open_gpu()?;
    println!(
        "{}",
        serde_json::to_string_pretty(&gpu.summary()).expect("plain data")
    );
    Ok(())
}

/// The best adapter natively (`WGPU_BACKEND` picks one), running the family `--kernels` names (it
/// overrides `CSKD_KERNELS`).
pub(crate) fn open_gpu() -> Result<crate::gpu::Gpu> {
    pollster::block_on(crate::gpu::Gpu::open(crate::gpu::GpuOptions {
        kernels: KERNELS.get().copied(),
        ..Default::default()
    }))
}
