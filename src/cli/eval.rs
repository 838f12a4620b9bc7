//! `cskd eval`: a checkpoint's metrics on the test split, as a table or JSON. A plain PyTorch
//! state_dict (no cskd metadata) is evaluated as the model given by `--model` / `--width`.
//!
//! Temperature scaling: a checkpoint that records its training configuration gets its
//! calibration split rebuilt from it (same seed, perClass and calibrationFraction; the rule is in
//! `train::calibration`), so with the same data the fitted T is the one training reported. Plain
//! state_dicts and inference-only exports have no configuration: no temperature scaling.

use super::data::resolve;
use crate::data::Cifar;
use crate::error::{Error, Result};
use crate::metrics::format_table;
use crate::model::ModelName;
use crate::train::checkpoint::CheckpointInfo;
use crate::train::{checkpoint, checkpoint_file, TrainConfig, Trainer};
use std::path::PathBuf;
use std::sync::Arc;

#[derive(clap::Args)]
pub struct EvalArgs {
    #[arg(long)]
    checkpoint: PathBuf,
    /// CIFAR archive, extracted folder or .bin file (default: $CSKD_DATA).
    #[arg(long)]
    data: Option<PathBuf>,
    /// Test images per class (0 = all).
    #[arg(long, default_value_t = 0)]
    test_per_class: usize,
    /// The model of a plain state_dict (a cskd checkpoint names its own).
    #[arg(long, value_enum)]
    model: Option<ModelName>,
    /// The width of a plain state_dict's model (0 = the model's default).
    #[arg(long)]
    width: Option<usize>,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
}

pub fn run(a: EvalArgs) -> Result<()> {
    let path = &a.checkpoint;
    let bytes = checkpoint_file::read(path)?;
    let info = checkpoint::info(&bytes).ok();
    let data = resolve(a.data.as_deref(), None)?;
    // Only a recorded configuration knows which training images were held out.
    let calibrated = info.as_ref().is_some_and(|i| i.config.is_some());
    let mut config = match &info {
        Some(info) => trained_config(info, &data).map_err(|e| e.in_file(path))?,
        None => TrainConfig {
            model: a.model.unwrap_or_default(),
            width: a.width.unwrap_or(0),
            ..Default::default()
        },
    };
    if !calibrated {
        config.per_class = 1; // the training split is not used
        config.calibration_fraction = 0.0;
    }
    config.test_per_class = a.test_per_class;
    let gpu = Arc::new(super::open_gpu()?);
    let mut trainer = Trainer::new(gpu, config, data)?;
    trainer
        .load_checkpoint(&bytes, false)
        .map_err(|e| e.in_file(path))?;
    let eval = pollster::block_on(trainer.evaluate())?;
    if a.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&eval.metrics).expect("plain data")
        );
    } else {
        println!("{}", format_table(&eval.metrics, &trainer.data.classes));
    }
    Ok(())
}

/// The configuration a cskd checkpoint was trained with (or its model's defaults when it records
/// none), for `data`, which must have the checkpoint's number of classes.
pub(super) fn trained_config(info: &CheckpointInfo, data: &Cifar) -> Result<TrainConfig> {
    if data.num_classes() != info.model.classes {
        return Err(Error::Checkpoint(format!(
            "the checkpoint has {} classes, the data {}",
            info.model.classes,
            data.num_classes()
        )));
    }
    let mut c = info.config.clone().unwrap_or_else(|| TrainConfig {
        model: info.model.name,
        ..Default::default()
    });
    c.width = info.model.width;
    Ok(c)
}
