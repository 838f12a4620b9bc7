//! Soak: trains a width-8 SmallCNN on a small CIFAR subset for a long time (default one hour) and
//! logs, every interval, the process RSS and the trainer's buffer pool, so a slow leak shows as a
//! rising column in the CSV. Each epoch also evaluates and serialises a checkpoint, as the CLI does.
//!
//! ```sh
//! cargo run --example soak -- --data "$(cskd data-path)" \
//!     --minutes 60 --interval 60 --csv soak.csv
//! ```
//! (`scripts/soak.sh` runs it at nice 19.) Epoch records are dropped after each epoch: a real run
//! keeps one per epoch on purpose, and here only the engine's own memory is being measured.

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use cskd::gpu::Gpu;
use cskd::train::{Method, Schedule, TrainConfig, Trainer};

struct Args {
    data: PathBuf,
    minutes: f64,
    interval: f64,
    csv: PathBuf,
}

fn args() -> Result<Args, String> {
    let mut a = Args {
        data: cskd::data::locate::find_beside_repo(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")),
            cskd::data::CifarKind::Cifar10,
        )
        .unwrap_or_default(), // --data then names it

        minutes: 60.0,
        interval: 60.0,
        csv: "soak.csv".into(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().ok_or(format!("{flag} needs a value"))?;
        let number = || {
            value
                .parse::<f64>()
                .ok()
                .filter(|v| v.is_finite() && *v > 0.0)
                .ok_or(format!("{flag} {value}: expected a positive number"))
        };
        match flag.as_str() {
            "--data" => a.data = value.clone().into(),
            "--minutes" => a.minutes = number()?,
            "--interval" => a.interval = number()?,
            "--csv" => a.csv = value.clone().into(),
            _ => {
                return Err(format!(
                    "unknown flag {flag} (--data, --minutes, --interval, --csv)"
                ))
            }
        }
    }
    Ok(a)
}

/// Resident set size in KiB, from /proc/self/status (Linux).
fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

fn main() {
    if let Err(e) = run() {
        eprintln!("soak: {e}");
        std::process::exit(1);
    }
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    let a = args()?;
    let data = cskd::data::load(&a.data)?;
    let gpu = Arc::new(pollster::block_on(Gpu::new())?);
    eprintln!(
        "soak: {} for {} min on {}",
        a.data.display(),
        a.minutes,
        gpu.info.name
    );
    let config = TrainConfig {
        model: cskd::model::ModelName::Smallcnn,
        width: 8,
        method: Method::Cskd,
        batch: 32,
        // Never finishes within the soak; the step schedule keeps the base rate that long.
        epochs: 1_000_000,
        schedule: Schedule::Step,
        lr: 0.05,
        per_class: 40,
        test_per_class: 10,
        seed: 1,
        ..Default::default()
    };
    let mut trainer = Trainer::new(gpu, config, data)?;
    let mut csv = std::fs::File::create(&a.csv)?;
    writeln!(
        csv,
        "minutes,epochs,steps,rss_kib,pool_buffers,pool_bytes,checkpoint_bytes,last_test_top1_error"
    )?;
    let start = Instant::now();
    let total = Duration::from_secs_f64(a.minutes * 60.0);
    let interval = Duration::from_secs_f64(a.interval);
    let mut next_log = Duration::ZERO;
    let (mut checkpoint_bytes, mut top1) = (0usize, f64::NAN);
    loop {
        let elapsed = start.elapsed();
        if elapsed >= next_log || elapsed >= total {
            let pool = trainer.pool();
            let line = format!(
                "{:.2},{},{},{},{},{},{},{:.4}",
                elapsed.as_secs_f64() / 60.0,
                trainer.state.epoch,
                trainer.state.steps_done,
                rss_kib(),
                pool.created(),
                pool.created_bytes(),
                checkpoint_bytes,
                top1
            );
            writeln!(csv, "{line}")?;
            csv.flush()?;
            eprintln!("soak: {line}");
            next_log += interval;
        }
        if elapsed >= total {
            break;
        }
        let record = pollster::block_on(trainer.train_epoch(|_| {}))?;
        top1 = record.test.map(|m| m.top1_error).unwrap_or(f64::NAN);
        checkpoint_bytes = pollster::block_on(trainer.save_checkpoint())?.len();
        trainer.history.clear();
    }
    Ok(())
}
