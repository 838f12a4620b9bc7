//! `cskd eval`: a checkpoint's metrics on the test split, as a table or JSON.

use super::data::resolve;
use crate::error::{Error, Result};
use crate::metrics::format_table;
use crate::train::{checkpoint, TrainConfig, Trainer};
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
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
}

pub fn run(a: EvalArgs) -> Result<()> {
    let bytes = std::fs::read(&a.checkpoint).map_err(|e| Error::Io {
        path: a.checkpoint.display().to_string(),
        source: e,
    })?;
    let info = checkpoint::info(&bytes)?;
    let data = resolve(a.data.as_deref(), None)?;
    if data.num_classes() != info.model.classes {
        return Err(Error::Config(format!(
            "the checkpoint has {} classes, the data {}",
            info.model.classes,
            data.num_classes()
        )));
    }
    let mut config = info.config.unwrap_or_else(|| TrainConfig {
        model: info.model.name.clone(),
        ..Default::default()
    });
    config.width = info.model.width;
    config.per_class = 1; // the training split is not used
    config.test_per_class = a.test_per_class;
    let gpu = Arc::new(super::open_gpu()?);
    let mut trainer = Trainer::new(gpu, config, data)?;
    checkpoint::load(&mut trainer, &bytes, false)?;
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
