//! `cskd experiment`: methods × seeds on one data set, each run exactly as `cskd train` (the same
//! code path, into `OUT/<method>/seed<N>/`), one progress bar over the grid, then a mean ± std
//! table as Markdown (stdout and `OUT/results.md`) and JSON (`OUT/results.json`).
//!
//! Resumable: each run stores the train arguments it was started with (`args.json`); a finished
//! run is skipped, an unfinished one resumes from its `last.safetensors`, and a run directory
//! started with other arguments is an error rather than a silently mixed table.

use super::data::resolve;
use super::results::{summarise, RunResult};
use super::train::{run_with, TrainArgs};
use crate::data::CifarKind;
use crate::error::{Error, Result};
use crate::files::write_atomic;
use crate::model::ModelName;
use crate::train::Schedule;
use crate::train::{checkpoint, checkpoint_file, EpochRecord, TrainConfig};
use clap::Parser;
use indicatif::{ProgressBar, ProgressStyle};
use std::path::{Path, PathBuf};

#[derive(clap::Args)]
pub struct ExperimentArgs {
    /// Methods, comma-separated: a base (ce, cskd, ls, pskd, kd = ce with KD) optionally with
    /// `+mixup`, `+cutmix` or `+kd` (e.g. `cskd+mixup`); kd needs --teacher.
    #[arg(long, value_delimiter = ',', default_value = "ce,cskd")]
    methods: Vec<String>,
    /// Seeds, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "1,2,3")]
    seeds: Vec<u64>,
    /// Output directory: OUT/<method>/seed<N>/ per run, OUT/results.md and OUT/results.json.
    #[arg(long)]
    out: PathBuf,
    /// CIFAR archive (.tar.gz), extracted folder or .bin file (default: $CSKD_DATA, else download).
    #[arg(long)]
    data: Option<PathBuf>,
    #[arg(long, value_parser = ["cifar10", "cifar100"])]
    dataset: Option<String>,
    /// Training images per class (0 = all).
    #[arg(long)]
    per_class: Option<usize>,
    /// Test images per class (0 = all).
    #[arg(long)]
    test_per_class: Option<usize>,
    #[arg(long, value_enum)]
    model: Option<ModelName>,
    #[arg(long)]
    width: Option<usize>,
    #[arg(long)]
    epochs: Option<usize>,
    #[arg(long)]
    batch: Option<usize>,
    #[arg(long)]
    lr: Option<f32>,
    #[arg(long)]
    momentum: Option<f32>,
    #[arg(long)]
    weight_decay: Option<f32>,
    #[arg(long, value_enum)]
    schedule: Option<Schedule>,
    /// CS-KD temperature.
    #[arg(long)]
    temperature: Option<f32>,
    /// CS-KD weight λ.
    #[arg(long)]
    lambda: Option<f32>,
    /// Label smoothing ε (method ls).
    #[arg(long)]
    smoothing: Option<f32>,
    #[arg(long)]
    mix_alpha: Option<f32>,
    /// KD teacher checkpoint (methods with kd).
    #[arg(long)]
    teacher: Option<PathBuf>,
    /// KD weight for methods with kd [default 0.9].
    #[arg(long)]
    kd_lambda: Option<f32>,
    #[arg(long)]
    kd_temperature: Option<f32>,
    #[arg(long)]
    pskd_alpha: Option<f32>,
    #[arg(long)]
    calibration_fraction: Option<f32>,
    #[arg(long)]
    no_augment: bool,
    /// No progress bar.
    #[arg(long)]
    quiet: bool,
}

/// `cskd train`'s flags, parsed from a generated argument list.
#[derive(Parser)]
struct OneRun {
    #[command(flatten)]
    args: TrainArgs,
}

/// The `cskd train` flags of one method (`cskd+mixup` → `--method cskd --mix mixup`).
fn method_flags(spec: &str, a: &ExperimentArgs) -> Result<Vec<String>> {
    let bad = |why: &str| Error::Config(format!("--methods: {spec:?} {why}"));
    let mut parts = spec.split('+');
    let base = parts.next().unwrap_or_default();
    let mut kd = base == "kd";
    let mut flags = vec!["--method".to_string()];
    match base {
        "ce" | "kd" => flags.push("ce".into()),
        "cskd" | "ls" | "pskd" => flags.push(base.into()),
        _ => return Err(bad("is not a method: expected ce, cskd, ls, pskd or kd")),
    }
    let mut mixed = false;
    for p in parts {
        match p {
            "mixup" | "cutmix" if !mixed => {
                mixed = true;
                flags.extend(["--mix".into(), p.into()]);
            }
            "kd" if !kd => kd = true,
            _ => return Err(bad(&format!("has an unknown or repeated part {p:?}"))),
        }
    }
    if kd {
        let teacher = a.teacher.as_ref().ok_or_else(|| bad("needs --teacher"))?;
        flags.extend([
            "--teacher".into(),
            teacher.display().to_string(),
            "--kd-lambda".into(),
            a.kd_lambda.unwrap_or(0.9).to_string(),
        ]);
    }
    Ok(flags)
}

/// Flags shared by every run.
fn common_flags(a: &ExperimentArgs) -> Vec<String> {
    let mut f = Vec::new();
    let mut put = |name: &str, v: Option<String>| {
        if let Some(v) = v {
            f.extend([format!("--{name}"), v]);
        }
    };
    put("data", a.data.as_ref().map(|p| p.display().to_string()));
    put("dataset", a.dataset.clone());
    put("per-class", a.per_class.map(|v| v.to_string()));
    put("test-per-class", a.test_per_class.map(|v| v.to_string()));
    put("model", a.model.map(|m| m.to_string()));
    put("width", a.width.map(|v| v.to_string()));
    put("epochs", a.epochs.map(|v| v.to_string()));
    put("batch", a.batch.map(|v| v.to_string()));
    put("lr", a.lr.map(|v| v.to_string()));
    put("momentum", a.momentum.map(|v| v.to_string()));
    put("weight-decay", a.weight_decay.map(|v| v.to_string()));
    put(
        "schedule",
        a.schedule.map(|s| {
            let v = serde_json::to_value(s).expect("plain data");
            v.as_str().expect("a name").to_string()
        }),
    );
    put("temperature", a.temperature.map(|v| v.to_string()));
    put("lambda", a.lambda.map(|v| v.to_string()));
    put("smoothing", a.smoothing.map(|v| v.to_string()));
    put("mix-alpha", a.mix_alpha.map(|v| v.to_string()));
    put("kd-temperature", a.kd_temperature.map(|v| v.to_string()));
    put("pskd-alpha", a.pskd_alpha.map(|v| v.to_string()));
    put(
        "calibration-fraction",
        a.calibration_fraction.map(|v| v.to_string()),
    );
    if a.no_augment {
        f.push("--no-augment".into());
    }
    f
}

/// One cell of the grid.
struct Run {
    method: String,
    seed: u64,
    dir: PathBuf,
    /// `cskd train` flags without --resume.
    flags: Vec<String>,
}

impl Run {
    fn parse(&self, resume: bool) -> Result<TrainArgs> {
        let mut argv = vec!["cskd-train".to_string()];
        argv.extend(self.flags.iter().cloned());
        if resume {
            argv.extend(["--resume".into(), self.last().display().to_string()]);
        }
        OneRun::try_parse_from(&argv)
            .map(|o| o.args)
            .map_err(|e| Error::Config(format!("{} seed {}: {e}", self.method, self.seed)))
    }

    fn last(&self) -> PathBuf {
        self.dir.join("last.safetensors")
    }
}

fn io_err(path: &Path) -> impl Fn(std::io::Error) -> Error + '_ {
    move |e| Error::Io {
        path: path.display().to_string(),
        source: e,
    }
}

/// Where a run stands: `None` = not started, `Some(done)` = started (finished when `done`).
/// A run directory started with other flags is an error.
fn run_state(run: &Run) -> Result<Option<bool>> {
    let args_path = run.dir.join("args.json");
    if !args_path.exists() {
        return Ok(None);
    }
    let text = std::fs::read_to_string(&args_path).map_err(io_err(&args_path))?;
    let saved: Vec<String> = serde_json::from_str(&text)
        .map_err(|e| Error::Config(format!("{}: {e}", args_path.display())))?;
    if saved != run.flags {
        return Err(Error::Config(format!(
            "{} was started with other flags ({}); use another --out or remove it",
            run.dir.display(),
            saved.join(" ")
        )));
    }
    if !run.last().exists() {
        return Ok(None);
    }
    let info = checkpoint::info(&checkpoint_file::read(&run.last())?)
        .map_err(|e| e.in_file(&run.last()))?;
    let epochs = info.config.map_or(usize::MAX, |c| c.epochs);
    Ok(Some(info.state.is_some_and(|s| s.epoch >= epochs)))
}

fn read_history(dir: &Path) -> Result<Vec<EpochRecord>> {
    let path = dir.join("metrics.jsonl");
    let text = std::fs::read_to_string(&path).map_err(io_err(&path))?;
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            serde_json::from_str(l).map_err(|e| Error::Config(format!("{}: {e}", path.display())))
        })
        .collect()
}

/// Steps of one run: training images as the trainer will select them, in batches, per epoch
/// (the length of the grid's progress bar; flags left out take `TrainConfig`'s defaults).
fn steps_per_run(a: &ExperimentArgs) -> Result<u64> {
    let d = TrainConfig::default();
    let (per_class, epochs, batch, fraction) = (
        a.per_class.unwrap_or(d.per_class),
        a.epochs.unwrap_or(d.epochs),
        a.batch.unwrap_or(d.batch).max(1),
        a.calibration_fraction.unwrap_or(d.calibration_fraction),
    );
    let kind = a.dataset.as_deref().map(|d| match d {
        "cifar100" => CifarKind::Cifar100,
        _ => CifarKind::Cifar10,
    });
    let data = resolve(a.data.as_deref(), kind)?;
    let k = data.num_classes();
    let n = crate::train::calibration::training_count(&data.train.labels, per_class, k, fraction);
    Ok((epochs * n.div_ceil(batch)) as u64)
}

pub fn run(a: ExperimentArgs) -> Result<()> {
    if a.methods.is_empty() || a.seeds.is_empty() {
        return Err(Error::Config(
            "--methods and --seeds need at least one value".into(),
        ));
    }
    let common = common_flags(&a);
    let mut runs = Vec::new();
    for method in &a.methods {
        let mflags = method_flags(method, &a)?;
        for &seed in &a.seeds {
            let dir = a.out.join(method).join(format!("seed{seed}"));
            let mut flags = common.clone();
            flags.extend(mflags.iter().cloned());
            flags.extend([
                "--seed".into(),
                seed.to_string(),
                "--out".into(),
                dir.display().to_string(),
                "--quiet".into(),
            ]);
            runs.push(Run {
                method: method.clone(),
                seed,
                dir,
                flags,
            });
        }
    }
    // Every run's flags parse before anything trains.
    for r in &runs {
        r.parse(false)?;
    }
    let states = runs.iter().map(run_state).collect::<Result<Vec<_>>>()?;
    let per_run = steps_per_run(&a)?;
    let bar = if a.quiet {
        ProgressBar::hidden()
    } else {
        ProgressBar::new(per_run * runs.len() as u64)
    };
    bar.set_style(
        ProgressStyle::with_template(
            "{bar:30} {pos}/{len} steps · {prefix} · epoch {msg} · ETA {eta}",
        )
        .expect("valid template"),
    );
    for (i, (run, state)) in runs.iter().zip(&states).enumerate() {
        if *state == Some(true) {
            bar.inc(per_run);
            continue;
        }
        bar.set_prefix(format!(
            "run {}/{}: {} seed {}",
            i + 1,
            runs.len(),
            run.method,
            run.seed
        ));
        std::fs::create_dir_all(&run.dir).map_err(io_err(&run.dir))?;
        let args_path = run.dir.join("args.json");
        write_atomic(
            &args_path,
            serde_json::to_string(&run.flags)
                .expect("strings")
                .as_bytes(),
        )
        .map_err(io_err(&args_path))?;
        run_with(run.parse(*state == Some(false))?, Some(&bar))
            .map_err(|e| e.context(format!("{} seed {}", run.method, run.seed)))?;
    }
    bar.finish_and_clear();

    let mut results = Vec::new();
    for run in &runs {
        results.push(RunResult::of(
            &run.method,
            run.seed,
            &read_history(&run.dir)?,
        )?);
    }
    let (markdown, json) = summarise(&a.methods, &results, &common);
    let md_path = a.out.join("results.md");
    write_atomic(&md_path, markdown.as_bytes()).map_err(io_err(&md_path))?;
    let json_path = a.out.join("results.json");
    let json_text = serde_json::to_string_pretty(&json).expect("plain data");
    write_atomic(&json_path, json_text.as_bytes()).map_err(io_err(&json_path))?;
    print!("{markdown}");
    Ok(())
}
