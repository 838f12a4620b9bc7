//! `cskd train`: epochs with a progress bar, metrics.jsonl, checkpoints (last and best).

use super::data::resolve;
use crate::data::CifarKind;
use crate::error::{Error, Result};
use crate::train::{checkpoint, Method, Schedule, TrainConfig, Trainer};
use indicatif::{ProgressBar, ProgressStyle};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

#[derive(clap::Args)]
pub struct TrainArgs {
    /// CIFAR archive (.tar.gz), extracted folder or .bin file (default: $CSKD_DATA, else download).
    #[arg(long)]
    data: Option<PathBuf>,
    /// Expected dataset (checked against the data).
    #[arg(long, value_parser = ["cifar10", "cifar100"])]
    dataset: Option<String>,
    /// Training images per class (0 = all).
    #[arg(long, default_value_t = 0)]
    per_class: usize,
    /// Test images per class (0 = all).
    #[arg(long, default_value_t = 0)]
    test_per_class: usize,
    #[arg(long, default_value = "smallcnn", value_parser = ["smallcnn", "resnet10", "resnet18"])]
    model: String,
    /// Base width (0 = the model's default: 32, 16, 64).
    #[arg(long, default_value_t = 0)]
    width: usize,
    #[arg(long, value_enum, default_value = "cskd")]
    method: MethodArg,
    #[arg(long, default_value_t = 4.0)]
    temperature: f32,
    #[arg(long, default_value_t = 1.0)]
    lambda: f32,
    /// Label smoothing ε (method ls).
    #[arg(long, default_value_t = 0.1)]
    smoothing: f32,
    #[arg(long, default_value_t = 30)]
    epochs: usize,
    #[arg(long, default_value_t = 128)]
    batch: usize,
    #[arg(long, default_value_t = 0.1)]
    lr: f32,
    #[arg(long, default_value_t = 0.9)]
    momentum: f32,
    #[arg(long, default_value_t = 1e-4)]
    weight_decay: f32,
    #[arg(long, value_enum, default_value = "step")]
    schedule: ScheduleArg,
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Turn random crop + flip off.
    #[arg(long)]
    no_augment: bool,
    /// Start from these weights (fine-tuning or weights made elsewhere); fresh momentum.
    #[arg(long)]
    init: Option<PathBuf>,
    /// Continue a run from its checkpoint (its configuration wins over the flags above).
    #[arg(long, conflicts_with = "init")]
    resume: Option<PathBuf>,
    /// Output directory: metrics.jsonl, last.safetensors, best.safetensors.
    #[arg(long)]
    out: PathBuf,
    /// No progress bar (logs and CI).
    #[arg(long)]
    quiet: bool,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum MethodArg {
    Ce,
    Cskd,
    Ls,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum ScheduleArg {
    Step,
    Cosine,
}

impl TrainArgs {
    fn config(&self) -> TrainConfig {
        TrainConfig {
            model: self.model.clone(),
            width: self.width,
            method: match self.method {
                MethodArg::Ce => Method::Ce,
                MethodArg::Cskd => Method::Cskd,
                MethodArg::Ls => Method::Ls,
            },
            temperature: self.temperature,
            lambda: self.lambda,
            smoothing: self.smoothing,
            lr: self.lr,
            momentum: self.momentum,
            weight_decay: self.weight_decay,
            batch: self.batch,
            epochs: self.epochs,
            schedule: match self.schedule {
                ScheduleArg::Step => Schedule::Step,
                ScheduleArg::Cosine => Schedule::Cosine,
            },
            seed: self.seed,
            augment: !self.no_augment,
            per_class: self.per_class,
            test_per_class: self.test_per_class,
        }
    }
}

fn read(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| Error::Io {
        path: path.display().to_string(),
        source: e,
    })
}

fn write(path: &Path, bytes: &[u8]) -> Result<()> {
    std::fs::write(path, bytes).map_err(|e| Error::Io {
        path: path.display().to_string(),
        source: e,
    })
}

pub fn run(a: TrainArgs) -> Result<()> {
    let resume = a.resume.as_deref().map(read).transpose()?;
    let config = match &resume {
        Some(bytes) => checkpoint::info(bytes)?.config.ok_or_else(|| {
            Error::Checkpoint("the checkpoint has no training configuration".into())
        })?,
        None => a.config(),
    };
    config.validate()?;
    let kind = a.dataset.as_deref().map(|d| {
        if d == "cifar100" {
            CifarKind::Cifar100
        } else {
            CifarKind::Cifar10
        }
    });
    let data = resolve(a.data.as_deref(), kind)?;
    std::fs::create_dir_all(&a.out).map_err(|e| Error::Io {
        path: a.out.display().to_string(),
        source: e,
    })?;
    let gpu = Arc::new(super::open_gpu()?);
    let mut trainer = Trainer::new(gpu.clone(), config, data)?;
    if let Some(bytes) = &resume {
        checkpoint::load(&mut trainer, bytes, true)?;
    } else if let Some(init) = &a.init {
        checkpoint::load(&mut trainer, &read(init)?, false)?;
    }
    eprintln!(
        "{} {} on {} ({} train / {} test images, {} parameters) — adapter {} ({:?})",
        trainer.config.model,
        serde_json::to_string(&trainer.config.method)
            .unwrap_or_default()
            .trim_matches('"'),
        trainer.data.kind,
        trainer.data.train.len(),
        trainer.data.test.len(),
        trainer.model.store.num_parameters(),
        gpu.info.name,
        gpu.info.backend
    );
    let metrics_path = a.out.join("metrics.jsonl");
    let mut metrics = std::fs::OpenOptions::new()
        .create(true)
        .append(resume.is_some())
        .write(true)
        .truncate(resume.is_none())
        .open(&metrics_path)
        .map_err(|e| Error::Io {
            path: metrics_path.display().to_string(),
            source: e,
        })?;
    let total = (trainer.config.epochs * trainer.steps_per_epoch()) as u64;
    let bar = if a.quiet {
        ProgressBar::hidden()
    } else {
        ProgressBar::new(total)
    };
    bar.set_style(
        ProgressStyle::with_template("{bar:30} {pos}/{len} steps · epoch {msg} · ETA {eta}")
            .expect("valid template"),
    );
    bar.set_position(trainer.state.steps_done);
    let mut best = trainer
        .history
        .iter()
        .filter_map(|r| r.test.as_ref())
        .map(|m| m.top1_error)
        .fold(f64::INFINITY, f64::min);
    while !trainer.finished() {
        let epoch = trainer.state.epoch + 1;
        let result = pollster::block_on(trainer.train_epoch(|r| {
            bar.set_message(format!(
                "{epoch} · loss {:.3} · {:.0} img/s",
                r.loss, r.images_per_sec
            ));
            bar.inc(1);
        }));
        let record = match result {
            Ok(r) => r,
            Err(e @ Error::Diverged(_)) => {
                bar.abandon();
                let path = a.out.join("last-good.safetensors");
                write(&path, &pollster::block_on(checkpoint::save(&trainer))?)?;
                return Err(Error::Diverged(format!(
                    "{e}; saved them to {}",
                    path.display()
                )));
            }
            Err(e) => return Err(e),
        };
        writeln!(
            metrics,
            "{}",
            serde_json::to_string(&record).expect("plain data")
        )
        .map_err(|e| Error::Io {
            path: metrics_path.display().to_string(),
            source: e,
        })?;
        let bytes = pollster::block_on(checkpoint::save(&trainer))?;
        write(&a.out.join("last.safetensors"), &bytes)?;
        let m = record.test.as_ref().expect("evaluated");
        if m.top1_error < best {
            best = m.top1_error;
            write(&a.out.join("best.safetensors"), &bytes)?;
        }
        bar.println(format!(
            "epoch {epoch:>3}  lr {:.4}  loss {:.4}  test top-1 err {:.2}%  ECE {:.2}%  NLL {:.3}  {:.0} img/s",
            record.lr,
            record.train_loss,
            100.0 * m.top1_error,
            100.0 * m.ece,
            m.nll,
            record.images_per_sec
        ));
    }
    bar.finish_and_clear();
    println!(
        "best test top-1 error {:.2}% — {}",
        100.0 * best,
        a.out.display()
    );
    Ok(())
}
