//! `cskd train`: epochs with a progress bar, metrics.jsonl, checkpoints (last and best).
//!
//! Nothing is lost: the output directory is locked for the run, every file is replaced
//! atomically, and metrics.jsonl is rewritten from the history inside the checkpoint just saved,
//! so a run killed at any point resumes without losing or repeating an epoch.

use super::data::resolve;
use super::flags::{ConfigFlags, DataFlags};
use crate::error::{Error, Result};
use crate::files::{atomic::is_temp_name, write_atomic, RunLock};
use crate::train::{checkpoint, checkpoint_file, EpochRecord, Method, Mix, TrainConfig, Trainer};
use indicatif::{ProgressBar, ProgressStyle};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Flags left out take their value from `TrainConfig::default()` or `--preset` (or, with `--resume`, from the
/// checkpoint, which they must then agree with).
#[derive(clap::Args, Clone, Debug, Default)]
pub struct TrainArgs {
    #[command(flatten)]
    pub(super) data: DataFlags,
    #[command(flatten)]
    pub(super) flags: ConfigFlags,
    /// Training method [default cskd]
    #[arg(long, value_enum)]
    pub(super) method: Option<Method>,
    /// Input mixing, with ce or cskd (docs/METHODS.md) [default none].
    #[arg(long, value_enum)]
    pub(super) mix: Option<Mix>,
    /// KD teacher: a cskd checkpoint of any model/width with the same classes (run in eval mode).
    #[arg(long)]
    pub(super) teacher: Option<PathBuf>,
    /// Weight of the KD term (0 = off; > 0 needs a teacher: --teacher, JS teacherBytes) [default 0].
    #[arg(long)]
    pub(super) kd_lambda: Option<f32>,
    /// Random seed of the subsets, the initial weights, the sampler and augmentation [default 0]
    #[arg(long)]
    pub(super) seed: Option<u64>,
    /// Start from these weights (a cskd checkpoint or a plain PyTorch state_dict in safetensors);
    /// fresh momentum.
    #[arg(long)]
    pub(super) init: Option<PathBuf>,
    /// Continue a run from its checkpoint (same data; configuration flags must agree with it).
    #[arg(long, conflicts_with = "init")]
    pub(super) resume: Option<PathBuf>,
    /// Output directory: metrics.jsonl, last.safetensors, best.safetensors (locked while training).
    #[arg(long)]
    pub(super) out: PathBuf,
    /// Replace the run already in --out (its checkpoints and metrics are deleted first).
    #[arg(long, conflicts_with = "resume")]
    pub(super) overwrite: bool,
    /// No progress bar (logs and CI).
    #[arg(long)]
    pub(super) quiet: bool,
}

impl TrainArgs {
    /// `base` with every given flag applied.
    pub(super) fn config(&self, base: &TrainConfig) -> TrainConfig {
        let mut c = self.flags.apply(base);
        if let Some(m) = self.method {
            c.method = m;
        }
        if let Some(m) = self.mix {
            c.mix = m;
        }
        if let Some(l) = self.kd_lambda {
            c.kd_lambda = l;
        }
        if let Some(s) = self.seed {
            c.seed = s;
        }
        c
    }
}

/// Flags given that the configuration does not use, one warning each.
pub(super) fn ignored_flags(a: &TrainArgs, c: &TrainConfig) -> Vec<String> {
    let mut w = Vec::new();
    let mut unused = |given: bool, flag: &str, needs: &str| {
        if given {
            w.push(format!("{flag} has no effect without {needs}"));
        }
    };
    unused(
        a.flags.mix_alpha.is_some() && c.mix == Mix::None,
        "--mix-alpha",
        "--mix mixup|cutmix",
    );
    unused(
        a.flags.smoothing.is_some() && c.method != Method::Ls,
        "--smoothing",
        "--method ls",
    );
    unused(
        a.flags.pskd_alpha.is_some() && c.method != Method::Pskd,
        "--pskd-alpha",
        "--method pskd",
    );
    let cskd = c.method == Method::Cskd;
    unused(
        a.flags.temperature.is_some() && !cskd,
        "--temperature",
        "--method cskd",
    );
    unused(
        a.flags.lambda.is_some() && !cskd,
        "--lambda",
        "--method cskd",
    );
    unused(
        a.flags.kd_temperature.is_some() && c.kd_lambda <= 0.0,
        "--kd-temperature",
        "--kd-lambda > 0",
    );
    w
}

/// A warning for each subset size larger than the data's smallest class.
pub(super) fn warn_short_classes(config: &TrainConfig, data: &crate::data::Cifar) {
    let k = data.num_classes();
    for (flag, n, split) in [
        ("--per-class", config.per_class, &data.train),
        ("--test-per-class", config.test_per_class, &data.test),
    ] {
        let mut counts = vec![0usize; k];
        for &l in &split.labels {
            if let Some(c) = counts.get_mut(l as usize) {
                *c += 1;
            }
        }
        let fewest = counts.iter().copied().min().unwrap_or(0);
        if n > fewest {
            eprintln!(
                "warning: {flag} {n}: the data has only {fewest} images of some class, all of which are used"
            );
        }
    }
}

pub fn run(a: TrainArgs) -> Result<()> {
    run_with(a, None)
}

/// `cskd train`; `grid` (from `cskd experiment`) replaces the run's own progress bar and quiets
/// its banner and summary line.
pub(super) fn run_with(a: TrainArgs, grid: Option<&ProgressBar>) -> Result<()> {
    // W3 (docs/BENCHMARKS.md): time from here (data, device, pipelines included) to the first step.
    let started = web_time::Instant::now();
    let mut first_step_reported = false;
    let resume = a
        .resume
        .as_deref()
        .map(|p| checkpoint_file::read(p).map(|b| (p, b)))
        .transpose()?;
    let config = match &resume {
        Some((path, bytes)) => {
            let info = checkpoint::info(bytes).map_err(|e| e.in_file(path))?;
            let saved = info.config.ok_or_else(|| {
                Error::Checkpoint("the checkpoint has no training configuration".into())
                    .in_file(path)
            })?;
            // A --preset given with --resume must name the run's own configuration.
            let base = match &a.flags.preset {
                Some(_) => TrainConfig {
                    method: saved.method,
                    mix: saved.mix,
                    kd_lambda: saved.kd_lambda,
                    seed: saved.seed,
                    ..a.flags.base()?
                },
                None => saved.clone(),
            };
            let diff = saved.diff(&a.config(&base));
            if !diff.is_empty() {
                return Err(Error::Config(format!(
                    "--resume continues the run as it was configured, but the flags change it (checkpoint → given: {}); leave those flags out, or start a new run from these weights with --init",
                    diff.join("; ")
                )));
            }
            if let Some(state) = &info.state {
                if state.epoch >= saved.epochs {
                    return Err(Error::Config(format!(
                        "the run in {} is finished ({} of {} epochs); nothing to resume. To train longer, start a new run from it: --init {} --epochs N --out ANOTHER_DIR",
                        path.display(),
                        state.epoch,
                        saved.epochs,
                        path.display()
                    )));
                }
            }
            saved
        }
        None => a.config(&a.flags.base()?),
    };
    config.validate()?;
    // A grid (`cskd experiment`) says once which of its flags no run uses.
    if grid.is_none() {
        for w in ignored_flags(&a, &config) {
            eprintln!("warning: {w}");
        }
    }
    check_outputs(&a)?;
    let init = a
        .init
        .as_deref()
        .map(|p| checkpoint_file::read(p).map(|b| (p, b)))
        .transpose()?;
    // The device opens while the data is decoded (W3: each takes about as long as the other).
    let (data, gpu) = std::thread::scope(|s| {
        let gpu = s.spawn(super::open_gpu);
        let data = resolve(a.data.data.as_deref(), a.data.kind());
        (
            data,
            gpu.join().expect("the thread opening the device panicked"),
        )
    });
    let data = data?;
    if grid.is_none() {
        warn_short_classes(&config, &data);
    }
    let out = OutDir::open(&a.out, a.resume.as_deref(), a.overwrite)?;
    let gpu = Arc::new(gpu?);
    let mut trainer = Trainer::new(gpu.clone(), config, data)?;
    match (&a.teacher, trainer.config.kd_lambda > 0.0) {
        (Some(path), true) => {
            let bytes = checkpoint_file::read(path)?;
            trainer.set_teacher(&bytes).map_err(|e| e.in_file(path))?;
        }
        (Some(_), false) => {
            return Err(Error::Config(
                "--teacher is only used with --kd-lambda > 0".into(),
            ))
        }
        (None, true) => {
            return Err(Error::Config(
                "--kd-lambda > 0 needs a teacher checkpoint: --teacher PATH".into(),
            ))
        }
        (None, false) => {}
    }
    if let Some((path, bytes)) = &resume {
        trainer
            .load_checkpoint(bytes, true)
            .map_err(|e| e.in_file(path))?;
    } else if let Some((path, bytes)) = &init {
        trainer
            .load_checkpoint(bytes, false)
            .map_err(|e| e.in_file(path))?;
    }
    if grid.is_none() {
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
    }
    // The first step's pipelines, several at a time (W3), rather than one by one as it dispatches.
    if !trainer.finished() {
        trainer.prebuild_pipelines()?;
    }
    // The metrics of the checkpoint we start from, not whatever a killed run appended.
    out.write_metrics(&trainer.history)?;
    let total = (trainer.config.epochs * trainer.steps_per_epoch()) as u64;
    let bar = if let Some(g) = grid {
        g.inc(trainer.state.steps_done);
        g.clone()
    } else {
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
        bar
    };
    let mut best = best_error(&trainer.history);
    while !trainer.finished() {
        let epoch = trainer.state.epoch + 1;
        let result = pollster::block_on(trainer.train_epoch(|r| {
            if !first_step_reported && grid.is_none() {
                first_step_reported = true;
                let ms = started.elapsed().as_secs_f64() * 1e3;
                bar.suspend(|| eprintln!("first step finished {ms:.0} ms after start (W3)"));
            }
            bar.set_message(format!(
                "{epoch} · loss {:.3} · {:.0} img/s",
                r.loss, r.images_per_sec
            ));
            bar.inc(1);
        }));
        let record = match result {
            Ok(r) => r,
            Err(Error::Diverged(why)) => {
                bar.abandon();
                let path = a.out.join("last-good.safetensors");
                checkpoint_file::write(&path, &pollster::block_on(trainer.save_checkpoint())?)?;
                return Err(Error::Diverged(format!(
                    "{why}; saved them to {}",
                    path.display()
                )));
            }
            Err(e) => return Err(e),
        };
        let bytes = pollster::block_on(trainer.save_checkpoint())?;
        checkpoint_file::write(&a.out.join("last.safetensors"), &bytes)?;
        let m = record.test.as_ref().expect("evaluated");
        if m.top1_error < best {
            best = m.top1_error;
            checkpoint_file::write(&a.out.join("best.safetensors"), &bytes)?;
        }
        out.write_metrics(&trainer.history)?;
        if grid.is_none() || !a.quiet {
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
    }
    if grid.is_none() {
        bar.finish_and_clear();
        println!(
            "best test top-1 error {:.2}% — {}",
            100.0 * best,
            a.out.display()
        );
    }
    Ok(())
}

fn best_error(history: &[EpochRecord]) -> f64 {
    history
        .iter()
        .filter_map(|r| r.test.as_ref())
        .map(|m| m.top1_error)
        .fold(f64::INFINITY, f64::min)
}

/// The files a run writes into its directory.
const RUN_FILES: [&str; 4] = [
    "last.safetensors",
    "best.safetensors",
    "last-good.safetensors",
    "metrics.jsonl",
];

/// `--out` is a directory (or not there yet), and no input (`--init`, `--teacher`, `--data`)
/// is one of the files the run writes.
fn check_outputs(a: &TrainArgs) -> Result<()> {
    if a.out.exists() && !a.out.is_dir() {
        return Err(Error::Config(format!(
            "--out {} is a file; give a directory (the run writes metrics.jsonl, last.safetensors and best.safetensors into it)",
            a.out.display()
        )));
    }
    let mut inputs: Vec<(&str, &Path)> = Vec::new();
    for (flag, p) in [
        ("--init", &a.init),
        ("--teacher", &a.teacher),
        ("--data", &a.data.data),
    ] {
        if let Some(p) = p {
            inputs.push((flag, p));
        }
    }
    for f in RUN_FILES {
        crate::files::refuse_overwriting_input(&a.out.join(f), &inputs).map_err(Error::Config)?;
    }
    Ok(())
}

/// The run's output directory, locked for this process while it lives.
struct OutDir {
    path: PathBuf,
    _lock: RunLock,
}

impl OutDir {
    /// Locks `path` for this run. A directory that already holds a run is refused unless this
    /// run resumes from a checkpoint inside it, or `overwrite` says to replace it (its run files
    /// are deleted, so nothing of the old run mixes with the new one).
    fn open(path: &Path, resume: Option<&Path>, overwrite: bool) -> Result<OutDir> {
        let io = |e: std::io::Error| Error::Io {
            path: path.display().to_string(),
            source: e,
        };
        std::fs::create_dir_all(path).map_err(io)?;
        let lock = RunLock::acquire(path).map_err(io)?;
        if let Some(pid) = lock.stale_pid {
            eprintln!(
                "note: {} was locked by process {pid}, which is no longer running; taking it over",
                path.display()
            );
        }
        let held: Vec<&str> = RUN_FILES
            .into_iter()
            .filter(|f| std::fs::metadata(path.join(f)).is_ok_and(|m| m.len() > 0))
            .collect();
        let resumes_here = resume.is_some_and(|r| {
            RUN_FILES
                .iter()
                .any(|f| crate::files::same_file(r, &path.join(f)))
        });
        if !held.is_empty() && !resumes_here {
            if !overwrite {
                return Err(Error::Config(format!(
                    "{} already holds a run ({}): continue it with --resume {}, or replace it with --overwrite",
                    path.display(),
                    held.join(", "),
                    path.join("last.safetensors").display()
                )));
            }
            for f in held {
                std::fs::remove_file(path.join(f)).map_err(|e| Error::Io {
                    path: path.join(f).display().to_string(),
                    source: e,
                })?;
            }
        }
        // Temporary files of a writer that was killed: never the only copy of anything.
        for entry in std::fs::read_dir(path).map_err(io)?.flatten() {
            if is_temp_name(&entry.file_name().to_string_lossy()) {
                let _ = std::fs::remove_file(entry.path());
            }
        }
        Ok(OutDir {
            path: path.to_path_buf(),
            _lock: lock,
        })
    }

    /// metrics.jsonl: one JSON line per finished epoch, replaced atomically.
    fn write_metrics(&self, history: &[EpochRecord]) -> Result<()> {
        let mut text = String::new();
        for r in history {
            text.push_str(&serde_json::to_string(r).expect("plain data"));
            text.push('\n');
        }
        let p = self.path.join("metrics.jsonl");
        write_atomic(&p, text.as_bytes()).map_err(|e| Error::Io {
            path: p.display().to_string(),
            source: e,
        })
    }
}
