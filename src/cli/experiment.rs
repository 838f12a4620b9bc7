//! `cskd experiment`: methods × seeds on one data set, each run exactly as `cskd train` (the same
//! code path, into `OUT/<method>/seed<N>/`), one progress bar over the grid, then a mean ± std
//! table as Markdown (stdout and `OUT/results.md`) and JSON (`OUT/results.json`).
//!
//! Resumable: a run is known by its checkpoint, which records the resolved configuration and a
//! fingerprint of the data. A finished run with this grid's configuration is skipped, an
//! unfinished one resumes from its `last.safetensors`, and a run directory trained with another
//! configuration or other data is an error rather than a silently mixed table. The table holds
//! every finished run under OUT with this configuration, so a partial rerun (one method, one
//! seed) adds to it instead of replacing it. The whole grid is checked before the first run.

use super::data::resolve;
use super::results::{summarise, RunResult};
use super::train::{differences, ignored_flags, run_with, TrainArgs};
use crate::data::{Cifar, CifarKind};
use crate::error::{Error, Result};
use crate::files::write_atomic;
use crate::model::ModelName;
use crate::train::grid::{Grid, MethodSpec};
use crate::train::identity::DataIdentity;
use crate::train::{
    checkpoint, checkpoint_file, select_splits, EpochRecord, Mix, Schedule, TrainConfig,
};
use clap::Parser;
use indicatif::{ProgressBar, ProgressStyle};
use std::path::{Path, PathBuf};

#[derive(clap::Args)]
pub struct ExperimentArgs {
    /// Methods, comma-separated: a base (ce, cskd, ls, pskd, kd = ce with KD) optionally with
    /// `+mixup`, `+cutmix` or `+kd` (e.g. `cskd+mixup`); kd needs --teacher. Repeats run once.
    #[arg(long, value_delimiter = ',', default_value = "ce,cskd")]
    methods: Vec<String>,
    /// Seeds, comma-separated. Repeats run once.
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
fn method_flags(spec: &MethodSpec, a: &ExperimentArgs) -> Result<Vec<String>> {
    let mut flags = vec!["--method".to_string(), serde_name(&spec.method)];
    if spec.mix != Mix::None {
        flags.extend(["--mix".into(), serde_name(&spec.mix)]);
    }
    if spec.kd {
        let teacher = a
            .teacher
            .as_ref()
            .ok_or_else(|| Error::Config(format!("--methods: {:?} needs --teacher", spec.name)))?;
        flags.extend([
            "--teacher".into(),
            teacher.display().to_string(),
            "--kd-lambda".into(),
            a.kd_lambda.unwrap_or(0.9).to_string(),
        ]);
    }
    Ok(flags)
}

/// The serde name of a unit enum value (`Method::Cskd` → `cskd`), which is also its flag value.
fn serde_name<T: serde::Serialize>(v: &T) -> String {
    let v = serde_json::to_value(v).expect("plain data");
    v.as_str().expect("a unit variant").to_string()
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
    put("schedule", a.schedule.map(|s| serde_name(&s)));
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
    /// The configuration those flags resolve to (defaults filled in).
    config: TrainConfig,
}

impl Run {
    fn new(spec: &MethodSpec, seed: u64, a: &ExperimentArgs, common: &[String]) -> Result<Run> {
        let dir = a.out.join(&spec.name).join(format!("seed{seed}"));
        let mut flags = common.to_vec();
        flags.extend(method_flags(spec, a)?);
        flags.extend([
            "--seed".into(),
            seed.to_string(),
            "--out".into(),
            dir.display().to_string(),
            "--quiet".into(),
        ]);
        let mut run = Run {
            method: spec.name.clone(),
            seed,
            dir,
            flags,
            config: TrainConfig::default(),
        };
        run.config = run.parse(false)?.config(&TrainConfig::default());
        Ok(run)
    }

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
/// A run directory trained with another configuration or on other data is an error.
fn run_state(run: &Run, data: &Cifar) -> Result<Option<bool>> {
    if !run.last().exists() {
        return Ok(None);
    }
    let info = checkpoint::info(&checkpoint_file::read(&run.last())?)
        .map_err(|e| e.in_file(&run.last()))?;
    let saved = info.config.as_ref().ok_or_else(|| {
        Error::Checkpoint("has no training configuration".into()).in_file(&run.last())
    })?;
    let diff = differences(saved, &run.config);
    if !diff.is_empty() {
        return Err(Error::Config(format!(
            "{} was started with other flags ({}); use another --out or remove it",
            run.dir.display(),
            diff.join("; ")
        )));
    }
    if let Some(theirs) = &info.data {
        let mine = DataIdentity::of(&select_splits(&run.config, data.clone()).0);
        if let Some(diff) = theirs.difference(&mine) {
            return Err(Error::Config(format!(
                "{} was trained on other data ({diff}); use another --out or remove it",
                run.dir.display()
            )));
        }
    }
    Ok(Some(info.state.is_some_and(|s| s.epoch >= saved.epochs)))
}

fn read_history(dir: &Path) -> Result<Vec<EpochRecord>> {
    let path = dir.join("metrics.jsonl");
    let text = std::fs::read_to_string(&path).map_err(io_err(&path))?;
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            serde_json::from_str(l)
                .map_err(|e| Error::Checkpoint(format!("{}: {e}", path.display())))
        })
        .collect()
}

/// Steps of one run: training images as the trainer will select them, in batches, per epoch
/// (the length of the grid's progress bar).
fn steps_per_run(config: &TrainConfig, data: &Cifar) -> u64 {
    let k = data.num_classes();
    let n = crate::train::calibration::training_count(
        &data.train.labels,
        config.per_class,
        k,
        config.calibration_fraction,
    );
    (config.epochs * n.div_ceil(config.batch.max(1))) as u64
}

/// Runs already under OUT that are not in this grid: (method folder, seed) pairs.
fn other_runs_on_disk(out: &Path, grid: &Grid) -> Vec<(MethodSpec, u64)> {
    let mut found = Vec::new();
    let Ok(methods) = std::fs::read_dir(out) else {
        return found;
    };
    for m in methods.flatten() {
        let name = m.file_name().to_string_lossy().into_owned();
        let Ok(spec) = MethodSpec::parse(&name) else {
            continue;
        };
        let Ok(seeds) = std::fs::read_dir(m.path()) else {
            continue;
        };
        for sd in seeds.flatten() {
            let seed = sd.file_name().to_string_lossy().into_owned();
            let Some(seed) = seed
                .strip_prefix("seed")
                .and_then(|s| s.parse::<u64>().ok())
            else {
                continue;
            };
            let in_grid = grid.methods.iter().any(|g| g.name == name) && grid.seeds.contains(&seed);
            if !in_grid {
                found.push((spec.clone(), seed));
            }
        }
    }
    found.sort_by(|a, b| (&a.0.name, a.1).cmp(&(&b.0.name, b.1)));
    found
}

pub fn run(a: ExperimentArgs) -> Result<()> {
    let grid = Grid::new(&a.methods, &a.seeds)?;
    for w in &grid.warnings {
        eprintln!("warning: {w}");
    }
    let common = common_flags(&a);
    // The whole grid is checked before anything trains: every method, flag and value.
    let mut runs = Vec::new();
    for spec in &grid.methods {
        for &seed in &grid.seeds {
            runs.push(Run::new(spec, seed, &a, &common)?);
        }
    }
    for r in &runs {
        r.config
            .validate()
            .map_err(|e| e.context(format!("{} seed {}", r.method, r.seed)))?;
    }
    if let Some(w) = runs
        .first()
        .map(|r| ignored_flags(&r.parse(false).expect("parsed above"), &r.config))
    {
        w.iter().for_each(|w| eprintln!("warning: {w}"));
    }
    if let Some(t) = a.teacher.as_deref() {
        let bytes = checkpoint_file::read(t)?;
        checkpoint::info(&bytes).map_err(|e| e.in_file(t))?;
    }
    let kind = a.dataset.as_deref().map(|d| match d {
        "cifar100" => CifarKind::Cifar100,
        _ => CifarKind::Cifar10,
    });
    let data = resolve(a.data.as_deref(), kind)?;
    let states = runs
        .iter()
        .map(|r| run_state(r, &data))
        .collect::<Result<Vec<_>>>()?;
    let per_run = steps_per_run(&runs[0].config, &data);
    drop(data);
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
        run_with(run.parse(*state == Some(false))?, Some(&bar))
            .map_err(|e| e.context(format!("{} seed {}", run.method, run.seed)))?;
    }
    bar.finish_and_clear();

    // The table: this grid's runs and every other finished run under OUT with this configuration.
    let mut results = Vec::new();
    for run in &runs {
        results.push(RunResult::of(
            &run.method,
            run.seed,
            &read_history(&run.dir)?,
        )?);
    }
    let mut methods: Vec<String> = grid.methods.iter().map(|m| m.name.clone()).collect();
    let data = resolve(a.data.as_deref(), kind)?;
    for (spec, seed) in other_runs_on_disk(&a.out, &grid) {
        let Ok(run) = Run::new(&spec, seed, &a, &common) else {
            continue;
        };
        match run_state(&run, &data) {
            Ok(Some(true)) => {
                results.push(RunResult::of(&run.method, seed, &read_history(&run.dir)?)?);
                if !methods.contains(&run.method) {
                    methods.push(run.method.clone());
                }
            }
            Ok(_) => eprintln!(
                "note: {} is not finished: not in the table",
                run.dir.display()
            ),
            Err(e) => eprintln!("note: not in the table: {e}"),
        }
    }
    let (markdown, json) = summarise(&methods, &results, &common);
    let md_path = a.out.join("results.md");
    write_atomic(&md_path, markdown.as_bytes()).map_err(io_err(&md_path))?;
    let json_path = a.out.join("results.json");
    let json_text = serde_json::to_string_pretty(&json).expect("plain data");
    write_atomic(&json_path, json_text.as_bytes()).map_err(io_err(&json_path))?;
    print!("{markdown}");
    Ok(())
}
