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
use super::flags::{ConfigFlags, DataFlags};
use super::results::{summarise, RunResult};
use super::train::{ignored_flags, run_with, warn_short_classes, TrainArgs};
use crate::data::Cifar;
use crate::error::{Error, Result};
use crate::files::write_atomic;
use crate::train::grid::{Grid, MethodSpec};
use crate::train::identity::DataIdentity;
use crate::train::{checkpoint, checkpoint_file, preset, select_splits, EpochRecord, TrainConfig};
use indicatif::{ProgressBar, ProgressStyle};
use std::path::{Path, PathBuf};

#[derive(clap::Args)]
pub struct ExperimentArgs {
    /// Methods, comma-separated: a base (ce, cskd, ls, pskd, kd = ce with KD) optionally with
    /// `+mixup`, `+cutmix` or `+kd` (e.g. `cskd+mixup`); kd needs --teacher. Repeats run once
    /// [default: --preset's methods, else ce,cskd].
    #[arg(long, value_delimiter = ',')]
    methods: Vec<String>,
    /// Seeds, comma-separated. Repeats run once.
    #[arg(long, value_delimiter = ',', default_value = "1,2,3")]
    seeds: Vec<u64>,
    /// Output directory: OUT/<method>/seed<N>/ per run, OUT/results.md and OUT/results.json.
    #[arg(long)]
    out: PathBuf,
    #[command(flatten)]
    data: DataFlags,
    /// The configuration every run shares (as `cskd train`'s flags).
    #[command(flatten)]
    flags: ConfigFlags,
    /// KD teacher checkpoint (methods with kd).
    #[arg(long)]
    teacher: Option<PathBuf>,
    /// KD weight for methods with kd [default 0.9].
    #[arg(long)]
    kd_lambda: Option<f32>,
    /// No progress bar.
    #[arg(long)]
    quiet: bool,
}

/// The `cskd train` arguments of one cell: the shared flags, the method's own and the seed.
fn cell_args(spec: &MethodSpec, seed: u64, a: &ExperimentArgs, dir: PathBuf) -> Result<TrainArgs> {
    let teacher =
        match spec.kd {
            true => Some(a.teacher.clone().ok_or_else(|| {
                Error::Config(format!("--methods: {:?} needs --teacher", spec.name))
            })?),
            false => None,
        };
    Ok(TrainArgs {
        data: a.data.clone(),
        flags: a.flags.clone(),
        method: Some(spec.method),
        mix: Some(spec.mix),
        kd_lambda: spec.kd.then(|| a.kd_lambda.unwrap_or(0.9)),
        teacher,
        seed: Some(seed),
        out: dir,
        quiet: true,
        ..TrainArgs::default()
    })
}

/// One cell of the grid.
struct Run {
    method: String,
    seed: u64,
    dir: PathBuf,
    /// What `cskd train` would be given (without --resume).
    args: TrainArgs,
    /// The configuration it resolves to (defaults filled in).
    config: TrainConfig,
}

impl Run {
    fn new(spec: &MethodSpec, seed: u64, a: &ExperimentArgs) -> Result<Run> {
        let dir = a.out.join(&spec.name).join(format!("seed{seed}"));
        let args = cell_args(spec, seed, a, dir.clone())?;
        let config = args.config(&a.flags.base()?);
        Ok(Run {
            method: spec.name.clone(),
            seed,
            dir,
            args,
            config,
        })
    }

    /// The arguments to run it with: resuming its checkpoint when `resume`.
    fn train_args(&self, resume: bool) -> TrainArgs {
        let mut args = self.args.clone();
        if resume {
            args.resume = Some(self.last());
        }
        args
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
    let diff = saved.diff(&run.config);
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
    let methods = match (&a.methods[..], &a.flags.preset) {
        ([], Some(key)) => preset::find(key)?.methods.clone(),
        ([], None) => vec!["ce".to_string(), "cskd".to_string()],
        (given, _) => given.to_vec(),
    };
    let grid = Grid::new(&methods, &a.seeds)?;
    for w in &grid.warnings {
        eprintln!("warning: {w}");
    }
    // The whole grid is checked before anything trains: every method, flag and value.
    let mut runs = Vec::new();
    for spec in &grid.methods {
        for &seed in &grid.seeds {
            runs.push(Run::new(spec, seed, &a)?);
        }
    }
    for r in &runs {
        r.config
            .validate()
            .map_err(|e| e.context(format!("{} seed {}", r.method, r.seed)))?;
    }
    // A flag is reported when no run of the grid uses it (`--temperature` serves cskd, not ce).
    let ignored: Vec<Vec<String>> = runs
        .iter()
        .map(|r| ignored_flags(&r.args, &r.config))
        .collect();
    for w in ignored.first().into_iter().flatten() {
        if ignored.iter().all(|l| l.contains(w)) {
            eprintln!("warning: {w}");
        }
    }
    if let Some(t) = a.teacher.as_deref() {
        let bytes = checkpoint_file::read(t)?;
        checkpoint::info(&bytes).map_err(|e| e.in_file(t))?;
    }
    let data = resolve(a.data.data.as_deref(), a.data.kind())?;
    warn_short_classes(&runs[0].config, &data);
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
        run_with(run.train_args(*state == Some(false)), Some(&bar))
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
    let data = resolve(a.data.data.as_deref(), a.data.kind())?;
    for (spec, seed) in other_runs_on_disk(&a.out, &grid) {
        let Ok(run) = Run::new(&spec, seed, &a) else {
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
    let base = a.flags.apply(&a.flags.base()?);
    let (markdown, json) = summarise(&methods, &results, &base);
    let md_path = a.out.join("results.md");
    write_atomic(&md_path, markdown.as_bytes()).map_err(io_err(&md_path))?;
    let json_path = a.out.join("results.json");
    let json_text = serde_json::to_string_pretty(&json).expect("plain data");
    write_atomic(&json_path, json_text.as_bytes()).map_err(io_err(&json_path))?;
    print!("{markdown}");
    Ok(())
}
